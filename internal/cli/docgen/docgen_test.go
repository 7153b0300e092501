package docgen

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func tree() *cobra.Command {
	root := &cobra.Command{Use: "artstore <command>", Short: "Root", Long: "About <store>/blobs and *stars*.\n\nEXIT STATUS\n  0  ok",
		Example: "  $ artstore x"}
	root.PersistentFlags().Bool("json", false, "print JSON")
	backend := &cobra.Command{Use: "backend <command>", Short: "Backends", Example: "  $ artstore backend ls", RunE: func(*cobra.Command, []string) error { return nil }}
	ls := &cobra.Command{Use: "ls", Short: "List backends", Example: "  $ artstore backend ls", Run: func(*cobra.Command, []string) {}}
	ls.Flags().Duration("timeout", 10*time.Second, "wait `DURATION`")
	hidden := &cobra.Command{Use: "secret", Short: "Hidden", Hidden: true, Run: func(*cobra.Command, []string) {}}
	backend.AddCommand(ls)
	root.AddCommand(backend, hidden)
	return root
}

func TestGenMan(t *testing.T) {
	root := tree()
	page := string(GenMan(root, ManHeader{Section: "1", Source: "artstore", Manual: "artstore manual"}))
	for _, want := range []string{
		`.TH "ARTSTORE" "1" "" "artstore" "artstore manual"`,
		"<store>/blobs", // escaped, not swallowed as HTML
		"*stars*",       // prose is escaped: literal, not emphasis
		".SH ENVIRONMENT", "ARTSTORE_STORE", ".SH FILES",
		".SH EXIT STATUS", "unavailable: a backend or the daemon is unreachable or unhealthy",
		".SH COMMANDS", `\fBartstore-backend\fP(1)`,
		"print JSON",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("root page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "secret") {
		t.Error("hidden command documented")
	}
	if strings.Count(page, "EXIT STATUS") != 1 {
		t.Error("EXIT STATUS from Long should be replaced by the section, not repeated")
	}
	ls, _, _ := root.Find([]string{"backend", "ls"})
	lsPage := string(GenMan(ls, ManHeader{Section: "1", Date: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}))
	for _, want := range []string{`"Nov 2026"`, `\fB--timeout\fP \fIDURATION\fP`, "(default 10s)", "OPTIONS INHERITED FROM PARENT COMMANDS", `\fB--json\fP`, `\fBartstore-backend\fP(1)`} {
		if !strings.Contains(lsPage, want) {
			t.Errorf("ls page lacks %q:\n%s", want, lsPage)
		}
	}
	if strings.Contains(lsPage, ".SH ENVIRONMENT") {
		t.Error("ENVIRONMENT belongs on the root page only")
	}
}

func TestGenManTreeDeterministicAndPrunes(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "artstore-removed.1")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := DefaultManHeader("")
	if err != nil {
		t.Fatal(err)
	}
	if err := GenManTree(tree(), dir, h); err != nil {
		t.Fatal(err)
	}
	first := readDir(t, dir)
	var names []string
	for n := range first {
		names = append(names, n)
	}
	sort.Strings(names)
	if got := strings.Join(names, " "); got != "artstore-backend-ls.1 artstore-backend.1 artstore.1" {
		t.Fatalf("pages = %s", got)
	}
	if err := GenManTree(tree(), dir, h); err != nil {
		t.Fatal(err)
	}
	second := readDir(t, dir)
	for n, b := range first {
		if !bytes.Equal(b, second[n]) {
			t.Errorf("%s differs between two runs", n)
		}
	}
}

func TestDefaultManHeader(t *testing.T) {
	h, err := DefaultManHeader("1785542400")
	if err != nil || h.Date.Format("2006-01-02") != "2026-08-01" {
		t.Fatalf("h = %+v, err = %v", h, err)
	}
	if _, err := DefaultManHeader("yesterday"); err == nil {
		t.Fatal("bad SOURCE_DATE_EPOCH accepted")
	}
}

func TestGenCompletions(t *testing.T) {
	dir := t.TempDir()
	if err := GenCompletions(tree(), dir); err != nil {
		t.Fatal(err)
	}
	files := readDir(t, dir)
	if len(files) != 4 {
		t.Fatalf("files = %d", len(files))
	}
	if !bytes.Contains(files["artstore.zsh"], []byte("#compdef artstore")) {
		t.Error("zsh script lacks #compdef")
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}
