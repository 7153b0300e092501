package tui

import (
	"strings"
	"testing"
)

// longNameStore holds two versions of one long name, and an artifact
// derived from the first, so they show side by side in the list and in
// a lineage panel.
func longNameStore() *fakeStore {
	store := seedStore(0)
	store.add("reports/quarterly-financial-summary:1", 2<<20, 6, map[string]string{"env": "prod"}, [2]string{"build/app:12", "binary"})
	store.add("reports/quarterly-financial-summary:2", 3<<20, 1, map[string]string{"env": "prod"}, [2]string{"build/app:12", "binary"})
	return store
}

// TestLongRefKeepsVersion checks that a reference too long for its column
// loses the middle of its name, never its version: at 100 columns the two
// versions of reports/quarterly-financial-summary read apart.
func TestLongRefKeepsVersion(t *testing.T) {
	h := newHarness(t, longNameStore(), 100, 16, Options{})
	h.keys("/", "reports/quarterly", "enter")
	v := h.view()
	golden(t, "list_100_long_refs", v)
	for _, want := range []string{"> reports…ummary:1 ", "  reports…ummary:2 "} {
		if !strings.Contains(v, want) {
			t.Errorf("the list does not show %q:\n%s", want, v)
		}
	}

	// The lineage panel and the breadcrumb of a narrow screen keep it too.
	h = newHarness(t, longNameStore(), 40, 12, Options{InitialRef: "build/app:12"})
	h.keys("d")
	v = h.view()
	golden(t, "lineage_40_long_refs", v)
	for _, want := range []string{"reports/quar…ial-summary:1", "reports/quar…ial-summary:2"} {
		if !strings.Contains(v, want) {
			t.Errorf("the derived panel does not show %q:\n%s", want, v)
		}
	}
	h.selectRelative("reports/quarterly-financial-summary:2")
	h.keys("enter")
	if v := h.view(); !strings.HasPrefix(v, "artstore · … › reports/qua…ial-summary:2\n") {
		t.Errorf("the breadcrumb does not keep the version:\n%s", v)
	}
}
