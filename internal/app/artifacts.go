package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/pkg/api"
)

// Register records a new artifact version whose manifest and blobs are
// already stored (the end of a push). The registry checks the manifest
// and every blob it names before anything is appended.
func (s *Service) Register(ctx context.Context, p Principal, req api.RegisterRequest) (api.Artifact, error) {
	if err := p.Allow(req.Name); err != nil {
		return api.Artifact{}, err
	}
	rr := registry.RegisterRequest{
		Name: req.Name, Version: req.Version, Size: req.Size, MediaType: req.MediaType, Labels: req.Labels,
		Tags: req.Tags, NoLatest: req.NoLatest, AllowInput: p.Allow, Producer: ProducerToInternal(req.Producer),
	}
	var err error
	if rr.ContentDigest, err = parseDigestField("content_digest", req.ContentDigest); err != nil {
		return api.Artifact{}, err
	}
	if rr.ManifestDigest, err = parseDigestField("manifest_digest", req.ManifestDigest); err != nil {
		return api.Artifact{}, err
	}
	if rr.Inputs, err = Inputs(req.Inputs); err != nil {
		return api.Artifact{}, err
	}
	a, err := s.reg.Register(ctx, p.Actor, rr)
	return s.changed(ctx, p, a, err)
}

func parseDigestField(field, v string) (content.Digest, error) {
	d, err := content.ParseDigest(v)
	if err != nil {
		return d, fmt.Errorf("%s: %w", field, err)
	}
	return d, nil
}

// Get returns the artifact ref names (see Resolve).
func (s *Service) Get(ctx context.Context, p Principal, ref string) (api.Artifact, error) {
	a, err := s.Resolve(ctx, p, ref)
	if err != nil {
		return api.Artifact{}, err
	}
	w, err := s.view(p).wire(ctx, a)
	if err != nil {
		return api.Artifact{}, err
	}
	if w.Imported, err = s.importOrigin(ctx, a); err != nil {
		return api.Artifact{}, err
	}
	return w, nil
}

// isGlob reports whether a name pattern is a glob rather than a prefix.
func isGlob(p string) bool { return strings.ContainsAny(p, "*?") }

// List returns a page of artifacts (see api.Query). A Pattern with '*' or
// '?' is a glob ('*' also matches '/'); otherwise it matches names starting
// with it. A principal limited to a prefix lists only under it: its
// pattern must start with the prefix (before any wildcard), and no pattern
// means the prefix.
func (s *Service) List(ctx context.Context, p Principal, q api.Query) (api.Page, error) {
	opts := registry.ListOptions{CreatedBefore: q.Before, IncludeDeleted: q.IncludeDeleted, Newest: q.Newest, Cursor: q.Cursor, Limit: q.Limit}
	if !q.Since.IsZero() {
		opts.CreatedAfter = q.Since.Add(-time.Nanosecond) // Since is inclusive
	}
	pattern := q.Pattern
	if p.Prefix != "" {
		literal := pattern
		if i := strings.IndexAny(pattern, "*?"); i >= 0 {
			literal = pattern[:i]
		}
		switch {
		case pattern == "":
			pattern = p.Prefix
		case !strings.HasPrefix(literal, p.Prefix):
			return api.Page{}, p.Allow(literal)
		}
	}
	if isGlob(pattern) {
		opts.NameGlob = pattern
	} else {
		opts.NamePrefix = pattern
	}
	var err error
	if opts.Selectors, err = registry.ParseSelectorList(q.Selectors); err != nil {
		return api.Page{}, fmt.Errorf("list: %w", err)
	}
	res, err := s.reg.List(ctx, opts)
	if err != nil {
		return api.Page{}, err
	}
	v := s.view(p)
	page := api.Page{Artifacts: make([]api.Artifact, 0, len(res.Artifacts)), NextCursor: res.Next}
	for _, a := range res.Artifacts {
		if p.Allow(a.Name) != nil {
			continue
		}
		wa, err := v.wire(ctx, a)
		if err != nil {
			return api.Page{}, err
		}
		page.Artifacts = append(page.Artifacts, wa)
	}
	return page, nil
}

// Tag points tag at the artifact ref names, moving it from another version
// of the name if needed (never a protected tag).
func (s *Service) Tag(ctx context.Context, p Principal, ref, tag string) (api.Artifact, error) {
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return api.Artifact{}, err
	}
	a, err = s.reg.Tag(ctx, p.Actor, a.ID, tag)
	return s.changed(ctx, p, a, err)
}

// Label sets and removes labels of the artifact ref names.
func (s *Service) Label(ctx context.Context, p Principal, ref string, set map[string]string, remove []string) (api.Artifact, error) {
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return api.Artifact{}, err
	}
	a, err = s.reg.Label(ctx, p.Actor, a.ID, set, remove)
	return s.changed(ctx, p, a, err)
}

// Delete tombstones the artifact ref names; garbage collection reclaims its
// bytes. A legal hold or immutability refuses it.
func (s *Service) Delete(ctx context.Context, p Principal, ref, reason string) (api.Artifact, error) {
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return api.Artifact{}, err
	}
	a, err = s.reg.Delete(ctx, p.Actor, a.ID, reason)
	return s.changed(ctx, p, a, err)
}

// SetRetention changes the artifact's retention (see api.RetentionRequest).
// Immutability can be extended, never shortened.
func (s *Service) SetRetention(ctx context.Context, p Principal, ref string, req api.RetentionRequest) (api.Artifact, error) {
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return api.Artifact{}, err
	}
	ret, err := mergeRetention(a.Retention, a.Created, req)
	if err != nil {
		return api.Artifact{}, fmt.Errorf("set retention of %s: %w", a.Ref(), err)
	}
	// By ID: the same artifact even if a tag moved meanwhile.
	a, err = s.reg.SetRetention(ctx, p.Actor, a.ID, ret)
	return s.changed(ctx, p, a, err)
}

// mergeRetention merges a retention request into the current settings.
// ExpireAfter counts from the artifact's creation; a pointer to the zero
// time clears that setting.
func mergeRetention(cur eventlog.Retention, created time.Time, req api.RetentionRequest) (eventlog.Retention, error) {
	out := cur
	if req.ExpireAfter != nil && req.ExpiresAt != nil {
		return out, fmt.Errorf("%w: give an expiry duration or an expiry time, not both", api.ErrInvalid)
	}
	if req.ExpireAfter != nil {
		if *req.ExpireAfter <= 0 {
			return out, fmt.Errorf("%w: expiry duration %s must be positive", api.ErrInvalid, *req.ExpireAfter)
		}
		out.ExpiresAt = created.Add(*req.ExpireAfter).UTC()
	}
	if req.ExpiresAt != nil {
		out.ExpiresAt = req.ExpiresAt.UTC()
	}
	if req.ImmutableUntil != nil {
		out.ImmutableUntil = req.ImmutableUntil.UTC()
	}
	return out, nil
}

// Hold places the legal hold named hold ("": api.HoldName) on the artifact.
func (s *Service) Hold(ctx context.Context, p Principal, ref, hold, reason string) (api.Artifact, error) {
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return api.Artifact{}, err
	}
	if hold == "" {
		hold = api.HoldName
	}
	a, err = s.reg.Hold(ctx, p.Actor, a.ID, hold, reason)
	return s.changed(ctx, p, a, err)
}

// Release releases the legal hold named hold ("": api.HoldName).
func (s *Service) Release(ctx context.Context, p Principal, ref, hold, reason string) (api.Artifact, error) {
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return api.Artifact{}, err
	}
	if hold == "" {
		hold = api.HoldName
	}
	a, err = s.reg.Release(ctx, p.Actor, a.ID, hold, reason)
	return s.changed(ctx, p, a, err)
}

// Lineage walks the provenance graph from ref: Up to its inputs (the
// default), Down to what was made from it, to opts.Depth levels (0: all).
// Artifacts p may not see are left out of the graph.
func (s *Service) Lineage(ctx context.Context, p Principal, ref string, opts api.LineageOptions) (api.LineageGraph, error) {
	dir := eventlog.Parents
	switch opts.Direction {
	case api.Up, "":
		opts.Direction = api.Up
	case api.Down:
		dir = eventlog.Children
	default:
		return api.LineageGraph{}, fmt.Errorf("lineage: %w: direction %q is neither %q nor %q", api.ErrInvalid, opts.Direction, api.Up, api.Down)
	}
	if opts.Depth < 0 {
		return api.LineageGraph{}, fmt.Errorf("lineage: %w: negative depth %d", api.ErrInvalid, opts.Depth)
	}
	a, err := s.Resolve(ctx, p, ref)
	if err != nil {
		return api.LineageGraph{}, err
	}
	lg, err := s.reg.LineageVisible(ctx, a.ID, dir, opts.Depth, func(a eventlog.Artifact) bool { return p.Allow(a.Name) == nil })
	if err != nil {
		return api.LineageGraph{}, err
	}
	v := s.view(p)
	return Lineage(lg, opts.Direction, func(a eventlog.Artifact) (api.Artifact, error) { return v.wire(ctx, a) })
}
