// Package fsck checks a store the way a file system check does: the blobs
// of every artifact against their manifests (present, right size, or with
// Deep re-read and re-hashed), the event log's hash chain, the views
// against a replay of the log, and the backend's garbage (orphaned blobs,
// temporary upload files). It reads a backend and an event log directly,
// so it runs where both are at hand: local mode, or the daemon's host.
//
// Findings are api.Problem values with a hint saying what to do; an error
// is returned only when the check itself cannot go on.
package fsck

import (
	"context"
	"errors"
	"fmt"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// Store is what a check reads.
type Store struct {
	// Backend holds the blobs.
	Backend storage.Backend
	// Log is the event log whose views list the artifacts.
	Log eventlog.Store
	// LogPath is where the log is kept, named in the hint of a broken
	// hash chain ("" when there is no file to name).
	LogPath string
	// Concurrency bounds the blob reads in flight (0: the defaults).
	Concurrency int
}

// Options selects what a check does beyond its default.
type Options struct {
	// Deep re-reads and re-hashes every chunk, and each file's whole
	// content, instead of checking that each chunk exists with its size.
	Deep bool
}

// listPage is the page size All lists artifacts with.
const listPage = 500

// Artifact checks one live artifact: its manifest blob is present,
// verifies, parses and describes what a was registered as, and every
// chunk exists with its size (with opts.Deep: re-reads and verifies).
func Artifact(ctx context.Context, s Store, a eventlog.Artifact, opts Options) (*api.VerifyReport, error) {
	c := newChecker(s, opts)
	if err := c.artifact(ctx, a); err != nil {
		return nil, err
	}
	return c.rep, nil
}

// All checks every live artifact as Artifact does, then the event log's
// hash chain, the views against a replay of the log into a scratch store,
// the backend's orphaned blobs (referenced by no artifact, live or
// deleted) and its temporary upload files.
//
// Report.OK is false when any problem other than an orphan or a temporary
// file is found: those are left by interrupted pushes (or belong to a push
// in progress) and are garbage, not damage, so they are listed only.
func All(ctx context.Context, s Store, opts Options) (*api.VerifyReport, error) {
	c := newChecker(s, opts)
	q := eventlog.Query{IncludeDeleted: true, Limit: listPage}
	for {
		page, err := s.Log.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("verify: list: %w", err)
		}
		for _, a := range page.Artifacts {
			if a.Deleted != nil {
				c.deletedRefs(ctx, a)
				continue
			}
			if err := c.artifact(ctx, a); err != nil {
				return nil, err
			}
		}
		if page.Next == 0 {
			break
		}
		q.Cursor = page.Next
	}
	for _, step := range []func(context.Context) error{c.chain, c.views, c.orphans, c.temp} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return c.rep, nil
}

// checker holds the state of one run.
type checker struct {
	s     Store
	blobs transfer.BlobStore
	deep  bool
	rep   *api.VerifyReport
	// heads caches Head results by digest: nil for a good blob, else the
	// problem (without Ref), so a chunk shared by many artifacts is
	// checked once and reported for each.
	heads map[content.Digest]*api.Problem
	// refs holds every blob some artifact references (for orphans).
	refs map[content.Digest]bool
	// counted holds the blobs counted in rep.Blobs and rep.Bytes.
	counted map[content.Digest]bool
	// lostManifests is set when a manifest could not be read: the blobs it
	// listed are unknown, so "orphans" may be its chunks.
	lostManifests bool
}

func newChecker(s Store, opts Options) *checker {
	return &checker{s: s, blobs: transfer.FromBackend(s.Backend), deep: opts.Deep,
		rep:   &api.VerifyReport{OK: true, Problems: []api.Problem{}},
		heads: map[content.Digest]*api.Problem{}, refs: map[content.Digest]bool{}, counted: map[content.Digest]bool{}}
}

func (c *checker) add(p api.Problem) {
	if p.Kind != api.ProblemOrphan && p.Kind != api.ProblemTemp {
		c.rep.OK = false
	}
	c.rep.Problems = append(c.rep.Problems, p)
}

func (c *checker) count(d content.Digest, size int64) {
	if !c.counted[d] {
		c.counted[d] = true
		c.rep.Blobs++
		c.rep.Bytes += size
	}
}

// fatal reports whether err should stop the whole run rather than be
// reported as a problem with one blob.
func fatal(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, storage.ErrUnavailable)
}

// restoreHint is the hint for a blob missing under artifact ref.
func restoreHint(ref string) string {
	return fmt.Sprintf("restore it from a copy of the content, without a new version: artstore repair %s --from PATH (or --from-backend ID); if the content is lost, delete the artifact (artstore rm %s)", ref, ref)
}

// damagedHint is the hint for a damaged blob under artifact ref.
func damagedHint(ref string) string {
	return fmt.Sprintf("artstore repair %s --from PATH (or --from-backend ID) deletes the damaged blob and restores it from a copy of the content, without a new version", ref)
}

// blobProblem turns a failure to read blob d into a Problem, or returns
// the error when the run cannot go on.
func (c *checker) blobProblem(ref string, d content.Digest, what string, err error) (*api.Problem, error) {
	be := c.s.Backend.ID()
	switch {
	case fatal(err):
		return nil, fmt.Errorf("verify %s: %w", ref, err)
	case errors.Is(err, storage.ErrNotFound):
		return &api.Problem{Ref: ref, Digest: d.String(), Kind: api.ProblemMissing,
			Message: fmt.Sprintf("%s (%s) is missing from backend %s", what, d.Short(), be),
			Hint:    restoreHint(ref)}, nil
	case errors.Is(err, content.ErrMismatch):
		kind := api.ProblemDigestMismatch
		var me *content.MismatchError
		if errors.As(err, &me) && me.Actual.IsZero() {
			kind = api.ProblemSizeMismatch
		}
		return &api.Problem{Ref: ref, Digest: d.String(), Kind: kind,
			Message: fmt.Sprintf("%s (%s) is damaged in backend %s: %v", what, d.Short(), be, err),
			Hint:    damagedHint(ref)}, nil
	case errors.Is(err, content.ErrInvalidManifest):
		return &api.Problem{Ref: ref, Digest: d.String(), Kind: api.ProblemInvalidManifest,
			Message: fmt.Sprintf("%s (%s) does not parse: %v", what, d.Short(), err),
			Hint:    "the manifest was written by a faulty or newer artstore; upgrade artstore, or push the content again and delete this artifact"}, nil
	default:
		return &api.Problem{Ref: ref, Digest: d.String(), Kind: api.ProblemUnreadable,
			Message: fmt.Sprintf("%s (%s) could not be read from backend %s: %v", what, d.Short(), be, err),
			Hint:    "check the backend (permissions, disk errors: artstore backend health), then verify again"}, nil
	}
}
