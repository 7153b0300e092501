package tui

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/artifact-store/artstore/pkg/client"
)

// TestEventsColumnsAligned checks that the events screen writes each
// event's sequence number, time, type and actor in columns that line up
// whatever their lengths, cuts an actor too long for its column, and
// writes byte counts as the CLI does (textfmt.Bytes), whether the payload
// came from local mode (json.Number) or the daemon (float64).
func TestEventsColumnsAligned(t *testing.T) {
	store := seedStore(0)
	report := store.mustRef("reports/q:3")
	at := baseTime.Add(-2 * time.Hour)
	for _, e := range []client.Event{
		{Type: "tag.moved", Actor: "release-bot@ci.example.com", Payload: map[string]any{"tag": "prod"}},
		{Type: "artifact.retrieved", Actor: "bob", Payload: map[string]any{"bytes": json.Number("5000016")}},
		{Type: "artifact.retrieved", Actor: "carol@laptop", Payload: map[string]any{"bytes": float64(1 << 30), "range": "0-1023"}},
		{Type: "retention.set", Actor: "dave", Payload: map[string]any{"expires_at": "2027-01-01T00:00:00Z"}},
	} {
		e.Seq, e.Time, e.Subject = int64(len(store.events)+1000), at, report.ID
		store.events = append(store.events, e)
		at = at.Add(time.Minute)
	}
	h := newHarness(t, store, 100, 12, Options{InitialRef: "reports/q:3"})
	h.keys("e")
	v := h.view()
	golden(t, "events_aligned", v)

	lines := strings.Split(v, "\n")[2:8] // the six events under the summary
	for _, want := range []string{"bytes=4.8 MiB", "bytes=1.0 GiB range=0-1023", "bytes=1.5 MiB", "release-bot@ci.exam…"} {
		if !strings.Contains(v, want) {
			t.Errorf("events screen lacks %q:\n%s", want, v)
		}
	}
	// Every column starts where it starts on the first row: the time after
	// the sequence number, the type after the time, the actor after the
	// type, the payload after the actor.
	col := func(line string, field int) int {
		i := 0
		for f := 0; f < field; f++ {
			i += strings.Index(line[i:], " ") // end of the field
			i += len(line[i:]) - len(strings.TrimLeft(line[i:], " "))
			if f == 1 { // the time has a space inside
				i += strings.Index(line[i:], " ")
				i += len(line[i:]) - len(strings.TrimLeft(line[i:], " "))
			}
		}
		return ansi.StringWidth(line[:i])
	}
	for field := 1; field <= 4; field++ {
		want := col(lines[0], field)
		for _, l := range lines[1:] {
			if got := col(l, field); got != want {
				t.Errorf("column %d starts at %d in %q, at %d in %q", field, got, l, want, lines[0])
			}
		}
	}
}
