package app

import (
	"context"
	"errors"
	"github.com/artifact-store/artstore/internal/bundle"
	"io/fs"

	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/gc"
	"github.com/artifact-store/artstore/internal/outpath"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storeid"
	"github.com/artifact-store/artstore/internal/tlog"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// classes is the one table that says which class of error each sentinel
// of the layers below is, in order: the first match wins. A class is an
// api.Code; the code gives the HTTP status the daemon answers with
// (Code.Status), the api sentinel a caller branches on (Code.Err) and, from
// that, the CLI's exit status (api.ExitCode).
//
// A blob missing from the backend is an integrity failure: the reference
// resolved, but the bytes it names are gone. (The daemon's blob routes,
// which name a blob by digest and nothing else, answer 404 for it
// themselves.) A missing local file (a push source, the directory of a
// pull target) is "not found".
var classes = []struct {
	code api.Code
	errs []error
}{
	// Already classified: the api sentinels themselves.
	{api.CodeIntegrity, []error{api.ErrIntegrity}},
	{api.CodeNotFound, []error{api.ErrNotFound}},
	{api.CodeConflict, []error{api.ErrConflict}},
	{api.CodeInvalid, []error{api.ErrInvalid}},
	{api.CodeForbidden, []error{api.ErrForbidden}},
	{api.CodeUnauthorized, []error{api.ErrUnauthorized}},
	{api.CodeUnavailable, []error{api.ErrUnavailable}},

	{api.CodeMissingBlobs, []error{registry.ErrMissingBlobs}},
	// A bundle that fails verification is bytes the caller sent that do
	// not match what they claim, as a blob with the wrong digest is.
	{api.CodeDigestMismatch, []error{content.ErrMismatch, bundle.ErrInvalid}},
	{api.CodeRangeNotSatisfiable, []error{content.ErrInvalidRange}},
	{api.CodeIntegrity, []error{tlog.ErrBadSignature, tlog.ErrInvalidProof}},
	{api.CodeInvalid, []error{tlog.ErrSize, tlog.ErrMalformed}},
	{api.CodeUnavailable, []error{ErrNoKey}},
	{api.CodeIntegrity, []error{content.ErrInvalidManifest, eventlog.ErrTampered, transfer.ErrWrongKind,
		storage.ErrNotFound, registry.ErrViewMismatch, gc.ErrUnreadableManifest}},
	{api.CodeNotFound, []error{registry.ErrNotFound, auth.ErrNotFound, fs.ErrNotExist, transfer.ErrNoMatch}},
	{api.CodeConflict, []error{registry.ErrConflict, eventlog.ErrProjection, storeid.ErrForeignLog,
		storeid.ErrUnclaimed, transfer.ErrLinkInDestination, transfer.ErrLinkOutside}},
	{api.CodeTooLarge, []error{transfer.ErrTooLarge}},
	{api.CodeInvalid, []error{registry.ErrInvalid, eventlog.ErrInvalidQuery, eventlog.ErrInvalidEvent,
		content.ErrInvalidDigest, content.ErrUnsafePath, content.ErrInvalidLinkTarget, transfer.ErrInvalidSelection,
		storage.ErrInvalidKey, auth.ErrInvalid,
		transfer.ErrUnsupportedFileType, transfer.ErrIsDirectory, transfer.ErrNotDirectory, outpath.ErrSocket,
		storage.ErrUnknownBackend}},
	{api.CodeForbidden, []error{registry.ErrForbiddenByRetention, auth.ErrForbidden}},
	{api.CodeUnauthorized, []error{auth.ErrUnauthenticated}},
	// Nothing was appended: the caller may retry.
	{api.CodeBusy, []error{eventlog.ErrBusy}},
	{api.CodeUnavailable, []error{storage.ErrUnavailable, eventlog.ErrUnavailable, context.DeadlineExceeded}},
}

// Classify returns the class of err: the api.Code of the first sentinel in
// the table it matches, "" for nil, for a cancellation (context.Canceled:
// the caller stopped; nothing failed) and for an error that matches
// nothing (the daemon answers that as an internal error).
func Classify(err error) api.Code {
	if err == nil || errors.Is(err, context.Canceled) {
		return ""
	}
	for _, c := range classes {
		for _, e := range c.errs {
			if errors.Is(err, e) {
				return c.code
			}
		}
	}
	return ""
}

// Mark returns an error with err's message that also matches kind with
// errors.Is (and still everything err matches), without adding kind's
// text to the message.
func Mark(err, kind error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, kind: kind}
}

type markedError struct{ err, kind error }

func (e *markedError) Error() string   { return e.err.Error() }
func (e *markedError) Unwrap() []error { return []error{e.kind, e.err} }

// Sentinel returns err marked with the api sentinel of its class
// (ErrNotFound, ErrIntegrity, ...), so callers branch with errors.Is
// without knowing the layers below. An error that already matches an api
// sentinel, a cancellation and an unclassified error are returned as they
// are.
func Sentinel(err error) error {
	code := Classify(err)
	if code == "" {
		return err
	}
	kind := code.Err()
	if kind == nil || errors.Is(err, kind) {
		return err
	}
	return Mark(err, kind)
}
