package tui

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// harness drives a Model the way a tea.Program would, synchronously: every
// command Update returns is run at once and its message fed back, until
// nothing is left to do.
type harness struct {
	t     testing.TB
	m     Model
	store *fakeStore
	quit  bool
	clips []string
}

// newHarness builds a model over store (NoColor, fixed clock, no spinner
// animation), runs Init and sends the window size.
func newHarness(t testing.TB, store *fakeStore, w, h int, opts Options) *harness {
	t.Helper()
	hs := &harness{t: t, store: store}
	opts.NoColor = true
	opts.Width, opts.Height = w, h
	if opts.PageSize == 0 {
		opts.PageSize = 20
	}
	if opts.Clipboard == nil {
		opts.Clipboard = func(s string) error {
			hs.clips = append(hs.clips, s)
			return nil
		}
	}
	hs.m = NewModel(context.Background(), store, opts)
	hs.m.animate = false
	hs.m.filterDelay = 0
	hs.m.now = func() time.Time { return baseTime }
	hs.run(hs.m.Init())
	hs.send(tea.WindowSizeMsg{Width: w, Height: h})
	return hs
}

// send delivers msg and everything that follows from it.
func (h *harness) send(msg tea.Msg) {
	h.t.Helper()
	queue := []tea.Msg{msg}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 10000 {
			h.t.Fatal("model keeps producing commands: runaway loop")
		}
		msg, queue = queue[0], queue[1:]
		next, cmd := h.m.Update(msg)
		h.m = next.(Model)
		queue = append(queue, h.exec(cmd)...)
	}
}

// run executes cmd and delivers the messages it produces.
func (h *harness) run(cmd tea.Cmd) {
	h.t.Helper()
	for _, msg := range h.exec(cmd) {
		h.send(msg)
	}
}

// exec runs cmd and returns its messages, flattening batches and noting
// tea.Quit.
func (h *harness) exec(cmd tea.Cmd) []tea.Msg {
	h.t.Helper()
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, h.exec(c)...)
		}
		return out
	case tea.QuitMsg:
		h.quit = true
		return nil
	default:
		if reflect.TypeOf(msg).String() == "tea.sequenceMsg" {
			h.t.Fatal("the model uses tea.Sequence, which the harness does not run")
		}
		return []tea.Msg{msg}
	}
}

// keys sends key presses: named keys ("enter", "esc", "backspace", "up",
// "down", "pgup", "pgdown", "home", "end", "ctrl+c") or runes, one press per
// rune.
func (h *harness) keys(ks ...string) {
	h.t.Helper()
	for _, k := range ks {
		if t, ok := namedKeys[k]; ok {
			h.send(tea.KeyMsg{Type: t})
			continue
		}
		for _, r := range k {
			h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		}
	}
}

var namedKeys = map[string]tea.KeyType{
	"enter": tea.KeyEnter, "esc": tea.KeyEsc, "backspace": tea.KeyBackspace,
	"up": tea.KeyUp, "down": tea.KeyDown, "pgup": tea.KeyPgUp, "pgdown": tea.KeyPgDown,
	"home": tea.KeyHome, "end": tea.KeyEnd, "ctrl+c": tea.KeyCtrlC, "space": tea.KeySpace,
}

// view renders the model and checks that it fits the screen.
func (h *harness) view() string {
	h.t.Helper()
	v := h.m.View()
	checkFits(h.t, v, h.m.width, h.m.height)
	return v
}

// checkFits fails the test when a line of v is wider than w columns, when v
// has more than h lines, or when it contains an escape sequence (the
// harness renders with NoColor).
func checkFits(t testing.TB, v string, w, h int) {
	t.Helper()
	lines := strings.Split(v, "\n")
	if len(lines) > h {
		t.Errorf("view has %d lines, screen has %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw > w {
			t.Errorf("line %d is %d columns wide, screen is %d: %q", i+1, lw, w, l)
		}
	}
	if strings.Contains(v, "\x1b") {
		t.Errorf("NoColor view contains an escape sequence: %q", v)
	}
}

// golden compares got with testdata/name.golden, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("view differs from %s (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", file, got, want)
	}
}
