package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/spool"
)

// chunkList writes a file manifest's chunk list in order, from chunks that
// reach the checker in any order.
type chunkList struct {
	enc     *content.ChunkListEncoder
	next    int                      // index of the next chunk to write
	pending map[int]content.ChunkRef // chunks ahead of next (at most those in flight)
}

func (l *chunkList) add(i int, c content.ChunkRef) error {
	if i >= content.MaxChunks {
		p := content.DefaultChunkerParams() // chunks average about Min + Avg
		return fmt.Errorf("%w: it has more than %d chunks, the most one manifest may list (about %.1f TiB at the default chunk size); split it into several artifacts",
			ErrTooLarge, content.MaxChunks, float64(content.MaxChunks)*float64(p.Min+p.Avg)/(1<<40))
	}
	if i != l.next {
		l.pending[i] = c
		return nil
	}
	for {
		if err := l.enc.Add(c); err != nil {
			return fmt.Errorf("write the manifest's chunk list: %w", err)
		}
		l.next++
		var ok bool
		if c, ok = l.pending[l.next]; !ok {
			return nil
		}
		delete(l.pending, l.next)
	}
}

// manifestParts are the pieces of a manifest's encoding, in order: byte
// slices (frames) and spools (lists).
type manifestParts []any

func (ps manifestParts) reader() io.Reader {
	rs := make([]io.Reader, 0, len(ps))
	for _, p := range ps {
		switch p := p.(type) {
		case []byte:
			rs = append(rs, bytes.NewReader(p))
		case *spool.Spool:
			rs = append(rs, p.Reader())
		}
	}
	return io.MultiReader(rs...)
}

func (ps manifestParts) size() int64 {
	var n int64
	for _, p := range ps {
		switch p := p.(type) {
		case []byte:
			n += int64(len(p))
		case *spool.Spool:
			n += p.Len()
		}
	}
	return n
}

// inFile reports whether a part was read back from a temporary file.
func (ps manifestParts) inFile() bool {
	for _, p := range ps {
		if sp, ok := p.(*spool.Spool); ok && sp.InFile() {
			return true
		}
	}
	return false
}

// putManifest stores the manifest made of parts and returns its digest.
// Bytes read back from a temporary file are verified by the store as it
// stores them; another process could have written to the file. With st, a
// manifest held in memory is staged there instead of stored.
func putManifest(ctx context.Context, store BlobStore, st blobStage, retry RetryPolicy, parts manifestParts) (content.Digest, error) {
	h := sha256.New()
	if _, err := io.Copy(h, parts.reader()); err != nil {
		return content.Digest{}, fmt.Errorf("push: read the spooled manifest: %w", err)
	}
	d := content.FromSHA256([sha256.Size]byte(h.Sum(nil)))
	size := parts.size()
	put := func(ctx context.Context, r io.Reader) error { return putDigested(ctx, store, d, size, r) }
	switch {
	case parts.inFile():
		put = func(ctx context.Context, r io.Reader) error { return store.Put(ctx, d, size, r) }
	case st != nil:
		put = func(ctx context.Context, r io.Reader) error { return st.putDigested(ctx, d, size, r) }
	}
	err := retry.do(ctx, func() error { return put(ctx, parts.reader()) })
	if err != nil {
		return content.Digest{}, fmt.Errorf("push: store manifest %s: %w", d.Short(), err)
	}
	return d, nil
}
