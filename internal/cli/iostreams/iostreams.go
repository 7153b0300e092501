// Package iostreams holds the standard streams a command reads and writes,
// and what artstore knows about them: whether each is a terminal, whether
// colour is wanted, whether the user asked for quiet output. Commands never
// touch os.Stdout or os.Stderr; tests build an IOStreams over buffers with
// Test and switch terminal behaviour on and off with the setters.
package iostreams

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the streams of one artstore invocation.
type IOStreams struct {
	// In is standard input.
	In io.Reader
	// Out receives the command's output: the data the user asked for.
	Out io.Writer
	// ErrOut receives diagnostics, progress and errors.
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	noColor                        bool
	quiet, verbose                 bool
}

// New wraps the given streams. A stream that is an *os.File connected to a
// terminal is detected as one. lookupEnv reads the environment (os.LookupEnv
// in the CLI); colour is off when NO_COLOR is set to anything non-empty or
// TERM is "dumb".
func New(in io.Reader, out, errOut io.Writer, lookupEnv func(string) (string, bool)) *IOStreams {
	s := &IOStreams{In: in, Out: out, ErrOut: errOut,
		stdinTTY: isTerminal(in), stdoutTTY: isTerminal(out), stderrTTY: isTerminal(errOut)}
	if lookupEnv != nil {
		if v, ok := lookupEnv("NO_COLOR"); ok && v != "" {
			s.noColor = true
		}
		if v, _ := lookupEnv("TERM"); v == "dumb" {
			s.noColor = true
		}
	}
	return s
}

// Test returns IOStreams over in-memory buffers, with no terminals, and the
// buffers for stdin, stdout and stderr.
func Test() (ios *IOStreams, stdin, stdout, stderr *bytes.Buffer) {
	stdin, stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: stdin, Out: stdout, ErrOut: stderr}, stdin, stdout, stderr
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// IsStdinTTY reports whether standard input is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether standard output is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetStdinTTY overrides terminal detection for standard input (tests).
func (s *IOStreams) SetStdinTTY(v bool) { s.stdinTTY = v }

// SetStdoutTTY overrides terminal detection for standard output (tests).
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }

// SetStderrTTY overrides terminal detection for standard error (tests).
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// SetNoColor turns colour off (or back on where the terminal allows it).
func (s *IOStreams) SetNoColor(v bool) { s.noColor = v }

// ColorEnabled reports whether output to stdout may use colour: stdout is a
// terminal and neither NO_COLOR nor TERM=dumb says otherwise.
func (s *IOStreams) ColorEnabled() bool { return s.stdoutTTY && !s.noColor }

// SetQuiet records --quiet: informational messages and progress are off.
func (s *IOStreams) SetQuiet(v bool) { s.quiet = v }

// Quiet reports whether --quiet is in effect.
func (s *IOStreams) Quiet() bool { return s.quiet }

// SetVerbose records --verbose: Debugf prints.
func (s *IOStreams) SetVerbose(v bool) { s.verbose = v }

// Verbose reports whether --verbose is in effect.
func (s *IOStreams) Verbose() bool { return s.verbose }

// ProgressEnabled reports whether a progress bar may be drawn on stderr:
// stderr is a terminal and the output is not quiet. Commands printing JSON
// must not draw progress either; they check that themselves.
func (s *IOStreams) ProgressEnabled() bool { return s.stderrTTY && !s.quiet }

// CanPrompt reports whether artstore may ask the user a question: both
// stdin and stderr are terminals.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stderrTTY }

// Infof prints an informational message to stderr unless quiet ("pushed 3
// chunks"). A newline is added when the format lacks one.
func (s *IOStreams) Infof(format string, args ...any) {
	if s.quiet {
		return
	}
	printLine(s.ErrOut, format, args...)
}

// Debugf prints a diagnostic to stderr when verbose.
func (s *IOStreams) Debugf(format string, args ...any) {
	if !s.verbose {
		return
	}
	printLine(s.ErrOut, "debug: "+format, args...)
}

func printLine(w io.Writer, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if len(msg) == 0 || msg[len(msg)-1] != '\n' {
		msg += "\n"
	}
	_, _ = io.WriteString(w, msg)
}
