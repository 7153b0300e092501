package transfer

import (
	"context"
	"errors"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/content/sha256x2"
)

// pulledChunks lays chunks of data out in a fifo, as fetched, each held by
// holders; unverified ones get a verdict channel.
func pulledChunks(t *testing.T, data []byte, size int, holders ...holder) (*fifo, []*pulledChunk) {
	t.Helper()
	// Room for every chunk at once, each aligned (fifoAlign).
	fq := &fifo{buf: make([]byte, len(data)+(len(data)/size+1)*fifoAlign), freed: make(chan struct{}, 1)}
	var cs []*pulledChunk
	for i := 0; len(data) > 0; i++ {
		n := min(size, len(data))
		b, err := fq.alloc(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		copy(b, data[:n])
		c := &pulledChunk{index: i, ref: content.ChunkRef{Digest: content.FromBytes(data[:n]), Size: int64(n)}, buf: b, verdict: make(chan error, 1)}
		c.holds.hold(holders...)
		cs = append(cs, c)
		data = data[n:]
	}
	return fq, cs
}

// TestPullHasher: the in-order hasher digests the whole content, gives a
// verdict on every chunk that has a verdict channel (ErrMismatch for a
// corrupt one) and releases its holds.
func TestPullHasher(t *testing.T) {
	data := randBytes(39, 10<<10)
	fq, cs := pulledChunks(t, data, 1000, holdInOrder)
	cs[3].buf[7] ^= 1
	cs[5].verdict = nil // verified by its fetcher
	h := &pullHasher{fq: fq, pair: sha256x2.New()}
	hashQ := make(chan *pulledChunk, len(cs))
	for _, c := range cs {
		hashQ <- c
	}
	close(hashQ)
	h.run(hashQ)
	for _, c := range cs {
		if c.verdict == nil {
			continue
		}
		err := <-c.verdict
		if (c.index == 3) != errors.Is(err, content.ErrMismatch) {
			t.Errorf("chunk %d: verdict %v", c.index, err)
		}
	}
	data[3*1000+7] ^= 1
	if got := content.FromSHA256(h.pair.Sum()); got != content.FromBytes(data) {
		t.Error("whole digest differs from the content's")
	}
	if len(fq.q) != 0 {
		t.Errorf("%d regions still reserved", len(fq.q))
	}
}

// TestFeed: the feeder hands fetched chunks in order to the hasher and the
// writer, and stops after a failed fetch, which only the writer sees.
func TestFeed(t *testing.T) {
	order := make(chan chan fetched, 3)
	boom := errors.New("fetch failed")
	for _, f := range []fetched{{buf: []byte("a"), verified: true}, {buf: []byte("b")}, {err: boom}} {
		out := make(chan fetched, 1)
		out <- f
		order <- out
	}
	close(order)
	hashQ, writeQ := make(chan *pulledChunk, 3), make(chan *pulledChunk, 3)
	feed(context.Background(), order, (&pullFetcher{}).await, 7, hashQ, writeQ)
	var hashed, written []*pulledChunk
	for c := range hashQ {
		hashed = append(hashed, c)
	}
	for c := range writeQ {
		written = append(written, c)
	}
	if len(hashed) != 2 || len(written) != 3 || written[2].err != boom {
		t.Fatalf("hashed %d, written %d chunks; want 2 and 3, the last with the fetch error", len(hashed), len(written))
	}
	if written[0].index != 7 || written[1].index != 8 || written[0].verdict != nil || written[1].verdict == nil {
		t.Fatal("chunks not numbered from first, or verdict channels not on the unverified chunk only")
	}
}
