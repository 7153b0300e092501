package testscript_test

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// TestNoTerminalQueryAtStart guards against a start-up stall: bubbletea v1
// asks the terminal for its background colour (OSC 11) in a package init and
// waits up to 5 s for an answer, so every artstore command (not only
// browse) hung for 5 s on a pseudo-terminal that never answers (ssh -tt, git
// hook runners). internal/tui/termbg settles the answer before that init
// runs. The test runs a command on a pty that never answers and checks that
// no query was written; a query on the screen is the stall.
func TestNoTerminalQueryAtStart(t *testing.T) {
	bin, err := exec.LookPath("artstore")
	if err != nil {
		t.Fatalf("the artstore command is not on PATH: %v", err)
	}
	dir := t.TempDir()
	for _, args := range [][]string{{"version"}, {"ls"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(bin, args...)
			cmd.Env, cmd.Dir = browseEnv(dir), dir
			ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 80, Rows: 24})
			if err != nil {
				t.Fatalf("start on a pseudo-terminal: %v", err)
			}
			defer ptmx.Close()
			var out bytes.Buffer
			done := make(chan struct{})
			go func() { _, _ = io.Copy(&out, ptmx); close(done) }()
			_ = cmd.Wait() // ls without a store exits non-zero; only the output matters
			ptmx.Close()
			<-done
			for _, q := range []string{"\x1b]11;?", "\x1b]10;?", "\x1b[6n"} {
				if strings.Contains(out.String(), q) {
					t.Errorf("artstore %s queried the terminal (%q): it would wait up to 5 s for an answer; output %q", strings.Join(args, " "), q, out.String())
				}
			}
		})
	}
}
