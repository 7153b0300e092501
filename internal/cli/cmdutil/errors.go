package cmdutil

import (
	"context"
	"errors"
	"fmt"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/api"
)

// Exit statuses of artstore. They are part of the CLI's interface: scripts
// branch on them. ExitCodes documents each.
const (
	ExitOK          = 0
	ExitError       = api.ExitError
	ExitUsage       = api.ExitUsage
	ExitNotFound    = api.ExitNotFound
	ExitIntegrity   = api.ExitIntegrity
	ExitConflict    = api.ExitConflict
	ExitUnavailable = api.ExitUnavailable
	// ExitForbidden: retention (a legal hold, an immutability period) or
	// the daemon token's scope refuses the operation. Kept apart from
	// ExitConflict because retrying or renaming does not help: someone
	// must release the hold or grant the permission.
	ExitForbidden = api.ExitForbidden
	// ExitInterrupted is the shell's convention for a SIGINT (128+2).
	ExitInterrupted = 130
)

// ExitStatus documents one exit status.
type ExitStatus struct {
	Code    int
	Meaning string
}

// ExitCodes lists every exit status with its meaning, for help, man pages
// and the README.
func ExitCodes() []ExitStatus {
	return []ExitStatus{
		{ExitOK, "success"},
		{ExitError, "error (anything not listed below)"},
		{ExitUsage, "usage error: bad flag, argument or configuration"},
		{ExitNotFound, "not found: no such artifact, reference or blob"},
		{ExitIntegrity, "integrity failure: stored bytes do not match their digest"},
		{ExitConflict, "conflict: it already exists (a version, an output file, a config file), or the state changed"},
		{ExitUnavailable, "unavailable: a backend or the daemon is unreachable or unhealthy"},
		{ExitForbidden, "forbidden: a legal hold, an immutability period or missing permission refuses it"},
		{ExitInterrupted, "interrupted (SIGINT or SIGTERM)"},
	}
}

// FlagError is a usage error: a bad flag, a wrong number of arguments, an
// argument that does not parse. The CLI exits with ExitUsage and points at
// the command's --help.
type FlagError struct{ err error }

// Error returns the message.
func (e *FlagError) Error() string { return e.err.Error() }

// Unwrap returns the underlying error.
func (e *FlagError) Unwrap() error { return e.err }

// FlagErrorf returns a usage error with a formatted message (%w works).
func FlagErrorf(format string, args ...any) error {
	return &FlagError{err: fmt.Errorf(format, args...)}
}

// FlagErrorWrap marks err as a usage error.
func FlagErrorWrap(err error) error {
	if err == nil {
		return nil
	}
	return &FlagError{err: err}
}

// SilentError is returned by a command that has already reported everything
// it had to say: the CLI prints nothing more and exits with Code.
type SilentError struct{ Code int }

// Error describes the error for logs; the CLI does not print it.
func (e *SilentError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ErrSilent exits with ExitError without printing anything more.
var ErrSilent error = &SilentError{Code: ExitError}

// IsUsage reports whether err is reported as a usage error (ExitUsage).
func IsUsage(err error) bool { return ExitCodeOf(err) == ExitUsage }

// ExitCodeOf maps an error to artstore's exit status. Besides this
// package's error types and config.ErrInvalid, it classifies by the
// sentinels of pkg/api (api.ExitCode), which local mode and the remote
// client both return; an error from the layers below (a command that
// opened a backend itself) counts as the class app.Classify gives it.
func ExitCodeOf(err error) int {
	var silent *SilentError
	var flagErr *FlagError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &silent):
		return silent.Code
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &flagErr), errors.Is(err, config.ErrInvalid):
		return ExitUsage
	}
	// Errors from below pkg/client (a command that opened a backend
	// itself) get their class from the one table, app.Classify.
	return api.ExitCode(app.Sentinel(err))
}

// Mark returns an error with err's message that also matches kind with
// errors.Is, without appending kind's text to the message. Commands use it
// to give their own error an exit status: Mark(err, storage.ErrUnavailable).
func Mark(err, kind error) error { return app.Mark(err, kind) }
