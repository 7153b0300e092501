package client

import (
	"context"
	"fmt"
	"time"

	"github.com/artifact-store/artstore/internal/gc"
)

// DefaultGCGrace is the grace window the CLI uses when none is given.
const DefaultGCGrace = gc.DefaultGrace

// GCOptions tune a garbage collection.
type GCOptions struct {
	// DryRun lists what would be collected and deletes nothing.
	DryRun bool
	// Grace: blobs modified within it (on the backend's clock) are kept,
	// so pushes in flight rarely have to upload again. Zero collects every
	// unreferenced blob; it is still safe (see docs/architecture.md).
	Grace time.Duration
}

// GCReportFrom converts a collector result to the wire report.
func GCReportFrom(r gc.Result) *GCReport {
	out := &GCReport{Backend: r.Backend, DryRun: r.DryRun, Cutoff: r.Cutoff, LiveArtifacts: r.LiveArtifacts, LiveBlobs: r.LiveBlobs,
		Scanned: r.Scanned, Collected: make([]CollectedBlob, 0, len(r.Collected)), Blobs: len(r.Collected), Bytes: r.Bytes,
		Spared: r.Spared, Events: r.Events, TempFiles: r.TempFiles, TempBytes: r.TempBytes}
	if out.Events == nil {
		out.Events = []int64{}
	}
	for _, b := range r.Collected {
		out.Collected = append(out.Collected, CollectedBlob{Digest: b.Digest.String(), Size: b.Size, ModTime: b.ModTime})
	}
	return out
}

// GC deletes the blobs no live artifact references from the store's
// backend, recording each batch in a blobs.collected event. It is safe to
// run while other processes push (see internal/gc). The grace window is
// measured on the wall clock, which is the backend's, not on the store's
// event clock.
func (l *Local) GC(ctx context.Context, opts GCOptions) (*GCReport, error) {
	if opts.Grace < 0 {
		return nil, fmt.Errorf("gc: %w: negative grace %s", ErrInvalid, opts.Grace)
	}
	res, err := gc.Run(ctx, l.log, l.backend, gc.Options{Actor: l.actor, Grace: opts.Grace, DryRun: opts.DryRun})
	if err != nil {
		return nil, mapErr(err)
	}
	return GCReportFrom(res), nil
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
