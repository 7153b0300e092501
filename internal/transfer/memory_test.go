package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/memtest"
)

// sinkStore reports every blob missing and discards what is put, except
// manifests (which it keeps, to be pulled); it calls probe with the number
// of digests asked about so far after each Missing call.
type sinkStore struct {
	mu        sync.Mutex
	asked     int
	probe     func(asked int)
	manifests map[content.Digest][]byte
}

func (s *sinkStore) Missing(_ context.Context, ds []content.Digest) ([]content.Digest, error) {
	s.asked += len(ds) // Missing is called by one goroutine at a time
	if s.probe != nil {
		s.probe(s.asked)
	}
	return ds, nil
}

func (s *sinkStore) Put(_ context.Context, d content.Digest, size int64, r io.Reader) error {
	if size <= 256 { // a chunk
		_, err := io.Copy(io.Discard, r)
		return err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.manifests[d] = b
	return nil
}

func (s *sinkStore) Get(context.Context, content.Digest, *content.Range) (io.ReadCloser, error) {
	return nil, errors.New("sinkStore keeps no chunks")
}

// TestPushMemoryDoesNotGrow pushes ~65,000 chunks and measures the live
// heap when 10,000 and when 50,000 have been checked: holding anything per
// chunk (even 40 bytes) would add well over 1 MiB between the two.
func TestPushMemoryDoesNotGrow(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 8 MiB in 130-byte chunks")
	}
	t.Setenv("TMPDIR", t.TempDir())
	var at10k, at50k int64
	s := &sinkStore{manifests: map[content.Digest][]byte{}}
	s.probe = func(asked int) {
		switch {
		case at10k == 0 && asked >= 10_000:
			at10k = memtest.LiveHeap()
		case at50k == 0 && asked >= 50_000:
			at50k = memtest.LiveHeap()
		}
	}
	res, err := Push(context.Background(), newPRNG(3, 8<<20), s, PushOptions{Chunker: memtest.TinyChunker(), HashWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Chunks < 55_000 || at50k == 0 {
		t.Fatalf("only %d chunks: the test needs over 50,000", res.Chunks)
	}
	t.Logf("live heap at 10,000 chunks %d bytes, at 50,000 %d", at10k, at50k)
	if grew := at50k - at10k; grew > 1<<20 {
		t.Fatalf("live heap grew by %d bytes from 10,000 to 50,000 chunks (%d to %d): push holds something per chunk", grew, at10k, at50k)
	}
	if n := len(s.manifests[res.ManifestDigest]); n < 50_000*80 {
		t.Fatalf("manifest of %d bytes for %d chunks", n, res.Chunks)
	}
}

// TestPullMemoryDoesNotHoldTheChunkList pulls ~65,000 chunks and measures
// the live heap while the pull runs against before it: the chunk list
// parsed into memory would add over 6 MB.
func TestPullMemoryDoesNotHoldTheChunkList(t *testing.T) {
	if testing.Short() {
		t.Skip("pulls 8 MiB in 130-byte chunks")
	}
	t.Setenv("TMPDIR", t.TempDir())
	s := newMemStore()
	data := randBytes(4, 8<<20)
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: memtest.TinyChunker()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Chunks < 55_000 {
		t.Fatalf("only %d chunks", res.Chunks)
	}
	before := memtest.LiveHeap()
	var during int64
	s.failGet = func(call int, _ content.Digest) error {
		if call == 30_000 {
			during = memtest.LiveHeap()
		}
		return nil
	}
	var out bytes.Buffer
	out.Grow(len(data))
	before += int64(out.Cap())
	if _, err := Pull(context.Background(), res.ManifestDigest, s, &out, PullOptions{Concurrency: 1}); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("pull: %v", err)
	}
	t.Logf("live heap before the pull %d bytes, during %d", before, during)
	if grew := during - before; grew > 3<<20 {
		t.Fatalf("live heap %d bytes during the pull, %d before: pull holds the chunk list", during, before)
	}
}
