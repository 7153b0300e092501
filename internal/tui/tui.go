// Package tui is artstore's terminal provenance browser (`artstore browse`):
// a paged, filterable list of artifacts, a detail pane, and lineage
// navigation up to an artifact's inputs and down to what was derived from it,
// with a breadcrumb of the path taken.
//
// It reads only through pkg/client, so it browses a local store and a daemon
// alike. Every store call runs in a tea.Cmd, never in Update, so the screen
// stays responsive (a spinner shows what is in flight) however slow the
// store is. The list fetches pages with the store's cursors as the view
// approaches them and holds a bounded number of pages in memory, so a store
// of 100,000 artifacts scrolls like one of ten.
//
// Side effects other than store calls go through Options: the clipboard is
// an injected function (OSC 52 on the output by default), so tests and
// callers decide what copying means.
package tui

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/term"

	"github.com/artifact-store/artstore/pkg/client"

	// settle lipgloss's background query before bubbletea's init runs it
	_ "github.com/artifact-store/artstore/internal/tui/termbg"
)

// ErrNotTerminal is returned by Run when its output (or its input, when that
// is a file) is not a terminal. Its message tells the user what to run
// instead; callers map it to a usage error.
var ErrNotTerminal = errors.New("artstore browse needs an interactive terminal; " +
	"in scripts and pipes use `artstore ls` to list artifacts and " +
	"`artstore lineage REF --json` to walk provenance")

// Default terminal size, used until the terminal reports its own (and when
// the output is not a terminal that can report one).
const (
	DefaultWidth  = 80
	DefaultHeight = 24
)

// Options configures the browser. The zero value browses the process's
// standard input and output in colour (unless NO_COLOR is set).
type Options struct {
	// In is read for key presses; nil means os.Stdin.
	In io.Reader
	// Out receives the screen; nil means os.Stdout.
	Out io.Writer
	// InitialRef, if set, opens that artifact's detail on start (any reference
	// form the store accepts: name:version, name:tag, name, name@digest, ID).
	InitialRef string
	// NoColor renders without colour or text attributes. Run also turns colour
	// off when the NO_COLOR environment variable is set and non-empty.
	NoColor bool
	// PullDir is the directory the pull prompt proposes; "" means the current
	// directory (the prompt reads "./<basename>").
	PullDir string
	// Clipboard copies text for the y and Y keys. Nil means an OSC 52 escape
	// written to Out, which most terminal emulators honour (tmux needs
	// `set -g set-clipboard on`). The copied text is also shown in the status
	// line, so it is never lost when the terminal ignores the request. The
	// default writes to Out from a command goroutine while the renderer also
	// writes to it, so Out must then be safe for concurrent writes (an
	// *os.File is).
	Clipboard func(text string) error
	// Width and Height are the screen size until the terminal reports its
	// own; zero means DefaultWidth × DefaultHeight.
	Width, Height int
	// PageSize is the number of artifacts per List call; zero means 200.
	PageSize int
	// IsTerminal reports whether Out is a terminal. Nil means: Out is an
	// *os.File that golang.org/x/term says is a terminal.
	IsTerminal func(out io.Writer) bool
}

func (o Options) withDefaults() Options {
	if o.In == nil {
		o.In = os.Stdin
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Width <= 0 {
		o.Width = DefaultWidth
	}
	if o.Height <= 0 {
		o.Height = DefaultHeight
	}
	if o.PageSize <= 0 {
		o.PageSize = defaultPageSize
	}
	if o.IsTerminal == nil {
		o.IsTerminal = isTerminalFile
	}
	if o.Clipboard == nil {
		o.Clipboard = osc52Clipboard(o.Out)
	}
	return o
}

// isTerminalFile is the default terminal check.
func isTerminalFile(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// osc52Clipboard returns a clipboard that asks the terminal on w to set the
// system clipboard with an OSC 52 escape sequence.
func osc52Clipboard(w io.Writer) func(string) error {
	return func(text string) error {
		if w == nil {
			return errors.New("no terminal to copy through")
		}
		_, err := fmt.Fprintf(w, "\x1b]52;c;%s\x07", base64.StdEncoding.EncodeToString([]byte(text)))
		if err != nil {
			return fmt.Errorf("write OSC 52 sequence: %w", err)
		}
		return nil
	}
}

// Run browses store until the user quits or ctx is cancelled. It returns
// ErrNotTerminal, without drawing anything, when Out is not a terminal or In
// is a file that is not one. Store errors do not end the browser: they are
// shown in its status line. Cancelling ctx stops the browser and cancels any
// store call in flight (a pull in flight leaves no partial file, per
// client.Store.PullToPath); Run then returns ctx's error.
func Run(ctx context.Context, store client.Store, opts Options) error {
	opts = opts.withDefaults()
	if !opts.IsTerminal(opts.Out) {
		return ErrNotTerminal
	}
	if f, ok := opts.In.(*os.File); ok && !term.IsTerminal(int(f.Fd())) {
		return ErrNotTerminal
	}
	if os.Getenv("NO_COLOR") != "" {
		opts.NoColor = true
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := NewModel(ctx, store, opts)
	p := tea.NewProgram(m,
		tea.WithContext(ctx),
		tea.WithInput(opts.In),
		tea.WithOutput(opts.Out),
		tea.WithAltScreen(),
	)
	if _, err := p.Run(); err != nil {
		switch {
		case ctx.Err() != nil && errors.Is(err, tea.ErrProgramKilled):
			return fmt.Errorf("browse: %w", context.Cause(ctx))
		case errors.Is(err, tea.ErrInterrupted):
			// SIGINT from outside (in raw mode ctrl+c is a key): a cancellation.
			return fmt.Errorf("browse: interrupted: %w", context.Canceled)
		}
		return fmt.Errorf("browse: %w", err)
	}
	return nil
}
