package client

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/artifact-store/artstore/internal/fsck"
	"github.com/artifact-store/artstore/pkg/api"
)

// Problem kinds reported by Verify.
const (
	ProblemMissing         = api.ProblemMissing
	ProblemSizeMismatch    = api.ProblemSizeMismatch
	ProblemDigestMismatch  = api.ProblemDigestMismatch
	ProblemInvalidManifest = api.ProblemInvalidManifest
	ProblemUnreadable      = api.ProblemUnreadable
	ProblemOrphan          = api.ProblemOrphan
	ProblemChain           = api.ProblemChain
	ProblemView            = api.ProblemView
	ProblemTemp            = api.ProblemTemp
)

// Verify checks stored artifacts against their manifests: for the artifact
// opts.Ref names, or with opts.All every live artifact, the manifest blob
// is present, verifies and parses, and every chunk exists with its size
// (Head); with opts.Deep every chunk is re-read and re-hashed, and each
// file's whole content too. With opts.All it also checks the event log's
// hash chain, compares the views with a replay of the log into a scratch
// store, and lists orphaned blobs (in the backend but referenced by no
// artifact, live or deleted) and temporary upload files.
//
// Each finding is a Problem with a Hint saying what to do. OK is false when
// any problem other than an orphan or a temporary file is found: those are
// left by interrupted pushes (or belong to a push in progress) and are
// harmless garbage, so they are listed but are not damage. Errors are
// returned only when the check itself cannot proceed (backend unavailable,
// log unreadable, cancelled). The checks are internal/fsck's.
func (l *Local) Verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error) {
	rep, err := l.verify(ctx, opts)
	return rep, mapErr(err)
}

func (l *Local) verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error) {
	if (opts.Ref == "") == !opts.All {
		return nil, fmt.Errorf("verify: %w: give an artifact reference or ask for all artifacts, not both or neither", ErrInvalid)
	}
	s := fsck.Store{Backend: l.backend, Log: l.log, LogPath: filepath.Join(l.dir, LogFileName), Concurrency: l.concurrency}
	o := fsck.Options{Deep: opts.Deep}
	if opts.All {
		return fsck.All(ctx, s, o)
	}
	a, err := l.svc.Live(ctx, l.self, opts.Ref)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return fsck.Artifact(ctx, s, a, o)
}
