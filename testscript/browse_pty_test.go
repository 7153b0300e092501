package testscript_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
)

// browseDeadline bounds a hang of the pseudo-terminal test. Nothing waits for
// it to pass: every step waits for the screen or the process.
const browseDeadline = 30 * time.Second

// TestBrowseInPseudoTerminal is the end-to-end test of `artstore browse`: the
// artstore command as a separate process on a real pseudo-terminal (80×24),
// over a real local store seeded with a three-level lineage. It opens
// reports/q:1, walks up two levels to src/lib.tar:1 with the keys a user
// presses, checks the breadcrumb of the path taken, quits with q and expects
// exit status 0. (browse without a terminal, exit status 2 and the advice to
// use ls and lineage --json, is covered by testdata/browse.txtar.)
//
// The artstore it runs is the one testscript.Main (TestMain) installs in
// $PATH for the scripts: a copy of this test binary that runs the full
// command tree (runArtstore → cli.Run, as cmd/artstore's cli.Main does). So
// it needs no `go build` of its own, and under `go test -race` the browser
// runs race-checked against a real terminal and store (a race makes it exit
// 66, which fails the exit status check).
func TestBrowseInPseudoTerminal(t *testing.T) {
	bin, err := exec.LookPath("artstore")
	if err != nil {
		t.Fatalf("testscript.Main did not put artstore in $PATH: %v", err)
	}
	dir := t.TempDir()
	env := browseEnv(dir)

	// Seed the store as a user would: three levels of lineage.
	lib := filepath.Join(dir, "lib.tar")
	if err := os.WriteFile(lib, []byte("a small tarball\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"push", lib, "--name", "src/lib.tar"},
		{"push", lib, "--name", "build/app", "--input", "src/lib.tar:1=source"},
		{"push", lib, "--name", "reports/q", "--input", "build/app:1=binary"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), browseDeadline)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("artstore %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	tests := []struct {
		name      string
		env       []string
		wantColor bool
	}{
		{"NO_COLOR", []string{"NO_COLOR=1"}, false},
		{"colour", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := browseWalk(t, bin, dir, append(env[:len(env):len(env)], tt.env...))
			if got := sgrSeq.MatchString(out); got != tt.wantColor {
				t.Errorf("output has colour or text attributes: %v, want %v", got, tt.wantColor)
			}
		})
	}
}

// browseEnv is the environment of the artstore processes: home, config, data
// and store inside dir, a terminal type, and nothing else from the
// developer's or CI's environment (CI would make termenv drop colour; a
// stray ARTSTORE_* would pick another store).
func browseEnv(dir string) []string {
	home := filepath.Join(dir, "home")
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_STATE_HOME=" + filepath.Join(home, ".local", "state"),
		"ARTSTORE_STORE=" + filepath.Join(dir, "store"),
		"TERM=xterm-256color",
		"LANG=C.UTF-8",
	}
	// Under -race the child is race-checked too (raceEnv).
	env = append(env, "GORACE="+raceEnv(os.Getenv("GORACE")))
	// Coverage output and the temporary directory, as the test's own.
	for _, k := range []string{"GOCOVERDIR", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// ptyScreen collects what the browser writes to the pseudo-terminal and,
// like a real terminal, answers its status queries on the way: artstore
// (bubbletea's init, through lipgloss and termenv) asks for the background
// colour and the cursor position when stdout is a terminal, and waits five
// seconds (termenv.OSCTimeout) for an answer that never comes otherwise.
type ptyScreen struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	scanned int       // buf up to here has been searched for queries
	answer  io.Writer // the terminal's keyboard side
	changed chan struct{}
}

// terminalAnswers are the status queries a terminal answers, with the
// answers of a dark 80×24 xterm whose cursor is at the top left.
var terminalAnswers = []struct{ query, answer string }{
	{"\x1b]11;?", "\x1b]11;rgb:0000/0000/0000\x07"}, // background colour (OSC 11)
	{"\x1b[6n", "\x1b[1;1R"},                        // cursor position (DSR)
}

func (s *ptyScreen) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf.Write(p)
	var replies []byte
	for {
		rest, at, found := s.buf.Bytes()[s.scanned:], -1, -1
		for k, q := range terminalAnswers {
			if i := bytes.Index(rest, []byte(q.query)); i >= 0 && (at < 0 || i < at) {
				at, found = i, k
			}
		}
		if found < 0 {
			break
		}
		s.scanned += at + len(terminalAnswers[found].query)
		replies = append(replies, terminalAnswers[found].answer...)
	}
	select {
	case s.changed <- struct{}{}:
	default:
	}
	s.mu.Unlock()
	if len(replies) > 0 {
		if _, err := s.answer.Write(replies); err != nil {
			return 0, fmt.Errorf("answer the terminal query: %w", err)
		}
	}
	return len(p), nil
}

// raw is everything written so far.
func (s *ptyScreen) raw() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// sgrSeq matches a Select Graphic Rendition sequence: colour or attributes.
var sgrSeq = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// browseWalk runs `artstore browse reports/q:1` on an 80×24 pseudo-terminal,
// walks up to build/app:1 and src/lib.tar:1, quits, and returns everything
// the browser wrote.
func browseWalk(t *testing.T, bin, dir string, env []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), browseDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "browse", "reports/q:1")
	cmd.Env, cmd.Dir = env, dir
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 80, Rows: 24})
	if errors.Is(err, pty.ErrUnsupported) && runtime.GOOS != "linux" {
		t.Skipf("no pseudo-terminals on %s: %v", runtime.GOOS, err)
	}
	if err != nil {
		t.Fatalf("start artstore browse on a pseudo-terminal: %v", err)
	}
	defer ptmx.Close()

	screen := &ptyScreen{answer: ptmx, changed: make(chan struct{}, 1)}
	copied := make(chan struct{})
	go func() {
		// Ends with EIO once the browser exits and the terminal hangs up.
		_, _ = io.Copy(screen, ptmx)
		close(copied)
	}()
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	// On a failure, kill the browser and let it go before the store is removed.
	defer func() {
		cancel()
		<-exited
	}()

	// waitFor waits until the screen shows a match of pattern.
	waitFor := func(pattern string) {
		t.Helper()
		re := regexp.MustCompile(pattern)
		for !re.MatchString(ansi.Strip(screen.raw())) {
			select {
			case <-screen.changed:
			case <-exited:
				t.Fatalf("artstore browse exited (%v) before showing %q; screen:\n%s", waitErr, pattern, ansi.Strip(screen.raw()))
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %q; screen:\n%s", pattern, ansi.Strip(screen.raw()))
			}
		}
	}
	press := func(keys string) {
		t.Helper()
		if _, err := ptmx.Write([]byte(keys)); err != nil {
			t.Fatalf("press %q: %v", keys, err)
		}
	}

	waitFor(`binary: build/app:1`) // the detail of reports/q:1
	press("u")
	waitFor(`inputs of reports/q:1 \(1\)`)
	press("\r")
	waitFor(`artstore · reports/q:1 › build/app:1`) // the breadcrumb
	waitFor(`source: src/lib\.tar:1`)               // the detail of build/app:1
	press("u")
	waitFor(`inputs of build/app:1 \(1\)`)
	press("\r")
	waitFor(`artstore · reports/q:1 › build/app:1 › src/lib\.tar:1`)
	waitFor(`inputs +none recorded`) // the detail of src/lib.tar:1
	press("q")
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("artstore browse after q: %v, want exit status 0; screen:\n%s", waitErr, ansi.Strip(screen.raw()))
		}
	case <-ctx.Done():
		t.Fatalf("q did not quit artstore browse; screen:\n%s", ansi.Strip(screen.raw()))
	}
	select {
	case <-copied:
	case <-ctx.Done():
		t.Fatal("the pseudo-terminal did not hang up after artstore browse exited")
	}
	out := screen.raw()
	if enter, leave := strings.LastIndex(out, "\x1b[?1049h"), strings.LastIndex(out, "\x1b[?1049l"); enter < 0 || leave < enter {
		t.Errorf("artstore browse did not leave the alternate screen on quit (entered at byte %d, left at %d)", enter, leave)
	}
	return out
}
