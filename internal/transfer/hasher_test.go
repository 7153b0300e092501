package transfer

import (
	"context"
	"sync"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// TestPushHasher: with pairing on and off, every chunk reaches the checker
// exactly once with its digest, the whole digest is the content's, and
// once the checker releases its holds the ring is empty.
func TestPushHasher(t *testing.T) {
	data := randBytes(33, 200<<10)
	for _, both := range []bool{false, true} {
		rg, chunks := cutAll(t, data, smallParams())
		h := newPushHasher(rg)
		h.both = both // sha256x2.Pair is correct either way; this only picks who digests
		wholeQ, hashQ := make(chan *pushChunk, len(chunks)), make(chan *pushChunk, len(chunks))
		checkQ := make(chan *pushChunk, len(chunks))
		for _, c := range chunks {
			wholeQ <- c
			hashQ <- c
		}
		close(wholeQ)
		close(hashQ)
		var wg sync.WaitGroup
		wg.Go(func() { _ = h.runWhole(context.Background(), wholeQ, checkQ) })
		for range 3 {
			wg.Go(func() { _ = h.runChunks(context.Background(), hashQ, checkQ) })
		}
		wg.Wait()
		close(checkQ)
		seen := map[int]bool{}
		for c := range checkQ {
			if seen[c.index] {
				t.Fatalf("both=%v: chunk %d reached the checker twice", both, c.index)
			}
			seen[c.index] = true
			if c.digest != content.FromBytes(c.data) {
				t.Fatalf("both=%v: chunk %d has a wrong digest", both, c.index)
			}
			c.release(rg, holdOwn)
		}
		if len(seen) != len(chunks) {
			t.Fatalf("both=%v: %d of %d chunks reached the checker", both, len(seen), len(chunks))
		}
		if got := h.sum(); got != content.FromBytes(data) {
			t.Fatalf("both=%v: whole digest %s, want %s", both, got, content.FromBytes(data))
		}
		if _, busy := rg.oldest(); busy {
			t.Fatalf("both=%v: spans still reserved after every hold was released", both)
		}
	}
}

// TestPushHasherCancelled: a cancelled hasher digests nothing more and
// releases every hold it has, so nothing stays reserved.
func TestPushHasherCancelled(t *testing.T) {
	rg, chunks := cutAll(t, randBytes(34, 60<<10), smallParams())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h := newPushHasher(rg)
	wholeQ, hashQ := make(chan *pushChunk, len(chunks)), make(chan *pushChunk, len(chunks))
	for _, c := range chunks {
		wholeQ <- c
		hashQ <- c
	}
	close(wholeQ)
	close(hashQ)
	checkQ := make(chan *pushChunk) // nobody reads: a send would block
	_ = h.runChunks(ctx, hashQ, checkQ)
	_ = h.runWhole(ctx, wholeQ, checkQ)
	if _, busy := rg.oldest(); busy {
		t.Fatal("spans still reserved after a cancelled hasher")
	}
}
