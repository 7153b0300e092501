package server

import (
	"context"
	"errors"

	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/gc"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
)

// classify maps an error to its HTTP status and API code. It is the one
// place that knows the mapping; pkg/client's Remote maps the codes back through
// the same table (api.Code.Err).
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var mb *registry.MissingBlobsError
	if errors.As(err, &mb) {
		e := codeErr(api.CodeMissingBlobs, err.Error())
		for _, d := range mb.Digests {
			e.digests = append(e.digests, d.String())
		}
		return e
	}
	msg := err.Error()
	switch {
	case errors.Is(err, content.ErrMismatch):
		return codeErr(api.CodeDigestMismatch, msg)
	case errors.Is(err, storage.ErrInvalidRange):
		return codeErr(api.CodeRangeNotSatisfiable, msg)
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, storage.ErrNotFound), errors.Is(err, auth.ErrNotFound):
		return codeErr(api.CodeNotFound, msg)
	case errors.Is(err, registry.ErrConflict):
		return codeErr(api.CodeConflict, msg)
	case errors.Is(err, registry.ErrForbiddenByRetention):
		return codeErr(api.CodeForbidden, msg)
	case errors.Is(err, registry.ErrInvalid), errors.Is(err, storage.ErrInvalidKey), errors.Is(err, content.ErrInvalidDigest),
		errors.Is(err, eventlog.ErrInvalidQuery), errors.Is(err, auth.ErrInvalid), errors.Is(err, api.ErrInvalid):
		return codeErr(api.CodeInvalid, msg)
	case errors.Is(err, eventlog.ErrBusy):
		// Nothing was appended: the client may retry.
		return codeErr(api.CodeBusy, msg)
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, eventlog.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return codeErr(api.CodeUnavailable, msg)
	case errors.Is(err, eventlog.ErrTampered), errors.Is(err, registry.ErrViewMismatch), errors.Is(err, gc.ErrUnreadableManifest):
		return codeErr(api.CodeIntegrity, msg)
	}
	return codeErr(api.CodeInternal, "internal error: "+msg)
}

// codeErr is the API error of class code: its HTTP status is the one
// pkg/api's table gives the code.
func codeErr(code api.Code, msg string) *apiError {
	return &apiError{status: code.Status(), code: string(code), msg: msg}
}
