// Package termbg keeps artstore from querying the terminal at start-up.
//
// bubbletea v1 calls lipgloss.HasDarkBackground in a package init, which
// writes an OSC 11 "what is your background colour?" query to standard
// output and waits up to 5 s for the answer. Terminal emulators answer at
// once, but a pseudo-terminal that nobody answers (ssh -tt, git hook
// runners, agents) made every artstore command, not only browse, stall for
// 5 s and left the query bytes in its output.
//
// This package's init settles the answer first, so that query never runs:
// Go initialises packages in import-path order among those whose imports
// are ready (the Go spec, "Package initialization"), and
// "github.com/artifact-store/..." sorts before "github.com/charmbracelet/...",
// whose lipgloss this package already depends on. The value only affects
// lipgloss's default renderer's adaptive colours, which artstore's TUI does
// not use (it renders through its own renderer with fixed colours).
// bubbletea v2 drops the query; this package goes away with the move to it.
package termbg

import "github.com/charmbracelet/lipgloss"

func init() {
	lipgloss.SetHasDarkBackground(true)
}

// Settled reports whether the background answer was settled without asking
// the terminal; it is true in any program that links this package.
func Settled() bool { return lipgloss.HasDarkBackground() }
