package tui

import (
	"strings"
	"testing"

	"github.com/artifact-store/artstore/pkg/client"
)

// where describes what the browser shows, for navigation tests: "list",
// or the lineage path with the open panel and its selected row
// ("c:1 › b:1 | inputs > a:1"), or "events of REF".
func (h *harness) where() string {
	switch {
	case h.m.screen == screenEvents:
		return "events of " + h.m.events.art.Ref
	case h.m.screen == screenList:
		return "list"
	}
	s := strings.Join(h.refs(), " › ")
	if f := h.m.top(); f != nil && f.rel != nil {
		s += " | inputs"
		if f.rel.dir == client.Down {
			s = strings.TrimSuffix(s, "inputs") + "derived"
		}
		if r := f.rel.selected(); r != nil {
			s += " > " + r.label()
		}
	}
	return s
}

// chainStore adds chain/a:1 <- chain/b:1 <- chain/c:1 (each made from the
// one before) to the standard fixture.
func chainStore() *fakeStore {
	store := seedStore(0)
	store.add("chain/a:1", 1, 5, nil)
	store.add("chain/b:1", 1, 4, nil, [2]string{"chain/a:1", "source"})
	store.add("chain/c:1", 1, 3, nil, [2]string{"chain/b:1", "source"})
	return store
}

// TestEscGoesBackWhereItCameFrom walks up from chain/c:1 to chain/a:1 and
// down again to chain/b:1 from a's derived list, then presses esc until
// the list: each esc returns to exactly the view the step was taken from,
// panel and selected row included, even though chain/b:1 is on the path
// twice.
func TestEscGoesBackWhereItCameFrom(t *testing.T) {
	h := newHarness(t, chainStore(), 80, 24, Options{InitialRef: "chain/c:1"})
	h.keys("u")
	h.selectRelative("chain/b:1")
	h.keys("enter", "u")
	h.selectRelative("chain/a:1")
	h.keys("enter", "d")
	h.selectRelative("chain/b:1")
	h.keys("enter")

	const path = "chain/c:1 › chain/b:1 › chain/a:1 › chain/b:1"
	if got := h.where(); got != path {
		t.Fatalf("after opening chain/b:1 from a's derived list: %q, want %q", got, path)
	}
	if v := h.view(); !strings.HasPrefix(v, "artstore · "+path+"\n") {
		t.Errorf("the breadcrumb is not the path taken:\n%s", v)
	}

	h.keys("esc")
	golden(t, "lineage_back_to_derived", h.view())
	steps := []string{
		"chain/c:1 › chain/b:1 › chain/a:1 | derived > chain/b:1",
		"chain/c:1 › chain/b:1 › chain/a:1",
		"chain/c:1 › chain/b:1 | inputs > chain/a:1",
		"chain/c:1 › chain/b:1",
		"chain/c:1 | inputs > chain/b:1",
		"chain/c:1",
		"list",
	}
	for i, want := range steps {
		if i > 0 {
			h.keys("esc")
		}
		if got := h.where(); got != want {
			t.Fatalf("after %d esc: %q, want %q", i+1, got, want)
		}
	}
}

// TestEscFromListLineageReturnsToList checks that u or d pressed on the
// list opens the panel, and esc goes straight back to the list (the
// detail without a panel was never shown), on the same row.
func TestEscFromListLineageReturnsToList(t *testing.T) {
	h := newHarness(t, chainStore(), 80, 24, Options{})
	h.keys("/", "chain", "enter", "j")
	for _, k := range []string{"u", "d"} {
		h.keys(k)
		if got := h.where(); !strings.HasPrefix(got, "chain/b:1 | ") {
			t.Fatalf("%s on the list: %q", k, got)
		}
		h.keys("esc")
		if got := h.where(); got != "list" || h.m.list.cursor != 1 {
			t.Errorf("esc after %s on the list: %q, row %d; want the list, row 1", k, got, h.m.list.cursor)
		}
	}
	// Enter first, then d: esc closes the panel, then leaves the detail.
	h.keys("enter", "d", "esc")
	if got := h.where(); got != "chain/b:1" {
		t.Errorf("esc after enter, d: %q, want the detail of chain/b:1", got)
	}
	h.keys("esc")
	if got := h.where(); got != "list" || h.m.list.cursor != 1 {
		t.Errorf("second esc: %q, row %d; want the list, row 1", got, h.m.list.cursor)
	}
}

// TestEscFromEventsReturnsToPanel opens the events of the selected input
// and checks that esc returns to the same panel and row.
func TestEscFromEventsReturnsToPanel(t *testing.T) {
	h := newHarness(t, chainStore(), 80, 24, Options{InitialRef: "reports/q:3"})
	h.keys("u", "j")
	const panel = "reports/q:3 | inputs > data/sales:7"
	if got := h.where(); got != panel {
		t.Fatalf("%q, want %q", got, panel)
	}
	h.keys("e")
	if got := h.where(); got != "events of data/sales:7" {
		t.Fatalf("e on the panel: %q", got)
	}
	h.keys("esc")
	if got := h.where(); got != panel {
		t.Errorf("esc from the events: %q, want %q", got, panel)
	}
}
