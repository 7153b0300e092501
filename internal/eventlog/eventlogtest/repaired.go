package eventlogtest

import (
	"context"
	"testing"

	"github.com/artifact-store/artstore/internal/eventlog"
)

// testRepaired: artifact.repaired.v1 is an audit record. The live
// projector and the rebuild both accept it and change no view, so a log
// holding it rebuilds to the views the live appends made, and verifies.
func testRepaired(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := newDB(t).Open(t, eventlog.Options{})
	appendOK(t, s, Registered(t, "A", "reports/q", "1", map[string]string{"team": "x"}))
	before := dump(t, s)
	evs := appendOK(t, s,
		Event(t, "ops", "A", &eventlog.ArtifactRepaired{ArtifactID: "A", Source: "file q.pdf", Missing: 1, Damaged: 1, Blobs: 3, Bytes: 30}),
		Event(t, "ops", "A", &eventlog.ArtifactRepaired{ArtifactID: "A", Source: "backend offsite", Missing: 2, Blobs: 3, Bytes: 30}))
	if evs[0].Type != eventlog.TypeArtifactRepaired || evs[0].Subject != "A" {
		t.Fatalf("appended %s for %s, want %s for A", evs[0].Type, evs[0].Subject, eventlog.TypeArtifactRepaired)
	}
	live := dump(t, s)
	if live != before {
		t.Errorf("a repair record changed the views:\n%s\nwant\n%s", live, before)
	}
	if n, err := s.Rebuild(ctx); err != nil || n != 3 {
		t.Fatalf("rebuild of a log with repair records = %d, %v; want 3 events", n, err)
	}
	if got := dump(t, s); got != live {
		t.Errorf("rebuild differs:\n%s\nwant\n%s", got, live)
	}
	if rep := verifyOK(t, s, 1); rep.Checked != 3 {
		t.Errorf("verify checked %d events, want 3", rep.Checked)
	}
}
