//go:build unix

package tui

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPullTargetKinds: the pull prompt asks before replacing a regular
// file, also one a link points to, and writes into a named pipe or a
// dangling link without asking, as `artstore pull` does.
func TestPullTargetKinds(t *testing.T) {
	dir := t.TempDir()
	store := seedStore(0)
	h := newHarness(t, store, 80, 24, Options{InitialRef: "reports/q:3", PullDir: dir})
	at := func(p string) string { return filepath.Join(dir, p) }
	if err := syscall.Mkfifo(at("fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(at("real"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"real", "link"}, {"missing", "dangling"}} {
		if err := os.Symlink(l[0], at(l[1])); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	for _, tc := range []struct {
		name    string
		confirm bool
	}{
		{"fifo", false},
		{"dangling", false},
		{"link", true},
	} {
		h.keys("p")
		h.m.input.SetValue(at(tc.name))
		h.keys("enter")
		if tc.confirm {
			if len(store.pullCalls) != calls || !strings.Contains(h.m.status, at("link")+" (a link to ") {
				t.Fatalf("%s: pull not confirmed first: calls %v, status %q", tc.name, store.pullCalls, h.m.status)
			}
			h.keys("enter")
		}
		calls++
		if len(store.pullCalls) != calls || store.pullCalls[calls-1].path != at(tc.name) {
			t.Fatalf("%s: pull calls %v", tc.name, store.pullCalls)
		}
	}
}
