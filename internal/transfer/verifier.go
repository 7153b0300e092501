package transfer

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/content/sha256x2"
)

// pulledChunk is a fetched chunk on its way to the writer, in chunk
// order. Its bytes are a region of the fifo, held (see holds) by:
//
//   - holdInOrder: the in-order hasher (whole pulls only), from the
//     feeder's send until it has added the bytes to the content digest
//     (and, for a chunk its fetcher did not verify, sent the verdict);
//   - holdOwn: the writer, from the feeder's send until it has written
//     the bytes.
//
// Both take chunks in order, so the region returns to the fifo, the
// oldest first, when both holds are released.
type pulledChunk struct {
	index int
	off   int64 // where it starts in the content
	ref   content.ChunkRef
	buf   []byte
	err   error // the fetch failed: the writer reports it
	holds holds
	// verdict, for a chunk its fetcher did not verify, receives the
	// hasher's verdict on it.
	verdict chan error
}

// release drops h's hold and gives the region back when it was the last.
func (c *pulledChunk) release(fq *fifo, h holder) {
	if c.holds.release(h) {
		fq.release()
	}
}

// feed takes the fetched chunks in chunk order (order), each received with
// await (false when ctx ended), and hands each to the in-order hasher
// (hashQ, nil for a range) and to the writer, which run side by side. It
// stops after a failed fetch, which the writer reports. It closes writeQ
// and hashQ when it returns.
func feed(ctx context.Context, order <-chan chan fetched, await func(context.Context, chan fetched) (fetched, bool), first int, hashQ, writeQ chan<- *pulledChunk) {
	defer close(writeQ)
	if hashQ != nil {
		defer close(hashQ)
	}
	i := first
	for out := range order {
		f, ok := await(ctx, out)
		if !ok {
			return
		}
		c := &pulledChunk{index: i, off: f.off, ref: f.ref, buf: f.buf, err: f.err}
		i++
		if f.err == nil && !f.verified {
			c.verdict = make(chan error, 1)
		}
		if hashQ != nil {
			c.holds.hold(holdInOrder, holdOwn)
		} else {
			c.holds.hold(holdOwn)
		}
		if hashQ != nil && f.err == nil {
			if send(ctx, hashQ, c) != nil {
				return
			}
		}
		if send(ctx, writeQ, c) != nil || f.err != nil {
			return
		}
	}
}

// pullHasher is the pull pipeline's in-order hasher (whole pulls only): it
// digests the whole content, and verifies the chunks it pairs.
//
// Every byte of a whole pull is hashed twice: for its chunk's digest and
// for the whole content's. As in Push, where the processor pairs the two
// (sha256x2.Accelerated), the in-order hasher verifies the chunks close to
// it in one pass with the whole digest; fetchers verify the chunks further
// ahead themselves, with CPU that would otherwise idle. A range pull has no
// whole digest: its fetchers verify every chunk.
type pullHasher struct {
	fq     *fifo
	pair   *sha256x2.Pair
	hashAt atomic.Int64 // the chunk the hasher is at
}

// run hashes the chunks from hashQ in order, sends the verdict on each
// chunk that has a verdict channel, and releases its hold on each.
func (h *pullHasher) run(hashQ <-chan *pulledChunk) {
	for c := range hashQ {
		h.hashAt.Store(int64(c.index))
		if c.verdict == nil {
			h.pair.WriteWhole(c.buf)
		} else {
			h.pair.Write(c.buf)
			var err error
			if got := content.FromSHA256(h.pair.Cut()); got != c.ref.Digest {
				err = fmt.Errorf("chunk %d (%s): %w", c.index, c.ref.Digest.Short(),
					&content.MismatchError{Expected: c.ref.Digest, Actual: got, ExpectedSize: c.ref.Size, ActualSize: int64(len(c.buf))})
			}
			c.verdict <- err
		}
		c.release(h.fq, holdInOrder)
	}
}
