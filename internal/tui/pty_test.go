//go:build linux || darwin

package tui

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
)

// screenLog collects what the program writes to the pseudo-terminal.
type screenLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (s *screenLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

// text is everything written so far with escape sequences removed.
func (s *screenLog) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ansi.Strip(s.buf.String())
}

// TestRunInPseudoTerminal runs Run on a real pseudo-terminal: it checks the
// terminal detection, raw-mode key input and rendering together, walking two
// levels of lineage and quitting.
func TestRunInPseudoTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(tty, &pty.Winsize{Cols: 80, Rows: 24}); err != nil {
		t.Fatal(err)
	}

	screen := &screenLog{changed: make(chan struct{}, 1)}
	go func() { _, _ = io.Copy(screen, ptmx) }()

	// A deadline guards against a hang only; nothing waits on time to pass.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	store := seedStore(10)
	go func() {
		done <- Run(ctx, store, Options{In: tty, Out: tty, InitialRef: "reports/q:3", NoColor: true})
	}()

	waitFor := func(want string) {
		t.Helper()
		for !strings.Contains(screen.text(), want) {
			select {
			case <-screen.changed:
			case err := <-done:
				t.Fatalf("browser exited (%v) before showing %q; screen:\n%s", err, want, screen.text())
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %q; screen:\n%s", want, screen.text())
			}
		}
	}
	press := func(keys string) {
		t.Helper()
		if _, err := ptmx.Write([]byte(keys)); err != nil {
			t.Fatal(err)
		}
	}

	waitFor("binary: build/app:12") // the detail of reports/q:3
	press("u")
	waitFor("inputs of reports/q:3 (2)")
	press("\r") // build/app:12 sorts first (role "binary")
	waitFor("reports/q:3 › build/app:12")
	press("u")
	waitFor("inputs of build/app:12 (3)")
	press("j") // patch (raw digest), source, toolchain: source is second
	press("\r")
	waitFor("reports/q:3 › build/app:12 › src/tarball:5")
	press("q")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-ctx.Done():
		t.Fatal("q did not quit")
	}
}
