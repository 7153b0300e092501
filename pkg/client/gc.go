package client

import (
	"context"
	"fmt"

	"github.com/artifact-store/artstore/internal/gc"
)

// DefaultGCGrace is the grace window the CLI uses when none is given.
const DefaultGCGrace = gc.DefaultGrace

// GC deletes the blobs no live artifact references from the store's
// backend, recording each batch in a blobs.collected event. It is safe to
// run while other processes push (see internal/gc). The grace window is
// measured on the wall clock, which is the backend's, not on the store's
// event clock.
func (l *Local) GC(ctx context.Context, opts GCOptions) (*GCReport, error) {
	rep, _, err := l.svc.GC(ctx, l.self, opts)
	return rep, mapErr(err)
}

// GC has the daemon collect garbage in its backend (admin scope).
func (r *Remote) GC(ctx context.Context, opts GCOptions) (*GCReport, error) {
	if opts.Grace < 0 {
		return nil, fmt.Errorf("gc: %w: negative grace %s", ErrInvalid, opts.Grace)
	}
	var rep GCReport
	body := GCRequest{DryRun: opts.DryRun, Grace: opts.Grace.String()}
	if err := r.do(ctx, request{method: "POST", path: "/v1/admin/gc", body: body, out: &rep}); err != nil {
		return nil, mapErr(err)
	}
	return &rep, nil
}
