package transfer

import (
	"context"
	"fmt"
	"io"

	"github.com/artifact-store/artstore/internal/content"
)

// CopyResult counts what CopyMissing copied.
type CopyResult struct {
	Blobs int
	Bytes int64
}

// copyBatch is how many chunk digests CopyMissing asks dst about at once.
const copyBatch = 64

// CopyMissing makes dst hold every blob of the artifact whose manifest is
// md, copying from src each one dst lacks: the chunks and file manifests
// the manifest lists (walked with the same manifest readers a pull uses,
// so a change of the manifest format reaches this copy too), and the
// manifest itself. Every manifest read from src is verified against its
// digest and validated; every blob is verified by dst's Put, so nothing
// wrong is stored. A manifest is stored only after the blobs it lists, as
// a push stores them. Memory does not grow with the number of blobs.
// opts.Retry applies to the reads from src.
func CopyMissing(ctx context.Context, md content.Digest, src, dst BlobStore, opts PullOptions) (CopyResult, error) {
	opts = opts.withDefaults()
	c := &copier{src: src, dst: dst, retry: opts.Retry}
	if err := c.manifest(ctx, md, true); err != nil {
		return c.res, fmt.Errorf("copy %s: %w", md.Short(), err)
	}
	return c.res, nil
}

type copier struct {
	src, dst BlobStore
	retry    RetryPolicy
	res      CopyResult
	batch    []content.ChunkRef
}

// manifest copies what manifest d lists, then d itself. top is false for
// a tree's file manifests, which list chunks only.
func (c *copier) manifest(ctx context.Context, d content.Digest, top bool) error {
	mf, err := openManifest(ctx, c.src, d, c.retry)
	if err != nil {
		return err
	}
	defer mf.close()
	if err := mf.eachChunk(func(_ int, ch content.ChunkRef) error { return c.chunk(ctx, ch) }); err != nil {
		return err
	}
	if err := c.flush(ctx); err != nil {
		return err
	}
	if top && mf.m.Kind == content.KindTree {
		err := mf.eachEntry(func(_ int, e content.TreeEntry) error {
			if e.Type != content.EntryFile || e.Manifest.IsZero() {
				return nil
			}
			if err := c.manifest(ctx, e.Manifest, false); err != nil {
				return fmt.Errorf("%s: %w", e.Path, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	missing, err := c.dst.Missing(ctx, []content.Digest{d})
	if err != nil || len(missing) == 0 {
		return err
	}
	if err := c.dst.Put(ctx, d, mf.raw.Len(), mf.raw.Reader()); err != nil {
		return fmt.Errorf("store manifest %s: %w", d.Short(), err)
	}
	c.res.Blobs++
	c.res.Bytes += mf.raw.Len()
	return nil
}

// chunk queues ch, copying the queue once it is full.
func (c *copier) chunk(ctx context.Context, ch content.ChunkRef) error {
	c.batch = append(c.batch, ch)
	if len(c.batch) < copyBatch {
		return nil
	}
	return c.flush(ctx)
}

// flush copies the queued chunks dst lacks.
func (c *copier) flush(ctx context.Context) error {
	if len(c.batch) == 0 {
		return nil
	}
	ds := make([]content.Digest, 0, len(c.batch))
	size := map[content.Digest]int64{}
	for _, ch := range c.batch {
		if _, dup := size[ch.Digest]; !dup {
			ds = append(ds, ch.Digest)
			size[ch.Digest] = ch.Size
		}
	}
	c.batch = c.batch[:0]
	missing, err := c.dst.Missing(ctx, ds)
	if err != nil {
		return err
	}
	for _, d := range missing {
		err := c.retry.do(ctx, func() error {
			rc, err := c.src.Get(ctx, d, nil)
			if err != nil {
				return err
			}
			defer rc.Close()
			return c.dst.Put(ctx, d, size[d], io.LimitReader(rc, size[d]+1))
		})
		if err != nil {
			return fmt.Errorf("copy chunk %s: %w", d.Short(), err)
		}
		c.res.Blobs++
		c.res.Bytes += size[d]
	}
	return nil
}
