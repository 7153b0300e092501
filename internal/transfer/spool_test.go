package transfer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/spool"
)

func TestDigestSetIsBounded(t *testing.T) {
	s := &digestSet{limit: 100}
	d := func(i int) content.Digest { return content.FromBytes([]byte{byte(i), byte(i >> 8)}) }
	for i := range 1000 {
		if !s.addNew(d(i)) {
			t.Fatalf("digest %d reported as seen", i)
		}
		if s.addNew(d(i)) || (i > 0 && s.addNew(d(i-1))) {
			t.Fatalf("digest %d or the one before forgotten at once", i)
		}
		if n := len(s.cur) + len(s.old); n > 200 {
			t.Fatalf("%d digests held, over two generations of 100", n)
		}
	}
	if !s.addNew(d(0)) {
		t.Fatal("the first digest is still remembered after 1000 others")
	}
}

// TestPushManyChunks pushes content with more chunks than spool.MemLimit holds
// in memory and than digestSet remembers, ending with a repeat of its
// beginning: the manifest (spooled to a file) lists every chunk in order,
// the repeat is deduplicated by the store although the push forgot it, and
// no temporary file is left.
func TestPushManyChunks(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	params := content.ChunkerParams{Algorithm: content.AlgorithmFastCDCGearV1, Min: 64, Avg: 64, Max: 256}
	head := randBytes(61, 64<<10)
	data := append(append(head, randBytes(62, 2<<20)...), head...)
	s := newMemStore()
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: params, Retry: fastRetry()})
	if err != nil {
		t.Fatal(err)
	}
	want := referenceChunks(t, data, params)
	if len(want) < 2*seenLimit+1 || int64(len(want))*80 < spool.MemLimit {
		t.Fatalf("only %d chunks: the test needs more than digestSet and the spool's memory hold", len(want))
	}
	if n := len(s.blobs[res.ManifestDigest]); n <= spool.MemLimit {
		t.Fatalf("the manifest has %d bytes: the test needs more than spool.MemLimit", n)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	if !slices.Equal(m.Chunks, want) || res.Chunks != len(want) {
		t.Fatalf("manifest lists %d chunks (result %d), want the %d of content.Chunker in order", len(m.Chunks), res.Chunks, len(want))
	}
	enc, err := m.Encode()
	if err != nil || content.FromBytes(enc) != res.ManifestDigest {
		t.Fatalf("stored manifest is not canonical: %v", err)
	}
	_, distinctBytes := distinctChunks(want)
	if res.UploadedBytes != distinctBytes || res.UploadedBytes+res.DeduplicatedBytes != int64(len(data)) {
		t.Fatalf("uploaded %d, deduplicated %d; want %d uploaded (each distinct chunk once) of %d",
			res.UploadedBytes, res.DeduplicatedBytes, distinctBytes, len(data))
	}
	var out bytes.Buffer
	if _, err := Pull(context.Background(), res.ManifestDigest, s, &out, PullOptions{Retry: fastRetry()}); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("pull: %v", err)
	}
	// A range, from the spooled chunk list (the manifest is over
	// spool.MemLimit bytes).
	out.Reset()
	r := content.Range{Start: 1<<20 + 3, End: 1<<20 + 70000}
	if _, err := Pull(context.Background(), res.ManifestDigest, s, &out, PullOptions{Range: &r, Retry: fastRetry()}); err != nil ||
		!bytes.Equal(out.Bytes(), data[r.Start:r.End+1]) {
		t.Fatalf("range pull: %v (%d bytes)", err, out.Len())
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

// TestChunkListTooLarge: one chunk past content.MaxChunks fails with
// ErrTooLarge and a message that says what to do, not as an invalid
// manifest.
func TestChunkListTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 100 MB chunk list")
	}
	t.Setenv("TMPDIR", t.TempDir())
	sp := &spool.Spool{}
	defer sp.Close()
	l := &chunkList{enc: content.NewChunkListEncoder(sp, content.DefaultChunkerParams()), pending: map[int]content.ChunkRef{}}
	ref := content.ChunkRef{Digest: content.FromBytes([]byte("x")), Size: 1}
	for i := range content.MaxChunks {
		if err := l.add(i, ref); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	err := l.add(content.MaxChunks, ref)
	if !errors.Is(err, ErrTooLarge) || errors.Is(err, content.ErrInvalidManifest) || !strings.Contains(err.Error(), "split it") {
		t.Fatalf("chunk %d: got %v, want ErrTooLarge saying what to do", content.MaxChunks, err)
	}
}
