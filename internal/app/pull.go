package app

import (
	"context"
	"fmt"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/api"
)

// PullPlan is what a pull reads: the live artifact, and the range of it
// (nil: all of it).
type PullPlan struct {
	Artifact eventlog.Artifact
	Range    *content.Range
}

// Bytes is how many bytes the plan reads.
func (pp PullPlan) Bytes() int64 {
	if pp.Range != nil {
		return pp.Range.Length()
	}
	return pp.Artifact.Size
}

// RangeString is the plan's range in canonical form, "" for all.
func (pp PullPlan) RangeString() string {
	if pp.Range != nil {
		return pp.Range.String()
	}
	return ""
}

// PlanPull resolves a pull of ref before anything is read or written.
// kind is what the caller can write: api.KindFile (a stream or a file
// path), api.KindTree (a directory) or "" (either); rng is a range in the
// CLI's syntax ("a-b", "a-", "-n"; "" for all), which applies to a file
// only.
func (s *Service) PlanPull(ctx context.Context, p Principal, ref, kind, rng string) (PullPlan, error) {
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return PullPlan{}, err
	}
	tree := KindOf(a.MediaType) == api.KindTree
	switch kind {
	case "":
	case api.KindFile:
		if tree {
			return PullPlan{}, fmt.Errorf("%w: %s is a directory artifact; pull it to a directory path (-o DIR)", api.ErrInvalid, a.Ref())
		}
	case api.KindTree:
		if !tree {
			return PullPlan{}, fmt.Errorf("%w: %s is a file artifact and the destination is a directory; give the path of the file to write", api.ErrInvalid, a.Ref())
		}
	default:
		return PullPlan{}, fmt.Errorf("%w: kind %q is neither %s nor %s", api.ErrInvalid, kind, api.KindFile, api.KindTree)
	}
	plan := PullPlan{Artifact: a}
	if rng != "" {
		if tree {
			return PullPlan{}, fmt.Errorf("%w: %s is a directory artifact; a range applies to a file", api.ErrInvalid, a.Ref())
		}
		r, err := content.ParseRange(rng, a.Size)
		if err != nil {
			return PullPlan{}, fmt.Errorf("range: %w", err)
		}
		plan.Range = &r
	}
	return plan, nil
}

// RecordRetrieval appends the retrieval record of n bytes of a read by p
// (rng: the canonical range, "" for all).
func (s *Service) RecordRetrieval(ctx context.Context, p Principal, a eventlog.Artifact, n int64, rng string) error {
	err := s.reg.RecordRetrieval(ctx, p.Actor, a.ID, registry.Retrieval{Bytes: n, Range: rng, Client: p.Client})
	if err != nil {
		return fmt.Errorf("append the retrieval record of %s: %w", a.Ref(), err)
	}
	s.notify()
	return nil
}
