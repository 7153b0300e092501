package app_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storeid"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// TestClassify walks the sentinels of every layer through the one table
// to the class, the HTTP status and the exit status a user sees.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   api.Code
		status int
		exit   int
	}{
		{registry.ErrNotFound, api.CodeNotFound, 404, api.ExitNotFound},
		{auth.ErrNotFound, api.CodeNotFound, 404, api.ExitNotFound},
		{fs.ErrNotExist, api.CodeNotFound, 404, api.ExitNotFound},
		// A blob a resolved reference names is gone: integrity, not "no such artifact".
		{storage.ErrNotFound, api.CodeIntegrity, 500, api.ExitIntegrity},
		{content.ErrMismatch, api.CodeDigestMismatch, 400, api.ExitIntegrity},
		{registry.ErrMissingBlobs, api.CodeMissingBlobs, 409, api.ExitIntegrity},
		{eventlog.ErrTampered, api.CodeIntegrity, 500, api.ExitIntegrity},
		{registry.ErrViewMismatch, api.CodeIntegrity, 500, api.ExitIntegrity},
		{registry.ErrConflict, api.CodeConflict, 409, api.ExitConflict},
		{storeid.ErrForeignLog, api.CodeConflict, 409, api.ExitConflict},
		{transfer.ErrLinkInDestination, api.CodeConflict, 409, api.ExitConflict},
		{transfer.ErrLinkOutside, api.CodeConflict, 409, api.ExitConflict},
		{transfer.ErrNoMatch, api.CodeNotFound, 404, api.ExitNotFound},
		{transfer.ErrInvalidSelection, api.CodeInvalid, 400, api.ExitUsage},
		{content.ErrInvalidLinkTarget, api.CodeInvalid, 400, api.ExitUsage},
		{registry.ErrInvalid, api.CodeInvalid, 400, api.ExitUsage},
		{content.ErrInvalidDigest, api.CodeInvalid, 400, api.ExitUsage},
		{auth.ErrInvalid, api.CodeInvalid, 400, api.ExitUsage},
		{storage.ErrUnknownBackend, api.CodeInvalid, 400, api.ExitUsage},
		{content.ErrInvalidRange, api.CodeRangeNotSatisfiable, 416, api.ExitUsage},
		{transfer.ErrTooLarge, api.CodeTooLarge, 413, api.ExitUsage},
		{registry.ErrForbiddenByRetention, api.CodeForbidden, 403, api.ExitForbidden},
		{auth.ErrForbidden, api.CodeForbidden, 403, api.ExitForbidden},
		{auth.ErrUnauthenticated, api.CodeUnauthorized, 401, api.ExitForbidden},
		{eventlog.ErrBusy, api.CodeBusy, 503, api.ExitUnavailable},
		{storage.ErrUnavailable, api.CodeUnavailable, 503, api.ExitUnavailable},
		{eventlog.ErrUnavailable, api.CodeUnavailable, 503, api.ExitUnavailable},
		{context.DeadlineExceeded, api.CodeUnavailable, 503, api.ExitUnavailable},
		// Already classified errors keep their class.
		{api.ErrForbidden, api.CodeForbidden, 403, api.ExitForbidden},
		{errors.Join(storage.ErrNotFound, api.ErrNotFound), api.CodeNotFound, 404, api.ExitNotFound},
	} {
		err := fmt.Errorf("doing something: %w", tc.err)
		code := app.Classify(err)
		if code != tc.code {
			t.Errorf("Classify(%v) = %q, want %q", tc.err, code, tc.code)
			continue
		}
		if code.Status() != tc.status {
			t.Errorf("%v: status %d, want %d", tc.err, code.Status(), tc.status)
		}
		marked := app.Sentinel(err)
		if marked.Error() != err.Error() {
			t.Errorf("Sentinel changed the message: %q", marked)
		}
		if !errors.Is(marked, tc.err) {
			t.Errorf("Sentinel lost the original chain of %v", tc.err)
		}
		if got := api.ExitCode(marked); got != tc.exit {
			t.Errorf("%v: exit %d, want %d", tc.err, got, tc.exit)
		}
	}
	for _, err := range []error{nil, context.Canceled, fmt.Errorf("stop: %w", context.Canceled), errors.New("something else")} {
		if code := app.Classify(err); code != "" {
			t.Errorf("Classify(%v) = %q, want none", err, code)
		}
		if got := app.Sentinel(err); got != err {
			t.Errorf("Sentinel(%v) changed it to %v", err, got)
		}
	}
}
