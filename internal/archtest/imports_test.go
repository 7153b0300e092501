// Package archtest checks the import rules of docs/architecture.md
// ("Layers and imports") on the packages' non-test imports. The go test
// cache does not see what go list reads: run it with -count=1 after
// changing imports.
package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/artifact-store/artstore/"

// rule: no package under one of from may depend (directly or not) on a
// package under one of never.
type rule struct {
	from, never []string
	why         string
}

var rules = []rule{
	{[]string{"internal/server", "internal/app", "internal/auth", "internal/registry", "internal/eventlog", "internal/storage",
		"internal/content", "internal/gc", "internal/spool", "internal/transfer", "internal/fsck", "pkg/api"},
		[]string{"pkg/client"}, "only the CLI, the TUI and cmd use the client library"},
	{[]string{"internal/storage", "internal/eventlog"}, []string{"internal/registry", "internal/app", "internal/server"},
		"storage and the event log sit below the registry and the application layer"},
	{[]string{"internal/app"}, []string{"internal/server"}, "the daemon uses the application layer, not the other way round"},
	{[]string{"internal/fsck"}, []string{"internal/server", "internal/app", "internal/registry"},
		"the store check reads the backend and the log below the registry, so the application layer and the daemon can call it"},
	{[]string{"pkg/api", "internal/content", "internal/tlog"}, []string{""}, "leaf packages import nothing of the module"},
	{[]string{"internal/bundle"}, []string{"internal/registry", "internal/app", "internal/server", "internal/storage", "internal/transfer", "internal/auth", "pkg/client"},
		"an evidence bundle is written from a Source and verified with nothing but the file: no store below it"},
}

// under reports whether pkg (module-relative) is dir or below it; "" is
// every package.
func under(pkg, dir string) bool {
	return dir == "" || pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", module+"...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg, ok := strings.CutPrefix(fields[0], module)
		if !ok {
			continue
		}
		for _, r := range rules {
			if !anyUnder(pkg, r.from) {
				continue
			}
			checked++
			for _, d := range fields[1:] {
				dep, ok := strings.CutPrefix(d, module)
				if ok && anyUnder(dep, r.never) && !under(dep, pkg) {
					t.Errorf("%s depends on %s: %s", pkg, dep, r.why)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no package matched a rule: is the module path right?")
	}
}

func anyUnder(pkg string, dirs []string) bool {
	for _, d := range dirs {
		if under(pkg, d) {
			return true
		}
	}
	return false
}
