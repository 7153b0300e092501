package eventlogtest

import (
	"context"
	"testing"

	"github.com/artifact-store/artstore/internal/eventlog"
)

// testImported: artifact.imported.v1 keeps another store's evidence about
// an artifact registered just before it. Both projectors accept it and
// change no view, so a log holding it rebuilds to the live views and
// verifies; a record without the foreign registration is refused.
func testImported(t *testing.T, newDB NewDB) {
	ctx := context.Background()
	s := newDB(t).Open(t, eventlog.Options{})
	appendOK(t, s, Registered(t, "A", "reports/q", "1", nil))
	before := dump(t, s)
	imp := &eventlog.ArtifactImported{
		ArtifactID: "A", Origin: "artstore/other", Key: "artstore/other+01234567+AAAA", Checkpoint: "artstore/other\n9\nAAAA\n",
		ForeignID: "01OTHER", Events: []eventlog.ForeignEvent{{Seq: 4, Prev: "ab", Body: `{"v":1}`, Proof: []string{"AAAA"}}},
	}
	evs := appendOK(t, s, Event(t, "ops", "A", imp))
	if evs[0].Type != eventlog.TypeArtifactImported || evs[0].Subject != "A" {
		t.Fatalf("appended %s for %s", evs[0].Type, evs[0].Subject)
	}
	live := dump(t, s)
	if live != before {
		t.Errorf("an import record changed the views:\n%s\nwant\n%s", live, before)
	}
	if n, err := s.Rebuild(ctx); err != nil || n != 2 {
		t.Fatalf("rebuild = %d, %v; want 2 events", n, err)
	}
	if got := dump(t, s); got != live {
		t.Errorf("rebuild differs:\n%s\nwant\n%s", got, live)
	}
	verifyOK(t, s, 1)
	ne, err := eventlog.New("ops", "A", &eventlog.ArtifactImported{ArtifactID: "A", Origin: "o", Key: "k", Checkpoint: "c", ForeignID: "F"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, []eventlog.NewEvent{ne}); err == nil {
		t.Error("an import record without the foreign events was appended")
	}
}
