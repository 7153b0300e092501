package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/gc"
	"github.com/artifact-store/artstore/internal/outpath"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storeid"
	"github.com/artifact-store/artstore/internal/transfer"
)

// mappedError is an internal error marked with the client sentinel it maps
// to. Its message is the original one; errors.Is matches both the sentinel
// and everything the original error matches.
type mappedError struct {
	kind error
	err  error
}

func (e *mappedError) Error() string   { return e.err.Error() }
func (e *mappedError) Unwrap() []error { return []error{e.kind, e.err} }

// errorKinds maps the sentinels of the layers below to client sentinels, in
// order: the first match wins. A missing blob is an integrity failure, not
// "not found": the reference resolved, but the bytes it names are gone. A
// missing local file (a push source, the directory of a pull target) is
// "not found"; backends never leak fs.ErrNotExist for blobs.
var errorKinds = []struct {
	from []error
	to   error
}{
	{[]error{context.Canceled, context.DeadlineExceeded}, nil},
	{[]error{content.ErrMismatch, content.ErrInvalidManifest, eventlog.ErrTampered,
		transfer.ErrWrongKind, storage.ErrNotFound, registry.ErrMissingBlobs, registry.ErrViewMismatch, gc.ErrUnreadableManifest}, ErrIntegrity},
	{[]error{registry.ErrNotFound, fs.ErrNotExist, transfer.ErrNoMatch}, ErrNotFound},
	{[]error{registry.ErrConflict, eventlog.ErrProjection, storeid.ErrForeignLog, storeid.ErrUnclaimed, transfer.ErrLinkInDestination,
		transfer.ErrLinkOutside}, ErrConflict},
	{[]error{registry.ErrInvalid, eventlog.ErrInvalidQuery, eventlog.ErrInvalidEvent,
		content.ErrInvalidRange, content.ErrInvalidDigest, content.ErrUnsafePath, content.ErrInvalidLinkTarget, transfer.ErrInvalidSelection,
		storage.ErrInvalidKey, transfer.ErrUnsupportedFileType, transfer.ErrIsDirectory, transfer.ErrNotDirectory, outpath.ErrSocket}, ErrInvalid},
	{[]error{registry.ErrForbiddenByRetention}, ErrForbidden},
	{[]error{storage.ErrUnavailable, eventlog.ErrBusy, eventlog.ErrUnavailable, storage.ErrUnknownBackend}, ErrUnavailable},
}

// manifestMismatch is the error for a manifest md that does not describe
// the content ref was registered with (digest want of size size).
func manifestMismatch(ref string, md content.Digest, m content.Manifest, want string, size int64) error {
	return fmt.Errorf("%w: its manifest %s describes %s content %s of %d bytes, but %s was registered with %s of %d bytes",
		content.ErrMismatch, md.Short(), m.Kind, m.Digest, m.Size, ref, want, size)
}

// clientSentinels are the errors mapErr leaves alone: an error that already
// matches one was classified by this package.
var clientSentinels = []error{ErrNotFound, ErrConflict, ErrInvalid, ErrIntegrity,
	ErrForbidden, ErrUnavailable, ErrUnauthorized}

// mapErr is the one place that classifies errors from the registry, the
// event log, the storage backends and the transfer pipeline: it returns err
// marked with the matching client sentinel (ErrNotFound, ErrIntegrity, ...),
// keeping its message and its own chain. Cancellation and errors that match
// nothing are returned as they are.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range clientSentinels {
		if errors.Is(err, s) {
			return err
		}
	}
	for _, k := range errorKinds {
		for _, f := range k.from {
			if errors.Is(err, f) {
				if k.to == nil {
					return err
				}
				return &mappedError{kind: k.to, err: err}
			}
		}
	}
	return err
}
