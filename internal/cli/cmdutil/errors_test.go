package cmdutil

import (
	"errors"
	"fmt"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
	"github.com/artifact-store/artstore/pkg/client"
)

// TestErrorCodesRoundTrip: every API error code goes from the daemon's
// status through the remote client's sentinel to the exit status the CLI
// documents, so a failure reads the same in local and remote mode.
func TestErrorCodesRoundTrip(t *testing.T) {
	want := map[api.Code]struct {
		status int
		exit   int
	}{
		api.CodeNotFound:            {404, ExitNotFound},
		api.CodeConflict:            {409, ExitConflict},
		api.CodeMissingBlobs:        {409, ExitIntegrity},
		api.CodeInvalid:             {400, ExitUsage},
		api.CodeDigestMismatch:      {400, ExitIntegrity},
		api.CodeTooLarge:            {413, ExitUsage},
		api.CodeUnauthorized:        {401, ExitForbidden},
		api.CodeForbidden:           {403, ExitForbidden},
		api.CodeGone:                {410, ExitError},
		api.CodeRangeNotSatisfiable: {416, ExitUsage},
		api.CodeBusy:                {503, ExitUnavailable},
		api.CodeUnavailable:         {503, ExitUnavailable},
		api.CodeIntegrity:           {500, ExitIntegrity},
		api.CodeInternal:            {500, ExitUnavailable},
	}
	if len(api.Codes()) != len(want) {
		t.Fatalf("api.Codes() lists %d codes, this test %d: add the new code here", len(api.Codes()), len(want))
	}
	for _, c := range api.Codes() {
		w, ok := want[c]
		if !ok {
			t.Errorf("code %q is not in this test", c)
			continue
		}
		if got := c.Status(); got != w.status {
			t.Errorf("%s: status %d, want %d", c, got, w.status)
		}
		re := fmt.Errorf("push x: %w", &client.RemoteError{Status: c.Status(), Code: string(c), Message: "m"})
		if s := c.Err(); s != nil && !errors.Is(re, s) {
			t.Errorf("%s: the remote error does not match %v", c, s)
		}
		if got := ExitCodeOf(re); got != w.exit {
			t.Errorf("%s: exit status %d, want %d", c, got, w.exit)
		}
		if s := c.Err(); s != nil && ExitCodeOf(fmt.Errorf("local: %w", s)) != w.exit {
			t.Errorf("%s: local mode's sentinel %v exits %d, want %d", c, s, ExitCodeOf(s), w.exit)
		}
	}
}

// TestExitCodeOfLowerSentinels: the storage and content sentinels a
// command meets directly count as their class, integrity before not-found.
func TestExitCodeOfLowerSentinels(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{content.ErrInvalidRange, ExitUsage},
		{storage.ErrUnknownBackend, ExitUsage},
		{content.ErrMismatch, ExitIntegrity},
		{storage.ErrNotFound, ExitIntegrity}, // bytes a reference named are gone
		{storage.ErrUnavailable, ExitUnavailable},
		{errors.Join(storage.ErrNotFound, api.ErrIntegrity), ExitIntegrity},
		{errors.New("other"), ExitError},
	} {
		if got := ExitCodeOf(fmt.Errorf("op: %w", tc.err)); got != tc.want {
			t.Errorf("ExitCodeOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
