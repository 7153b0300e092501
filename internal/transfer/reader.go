package transfer

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/artifact-store/artstore/internal/content"
)

// pushChunk is one chunk on its way through the push pipeline. Its bytes
// are a span of the ring, read by two stages at once, each of which holds
// them (see holds) until it is done:
//
//   - holdInOrder: the whole-content hasher, from the chunkReader's send
//     on its queue until it has added the bytes to the content digest;
//   - holdOwn: the store path. It belongs to whichever stage claims the
//     chunk's digest (claim: the whole-content hasher or a chunk hasher),
//     which passes it with the chunk to the checker, which passes it to an
//     uploader or releases it when the store already holds the chunk. The
//     chunkReader keeps it when it cannot hand the chunk to the hashers.
//
// The span returns to the ring when both holds are released.
type pushChunk struct {
	index  int
	off    int64  // where the chunk starts in the input
	data   []byte // a span of the ring; valid until both holds are released
	span   *span
	digest content.Digest // set by the stage that claimed the chunk
	holds  holds
	// claimed is set by the first of the whole-content hasher and the
	// chunk hashers to take on the chunk's digest; that one takes the
	// store path's hold with it.
	claimed atomic.Bool
}

// claim reports whether the caller is the first to claim the chunk's
// digest, and with it the store path's hold on its bytes.
func (c *pushChunk) claim() bool { return c.claimed.CompareAndSwap(false, true) }

// release drops h's hold on the chunk's bytes, and gives the span back to
// rg when it was the last.
func (c *pushChunk) release(rg *ring, h holder) {
	if c.holds.release(h) {
		rg.release(c.span)
	}
}

// chunkReader is the push pipeline's first stage: it reads the input into
// the ring, once, and cuts it into chunks in place (content-defined
// chunking). Each chunk goes first to the whole-content hasher, then to the
// chunk hashers (pushHasher). Its memory is the ring: it waits for space
// when the chunks in flight fill it.
type chunkReader struct {
	in       io.Reader
	rg       *ring
	splitter *content.Splitter
	prog     *progress
	// bounds, when set, gives the input's boundaries that chunks must not
	// cross (a tree's large files start and end at chunk boundaries).
	bounds boundaries
	// size counts the bytes cut into chunks; read it once run has returned.
	size int64
}

// boundaries is implemented by inputs with offsets that chunks must not
// cross. The chunkReader calls it from the goroutine that reads the input.
type boundaries interface {
	// cutAfter returns the first boundary after offset pos (pos only
	// grows from call to call), or 0 when none is known: a boundary the
	// input has not read up to yet lies past everything buffered.
	cutAfter(pos int64) int64
}

// run reads and cuts until the input ends, reading fails or ctx ends, and
// closes both queues when it returns.
func (r *chunkReader) run(ctx context.Context, wholeQ, hashQ chan<- *pushChunk) error {
	defer close(wholeQ)
	defer close(hashQ)
	for i := 0; ; i++ {
		if err := r.rg.fill(ctx, r.in, func(n int) { r.prog.add(int64(n), 0, 0) }); err != nil {
			return err
		}
		limit := 0
		if r.bounds != nil {
			if b := r.bounds.cutAfter(r.size); b > 0 {
				limit = int(b - r.size)
			}
		}
		data, sp, ok := r.rg.next(r.splitter, limit)
		if !ok {
			return nil
		}
		c := &pushChunk{index: i, off: r.size, data: data, span: sp}
		r.size += int64(len(data))
		c.holds.hold(holdInOrder, holdOwn)
		if err := send(ctx, wholeQ, c); err != nil {
			r.rg.release(sp) // no other stage has seen it
			return err
		}
		if err := send(ctx, hashQ, c); err != nil {
			// The chunk hashers never see it: the store path's hold stays
			// here unless the whole-content hasher claimed it.
			if c.claim() {
				c.release(r.rg, holdOwn)
			}
			return err
		}
	}
}
