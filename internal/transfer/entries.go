package transfer

import (
	"context"
	"fmt"

	"github.com/artifact-store/artstore/internal/content"
)

// EachTreeEntry fetches the tree manifest md, verifying it against md and
// validating it as a pull does (opts.Retry and opts.Check apply; the other
// options do not), and calls fn with each of its entries in path order. The
// entries are read from the manifest's spool as fn asks for them, the walk
// a tree pull makes, so memory does not grow with the number of entries.
// It stops at fn's first error, which it returns; a file manifest fails
// with ErrWrongKind before fn is called.
func EachTreeEntry(ctx context.Context, md content.Digest, store BlobStore, opts PullOptions, fn func(content.TreeEntry) error) error {
	opts = opts.withDefaults()
	mf, err := openManifest(ctx, store, md, opts.Retry)
	if err != nil {
		return err
	}
	defer mf.close()
	if opts.Check != nil {
		if err := opts.Check(mf.m); err != nil {
			return err
		}
	}
	if mf.m.Kind != content.KindTree {
		return fmt.Errorf("list %s: %w: it is a %s, not a directory tree", md.Short(), ErrWrongKind, mf.m.Kind)
	}
	return mf.eachEntry(func(_ int, e content.TreeEntry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(e)
	})
}
