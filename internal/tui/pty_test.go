//go:build linux || darwin

package tui

import (
	"bytes"
	"context"
	"io"
	"regexp"
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

// raw is everything written so far.
func (s *screenLog) raw() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// sgr matches a Select Graphic Rendition sequence: colour or text attributes.
var sgr = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// TestRunInPseudoTerminal runs Run on a real pseudo-terminal: terminal
// detection, raw-mode key input and rendering together. It walks two levels
// of lineage and quits, in colour and without.
func TestRunInPseudoTerminal(t *testing.T) {
	tests := []struct {
		name      string
		noColor   bool
		env       string // NO_COLOR
		wantColor bool
	}{
		{"colour", false, "", true},
		{"Options.NoColor", true, "", false},
		{"NO_COLOR", false, "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TERM", "xterm-256color")
			// termenv treats any CI variable as "not a terminal" and drops
			// colour; CI runs this test with CI=true.
			t.Setenv("CI", "")
			t.Setenv("COLORTERM", "")
			t.Setenv("CLICOLOR", "")
			t.Setenv("NO_COLOR", tt.env)
			out := ptyWalk(t, tt.noColor)
			if got := sgr.MatchString(out); got != tt.wantColor {
				t.Errorf("output has colour or attributes: %v, want %v", got, tt.wantColor)
			}
		})
	}
}

// ptyWalk runs the browser on a pseudo-terminal, opens reports/q:3, walks up
// to build/app:12 and src/tarball:5, quits, and returns all output.
func ptyWalk(t *testing.T, noColor bool) string {
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

	// The deadline guards against a hang only; nothing waits for time to pass.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	store := seedStore(10)
	go func() {
		done <- Run(ctx, store, Options{In: tty, Out: tty, InitialRef: "reports/q:3", NoColor: noColor})
	}()

	waitFor := func(want string) {
		t.Helper()
		for !strings.Contains(ansi.Strip(screen.raw()), want) {
			select {
			case <-screen.changed:
			case err := <-done:
				t.Fatalf("browser exited (%v) before showing %q; screen:\n%s", err, want, ansi.Strip(screen.raw()))
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %q; screen:\n%s", want, ansi.Strip(screen.raw()))
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
	return screen.raw()
}
