package transfer

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/content/sha256x2"
)

// pairAhead is how close ahead of the whole-content hasher a chunk hasher
// leaves chunks to it (when sha256x2 is accelerated). Measured on the
// 2-core VM, 1 GiB, four alternated runs each: with 2, warm push 1.05 s
// and cold 1.84 s on average; with chunk hashers claiming whatever they
// reach first, 1.20 s and 2.01 s (user CPU 0.11-0.16 s higher: fewer
// chunks paired). 1, 4 and 8 measured alike within the noise.
const pairAhead = 2

// pushHasher is the push pipeline's hashing stage: one whole-content
// hasher (runWhole), which reads every chunk in stream order, and
// HashWorkers chunk hashers (runChunks), which digest chunks in any order.
//
// Every byte is hashed twice: into the whole content's digest and into its
// chunk's. Where the processor can run two SHA-256 computations
// interleaved at little more than the cost of one (sha256x2.Accelerated),
// the whole hasher also digests each chunk it reaches before a chunk hasher
// has claimed it; the chunk hashers run ahead on whatever CPU is left, and
// the whole hasher only adds the chunks they took to the whole digest. A
// chunk hasher leaves a chunk at most pairAhead chunks ahead of the whole
// hasher to it, as pairing is the cheaper way to digest it. Otherwise the
// chunk hashers digest every chunk. The stage that digests a chunk passes
// it on to the checker with the store path's hold.
type pushHasher struct {
	rg      *ring
	pair    *sha256x2.Pair // the whole content's digest, written by runWhole only
	both    bool           // sha256x2.Accelerated
	wholeAt atomic.Int64   // the chunk the whole hasher is at
	// cuts, for a stream-layout tree, cuts the whole digest at each file's
	// end: the "whole content" digests are the files'.
	cuts *fileCuts
}

// write adds the chunk c to the whole digest with write (and to its own
// digest when write pairs them), cut at the files' ends for a tree.
func (h *pushHasher) write(c *pushChunk, write func([]byte)) error {
	if h.cuts == nil {
		write(c.data)
		return nil
	}
	return h.cuts.hash(c.off, c.data, write, h.pair.CutWhole)
}

// finishCuts cuts the whole digest at the files' ends at the end of the
// input (size bytes), which no chunk reached past; call it once runWhole
// has returned.
func (h *pushHasher) finishCuts(size int64) error {
	if h.cuts == nil {
		return nil
	}
	if err := h.cuts.hash(size, nil, func([]byte) {}, h.pair.CutWhole); err != nil {
		return err
	}
	if end, ok := h.cuts.first(); ok {
		return fmt.Errorf("internal error: a file ends at %d, past the %d bytes read", end, size)
	}
	return nil
}

func newPushHasher(rg *ring) *pushHasher {
	return &pushHasher{rg: rg, pair: sha256x2.New(), both: sha256x2.Accelerated()}
}

// sum returns the whole content's digest; call it once runWhole has
// returned.
func (h *pushHasher) sum() content.Digest { return content.FromSHA256(h.pair.Sum()) }

// runWhole adds every chunk from wholeQ, in order, to the whole content's
// digest, and releases its hold on each.
func (h *pushHasher) runWhole(ctx context.Context, wholeQ <-chan *pushChunk, checkQ chan<- *pushChunk) error {
	var failed error
	for c := range wholeQ {
		h.wholeAt.Store(int64(c.index))
		switch {
		case ctx.Err() != nil || failed != nil:
			if c.claim() {
				c.release(h.rg, holdOwn)
			}
		case h.both && c.claim():
			failed = h.write(c, h.pair.Write)
			c.digest = content.FromSHA256(h.pair.Cut())
			if failed != nil || send(ctx, checkQ, c) != nil {
				c.release(h.rg, holdOwn)
			}
		default:
			failed = h.write(c, h.pair.WriteWhole)
		}
		c.release(h.rg, holdInOrder)
	}
	return failed
}

// runChunks digests the chunks from hashQ that it claims and passes them
// on to checkQ. A chunk it does not claim it does not touch: the whole
// hasher digests it.
func (h *pushHasher) runChunks(ctx context.Context, hashQ <-chan *pushChunk, checkQ chan<- *pushChunk) error {
	for c := range hashQ {
		if h.both && int64(c.index)-h.wholeAt.Load() <= pairAhead {
			continue // the whole hasher will pair it
		}
		if !c.claim() {
			continue // the whole hasher paired it
		}
		if ctx.Err() != nil {
			c.release(h.rg, holdOwn)
			continue
		}
		c.digest = content.FromBytes(c.data)
		if err := send(ctx, checkQ, c); err != nil {
			c.release(h.rg, holdOwn)
		}
	}
	return nil
}
