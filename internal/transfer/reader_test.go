package transfer

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// cutAll runs a chunkReader over data with a ring big enough to hold all of
// it, and returns the chunks in order, both holds still held.
func cutAll(t *testing.T, data []byte, p content.ChunkerParams) (*ring, []*pushChunk) {
	t.Helper()
	rg, err := newRing(len(data)+3*int(p.Max), int(p.Max))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rg.close)
	sp, err := content.NewSplitter(p)
	if err != nil {
		t.Fatal(err)
	}
	rd := &chunkReader{in: bytes.NewReader(data), rg: rg, splitter: sp}
	wholeQ := make(chan *pushChunk, len(data)/int(p.Min)+2)
	hashQ := make(chan *pushChunk, cap(wholeQ))
	if err := rd.run(context.Background(), wholeQ, hashQ); err != nil {
		t.Fatal(err)
	}
	var chunks []*pushChunk
	for c := range wholeQ {
		if h := <-hashQ; h != c {
			t.Fatalf("chunk %d: the hashers got chunk %d in its place", c.index, h.index)
		}
		chunks = append(chunks, c)
	}
	if rd.size != int64(len(data)) {
		t.Fatalf("size %d, want %d", rd.size, len(data))
	}
	return rg, chunks
}

// TestChunkReader: the reader cuts the input as the streaming chunker
// does, and sends every chunk, in order, to both queues.
func TestChunkReader(t *testing.T) {
	data := randBytes(31, 100<<10)
	_, chunks := cutAll(t, data, smallParams())
	want := referenceChunks(t, data, smallParams())
	if len(chunks) != len(want) {
		t.Fatalf("%d chunks, want %d", len(chunks), len(want))
	}
	for i, c := range chunks {
		if c.index != i || content.FromBytes(c.data) != want[i].Digest || int64(len(c.data)) != want[i].Size {
			t.Fatalf("chunk %d (index %d) differs from the reference", i, c.index)
		}
	}
}

// TestChunkReaderReadError: a read error ends the stage with it, and
// closes both queues.
func TestChunkReaderReadError(t *testing.T) {
	p := smallParams()
	rg, err := newRing(4*int(p.Max), int(p.Max))
	if err != nil {
		t.Fatal(err)
	}
	defer rg.close()
	sp, _ := content.NewSplitter(p)
	boom := errors.New("disk on fire")
	rd := &chunkReader{in: &failingReader{r: bytes.NewReader(randBytes(32, 40<<10)), n: 20 << 10, err: boom}, rg: rg, splitter: sp}
	wholeQ, hashQ := make(chan *pushChunk, 64), make(chan *pushChunk, 64)
	if err := rd.run(context.Background(), wholeQ, hashQ); !errors.Is(err, boom) {
		t.Fatalf("run = %v; want the read error", err)
	}
	for range wholeQ {
	}
	for range hashQ {
	}
}
