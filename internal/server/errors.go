package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/gc"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/server/auth"
	"github.com/artifact-store/artstore/internal/storage"
)

// classify maps an error to its HTTP status and API code. It is the one
// place that knows the mapping; pkg/client's Remote maps the codes back.
func classify(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var mb *registry.MissingBlobsError
	if errors.As(err, &mb) {
		e := &apiError{status: http.StatusConflict, code: "missing_blobs", msg: err.Error()}
		for _, d := range mb.Digests {
			e.digests = append(e.digests, d.String())
		}
		return e
	}
	msg := err.Error()
	switch {
	case errors.Is(err, content.ErrMismatch):
		return &apiError{http.StatusBadRequest, "digest_mismatch", msg, nil}
	case errors.Is(err, storage.ErrInvalidRange):
		return &apiError{http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable", msg, nil}
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, storage.ErrNotFound), errors.Is(err, auth.ErrNotFound):
		return &apiError{http.StatusNotFound, "not_found", msg, nil}
	case errors.Is(err, registry.ErrConflict):
		return &apiError{http.StatusConflict, "conflict", msg, nil}
	case errors.Is(err, registry.ErrForbiddenByRetention):
		return &apiError{http.StatusForbidden, "forbidden", msg, nil}
	case errors.Is(err, registry.ErrInvalid), errors.Is(err, storage.ErrInvalidKey), errors.Is(err, content.ErrInvalidDigest),
		errors.Is(err, eventlog.ErrInvalidQuery), errors.Is(err, auth.ErrInvalid):
		return &apiError{http.StatusBadRequest, "invalid", msg, nil}
	case errors.Is(err, eventlog.ErrBusy):
		// Nothing was appended: the client may retry.
		return &apiError{http.StatusServiceUnavailable, "busy", msg, nil}
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, eventlog.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return &apiError{http.StatusServiceUnavailable, "unavailable", msg, nil}
	case errors.Is(err, eventlog.ErrTampered), errors.Is(err, registry.ErrViewMismatch), errors.Is(err, gc.ErrUnreadableManifest):
		return &apiError{http.StatusInternalServerError, "integrity", msg, nil}
	}
	return &apiError{http.StatusInternalServerError, "internal", "internal error: " + msg, nil}
}
