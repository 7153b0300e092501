package app

import (
	"context"
	"fmt"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// Files calls fn with each entry of the directory artifact ref names, in
// path order, without reading any file's bytes. The entries come from the
// tree manifest through transfer.EachTreeEntry (the walk a tree pull
// makes, so a change of the tree format reaches this listing too), read as
// fn asks for them: memory does not grow with the number of entries. The
// manifest is verified against its digest and against what the artifact
// was registered as before fn is first called, so an error that comes
// before any entry means nothing was listed. A file artifact is refused
// (api.ErrInvalid); a manifest missing or damaged is an integrity failure.
func (s *Service) Files(ctx context.Context, p Principal, ref string, fn func(api.TreeEntry) error) error {
	a, err := s.Live(ctx, p, ref)
	if err != nil {
		return err
	}
	if KindOf(a.MediaType) != api.KindTree {
		return fmt.Errorf("%w: %s is a file artifact; only a directory artifact has entries to list", api.ErrInvalid, a.Ref())
	}
	check := func(m content.Manifest) error {
		if m.Kind != content.KindTree || m.Digest != a.ContentDigest || m.Size != a.Size {
			return fmt.Errorf("%w: manifest %s describes %s content %s of %d bytes, but %s was registered as tree content %s of %d bytes",
				content.ErrMismatch, a.ManifestDigest.Short(), m.Kind, m.Digest, m.Size, a.Ref(), a.ContentDigest, a.Size)
		}
		return nil
	}
	err = transfer.EachTreeEntry(ctx, a.ManifestDigest, transfer.FromBackend(s.backend),
		transfer.PullOptions{Check: check}, func(e content.TreeEntry) error { return fn(TreeEntry(e)) })
	if err != nil {
		return fmt.Errorf("files of %s: %w", a.Ref(), err)
	}
	return nil
}

// TreeEntry converts a tree manifest entry to the wire type.
func TreeEntry(e content.TreeEntry) api.TreeEntry {
	out := api.TreeEntry{Path: e.Path, Type: string(e.Type), Mode: fmt.Sprintf("%04o", e.Mode), Size: e.Size, Target: e.Target}
	if !e.Digest.IsZero() {
		out.Digest = e.Digest.String()
	}
	return out
}
