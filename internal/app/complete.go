package app

import (
	"context"
	"strings"

	"github.com/artifact-store/artstore/internal/registry"
)

// Complete returns the references that complete a partly typed one, for
// shell completion: for "name:" and "name:x", the versions (newest first)
// and tags of name that start with x; otherwise the live names that start
// with partial, cut after the next '/' ("reports/" for every name under
// it). A principal limited to a prefix sees only names under it, and the
// directories on the way to it; a partial reference to another name is
// refused (api.ErrForbidden). At most limit (1 to
// registry.MaxCompletions) candidates; a partial that cannot start a
// reference has none.
func (s *Service) Complete(ctx context.Context, p Principal, partial string, limit int) ([]string, error) {
	if limit < 1 || limit > registry.MaxCompletions {
		limit = registry.MaxCompletions
	}
	name, ident, hasIdent := strings.Cut(partial, ":")
	// Text no reference can start with (NUL, invalid UTF-8, capitals in a
	// name) has no candidates, and never reaches the database.
	if len(name) > registry.MaxNameLen || !onlyBytes(name, "abcdefghijklmnopqrstuvwxyz0123456789._-/") ||
		!onlyBytes(ident, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") {
		return nil, nil
	}
	// A principal limited to a prefix asks only about names under it, or
	// on the way to it; another name is refused as a listing of it is.
	if p.Prefix != "" && !hasIdent && !strings.HasPrefix(partial, p.Prefix) && !strings.HasPrefix(p.Prefix, partial) {
		return nil, p.Allow(partial)
	}
	if !hasIdent {
		names, err := s.reg.Names(ctx, partial, limit)
		if err != nil {
			return nil, err
		}
		out := names[:0]
		for _, n := range names {
			if p.Allow(n) == nil || (strings.HasSuffix(n, "/") && strings.HasPrefix(p.Prefix, n)) {
				out = append(out, n)
			}
		}
		return out, nil
	}
	if err := p.Allow(name); err != nil {
		return nil, err
	}
	if registry.ValidateName(name) != nil {
		return nil, nil
	}
	versions, err := s.reg.Versions(ctx, name, ident, limit)
	if err != nil {
		return nil, err
	}
	tags, err := s.reg.Tags(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(versions)+len(tags))
	for _, v := range versions {
		out = append(out, name+":"+v)
	}
	for _, t := range tags {
		if strings.HasPrefix(t.Tag, ident) && len(out) < limit {
			out = append(out, name+":"+t.Tag)
		}
	}
	return out, nil
}

// onlyBytes reports whether every byte of s is one of allowed.
func onlyBytes(s, allowed string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(allowed, s[i]) < 0 {
			return false
		}
	}
	return true
}
