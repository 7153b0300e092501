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

// GCRequest is the body of POST /v1/admin/gc.
type GCRequest struct {
	DryRun bool `json:"dry_run,omitempty"`
	// Grace is a Go duration ("1h"); empty means zero.
	Grace string `json:"grace,omitempty"`
}

// CollectedBlob is a blob garbage collection deleted (or would delete).
type CollectedBlob struct {
	Digest  string    `json:"digest"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mod_time"`
}

// GCReport is the outcome of a garbage collection.
type GCReport struct {
	Backend string `json:"backend"`
	DryRun  bool   `json:"dry_run"`
	// Cutoff: only blobs modified before it were considered (start − grace).
	Cutoff time.Time `json:"cutoff"`
	// LiveArtifacts and LiveBlobs size what was kept as referenced.
	LiveArtifacts int `json:"live_artifacts"`
	LiveBlobs     int `json:"live_blobs"`
	// Scanned is the number of blobs in the backend.
	Scanned int `json:"scanned"`
	// Collected lists the blobs deleted (with DryRun: that would be);
	// Blobs and Bytes total them.
	Collected []CollectedBlob `json:"collected"`
	Blobs     int             `json:"blobs"`
	Bytes     int64           `json:"bytes"`
	// Spared counts candidates kept at the last moment: referenced by a
	// push that registered meanwhile, re-uploaded within the grace
	// window, or already gone.
	Spared int `json:"spared"`
	// Events are the seqs of the blobs.collected events recorded.
	Events []int64 `json:"events"`
	// TempFiles and TempBytes count the temporary upload files (left by
	// uploads killed hard) older than Cutoff that were removed (with
	// DryRun: that would be); always 0 for backends without them (S3).
	TempFiles int   `json:"temp_files"`
	TempBytes int64 `json:"temp_bytes"`
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
