package app

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/fsck"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
)

// A repair re-supplies the missing or damaged blobs of an existing
// artifact, without registering a new version, in three steps:
// PlanRepair deep-checks every blob of the artifact (fsck.Artifact, what
// verify --deep runs), deletes the damaged ones and reports what is
// missing; the caller pushes the source through the normal push pipeline,
// which uploads only the blobs the store lacks; FinishRepair checks that
// the source was the artifact's content, stored the same way, checks
// every blob again and records artifact.repaired.v1.

// PlanRepair deep-checks the blobs of the live artifact ref names and
// deletes each one present with bytes that do not hash to its digest (a
// push would deduplicate against it and never upload it again). It
// refuses, deleting nothing, an artifact whose damage no copy of its
// content can mend (a manifest that verifies but does not parse or does
// not describe the artifact) and a blob the backend cannot read.
func (s *Service) PlanRepair(ctx context.Context, p Principal, ref string) (api.RepairPlan, error) {
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return api.RepairPlan{}, err
	}
	rep, err := s.deepCheck(ctx, a)
	if err != nil {
		return api.RepairPlan{}, err
	}
	var damaged, missing []content.Digest
	seen := map[content.Digest]bool{}
	for _, pr := range rep.Problems {
		d, kind, err := s.repairable(ctx, a, pr)
		if err != nil {
			return api.RepairPlan{}, err
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		if kind == blobDamaged {
			damaged = append(damaged, d)
		}
		missing = append(missing, d)
	}
	plan := api.RepairPlan{Problems: rep.Problems, Removed: []string{}, Missing: []string{}}
	if plan.Artifact, err = s.Wire(ctx, p, a); err != nil {
		return api.RepairPlan{}, err
	}
	for _, d := range damaged {
		if _, err := s.backend.Delete(ctx, d); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return api.RepairPlan{}, fmt.Errorf("repair %s: delete the damaged blob %s: %w", a.Ref(), d, err)
		}
		plan.Removed = append(plan.Removed, d.String())
	}
	for _, d := range missing {
		plan.Missing = append(plan.Missing, d.String())
	}
	return plan, nil
}

// deepCheck re-reads and verifies every blob of a.
func (s *Service) deepCheck(ctx context.Context, a eventlog.Artifact) (*api.VerifyReport, error) {
	rep, err := fsck.Artifact(ctx, fsck.Store{Backend: s.backend, Log: s.log}, a, fsck.Options{Deep: true})
	if err != nil {
		return nil, fmt.Errorf("repair %s: check its blobs: %w", a.Ref(), err)
	}
	return rep, nil
}

type blobState int

const (
	blobMissing blobState = iota
	blobDamaged
)

// repairable says what a problem the deep check found means for a repair:
// a blob missing, or a blob present with wrong bytes (read again here, so
// that only bytes that do not hash to their name are ever deleted). Any
// other problem is an error: another copy of the content cannot mend it.
func (s *Service) repairable(ctx context.Context, a eventlog.Artifact, pr api.Problem) (content.Digest, blobState, error) {
	cannot := func(why string) error {
		msg := fmt.Sprintf("cannot repair %s from a copy of its content: %s", a.Ref(), pr.Message)
		if why != "" {
			msg += " (" + why + ")"
		}
		if pr.Hint != "" {
			msg += "; " + pr.Hint
		}
		return Mark(errors.New(msg), api.ErrIntegrity)
	}
	d, err := content.ParseDigest(pr.Digest)
	switch {
	case pr.Kind == api.ProblemUnreadable:
		return d, 0, Mark(fmt.Errorf("repair %s: %s; %s", a.Ref(), pr.Message, pr.Hint), api.ErrUnavailable)
	case err != nil:
		return d, 0, cannot("")
	case pr.Kind == api.ProblemMissing:
		return d, blobMissing, nil
	case pr.Kind != api.ProblemDigestMismatch && pr.Kind != api.ProblemSizeMismatch:
		return d, 0, cannot("")
	}
	rc, err := s.backend.Get(ctx, d, nil)
	if err == nil {
		_, err = io.Copy(io.Discard, content.NewVerifyingReader(rc, d, -1))
		rc.Close()
	}
	switch {
	case errors.Is(err, content.ErrMismatch):
		return d, blobDamaged, nil
	case err == nil || errors.Is(err, storage.ErrNotFound):
		// No blob with wrong bytes: the manifest lists the wrong chunks.
		return d, 0, cannot("its blobs are intact")
	default:
		return d, 0, fmt.Errorf("repair %s: read blob %s again: %w", a.Ref(), d, err)
	}
}

// FinishRepair records the repair of the live artifact ref names once the
// source was pushed: it refuses a source whose content digest or manifest
// digest is not the artifact's (naming both), then deep-checks every blob
// again and refuses while any is still missing or damaged. Nothing is
// recorded when it refuses.
func (s *Service) FinishRepair(ctx context.Context, p Principal, ref string, req api.RepairRequest) (api.RepairResult, error) {
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return api.RepairResult{}, err
	}
	cd, err := content.ParseDigest(req.ContentDigest)
	if err != nil {
		return api.RepairResult{}, fmt.Errorf("repair %s: content_digest: %w", a.Ref(), err)
	}
	md, err := content.ParseDigest(req.ManifestDigest)
	if err != nil {
		return api.RepairResult{}, fmt.Errorf("repair %s: manifest_digest: %w", a.Ref(), err)
	}
	switch {
	case cd != a.ContentDigest:
		return api.RepairResult{}, fmt.Errorf("%w: %s is not the content of %s: its content digest is %s, %s has %s; nothing was recorded (what it uploaded is garbage that gc reclaims)",
			api.ErrConflict, req.Source, a.Ref(), cd, a.Ref(), a.ContentDigest)
	case md != a.ManifestDigest:
		return api.RepairResult{}, fmt.Errorf("%w: %s has the content of %s but was stored under manifest %s, not %s (it was chunked or laid out differently); nothing was recorded",
			api.ErrConflict, req.Source, a.Ref(), md, a.ManifestDigest)
	}
	rep, err := s.deepCheck(ctx, a)
	if err != nil {
		return api.RepairResult{}, err
	}
	if !rep.OK {
		first := rep.Problems[0]
		more := ""
		if n := len(rep.Problems) - 1; n > 0 {
			more = fmt.Sprintf(" (and %d more problems)", n)
		}
		return api.RepairResult{}, Mark(fmt.Errorf("%s is still damaged after the source was pushed: %s%s; nothing was recorded",
			a.Ref(), first.Message, more), api.ErrIntegrity)
	}
	ra, err := s.reg.RecordRepair(ctx, p.Actor, a.ID, registry.Repair{Source: req.Source, Missing: req.Missing, Damaged: req.Damaged,
		Blobs: rep.Blobs, Bytes: rep.Bytes})
	wa, err := s.changed(ctx, p, ra, err)
	if err != nil {
		return api.RepairResult{}, err
	}
	return api.RepairResult{Artifact: wa, Repaired: true, Source: req.Source, Missing: req.Missing, Damaged: req.Damaged,
		Blobs: rep.Blobs, Bytes: rep.Bytes}, nil
}
