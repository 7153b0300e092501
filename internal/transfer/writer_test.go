package transfer

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// TestPullWriter: the writer slices chunks to the range, writes a chunk
// only after a good verdict, stops at a bad one with none of its bytes
// written, and releases the chunks it wrote.
func TestPullWriter(t *testing.T) {
	data := randBytes(40, 5000)
	fq, cs := pulledChunks(t, data, 1000, holdOwn)
	for _, c := range cs {
		c.verdict <- nil
	}
	var out bytes.Buffer
	rng := content.Range{Start: 1500, End: 3200}
	pw := &pullWriter{w: &out, rng: &rng, pos: 1000, fq: fq}
	writeQ := make(chan *pulledChunk, len(cs))
	for _, c := range cs[1:4] { // the chunks covering the range
		writeQ <- c
	}
	close(writeQ)
	cs[0].release(fq, holdOwn) // not in the range
	if err := pw.run(context.Background(), writeQ); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data[1500:3201]) || pw.written != rng.Length() {
		t.Fatalf("wrote %d bytes; want the %d of the range", out.Len(), rng.Length())
	}
	if len(fq.q) != 1 {
		t.Fatalf("%d regions reserved, want the one not written", len(fq.q))
	}

	fq, cs = pulledChunks(t, data, 1000, holdOwn)
	cs[0].verdict <- nil
	cs[1].verdict <- &content.MismatchError{Expected: cs[1].ref.Digest}
	out.Reset()
	pw = &pullWriter{w: &out, fq: fq}
	writeQ = make(chan *pulledChunk, 2)
	writeQ <- cs[0]
	writeQ <- cs[1]
	close(writeQ)
	if err := pw.run(context.Background(), writeQ); !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("bad verdict: %v; want ErrMismatch", err)
	}
	if !bytes.Equal(out.Bytes(), data[:1000]) {
		t.Fatalf("wrote %d bytes; want only the first chunk's 1000", out.Len())
	}
}
