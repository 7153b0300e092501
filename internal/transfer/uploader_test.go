package transfer

import (
	"context"
	"io"
	"sync/atomic"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// digestedChunks cuts data and gives each chunk its digest, with only the
// store path's hold left, as the hashers leave them.
func digestedChunks(t *testing.T, data []byte) (*ring, []*pushChunk) {
	t.Helper()
	rg, chunks := cutAll(t, data, smallParams())
	for _, c := range chunks {
		c.digest = content.FromBytes(c.data)
		c.release(rg, holdInOrder)
	}
	return rg, chunks
}

func testPushConfig(t *testing.T, o PushOptions) pushConfig {
	t.Helper()
	o.Chunker = smallParams()
	o.Retry = fastRetry()
	cfg, err := o.config()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestChecker: chunks arriving out of order are listed in order; only the
// chunks the store lacks go to the uploaders, a repeat once; the others are
// counted as deduplicated and released.
func TestChecker(t *testing.T) {
	block := randBytes(35, 20<<10)
	data := append(append(append([]byte{}, block...), randBytes(36, 60<<10)...), block...)
	rg, chunks := digestedChunks(t, data)
	s := newMemStore()
	s.set(chunks[1].digest, chunks[1].data) // the store holds chunk 1
	cfg := testPushConfig(t, PushOptions{MissingBatch: 3})
	k := &checker{store: s, cfg: cfg, rg: rg, seen: &digestSet{limit: seenLimit},
		list: &chunkList{enc: content.NewChunkListEncoder(&bytesSink{}, cfg.Chunker), pending: map[int]content.ChunkRef{}}}
	checkQ := make(chan *pushChunk, len(chunks))
	for i := len(chunks) - 1; i >= 0; i-- {
		checkQ <- chunks[i]
	}
	close(checkQ)
	uploadQ := make(chan *pushChunk, len(chunks))
	if err := k.run(context.Background(), checkQ, uploadQ); err != nil {
		t.Fatal(err)
	}
	up := map[content.Digest]int{}
	var upBytes int64
	for c := range uploadQ {
		up[c.digest]++
		upBytes += int64(len(c.data))
		c.release(rg, holdOwn)
	}
	if _, ok := up[chunks[1].digest]; ok {
		t.Error("the chunk the store holds was queued for upload")
	}
	for d, n := range up {
		if n != 1 {
			t.Errorf("chunk %s queued %d times", d.Short(), n)
		}
	}
	if upBytes+k.dedup != int64(len(data)) {
		t.Errorf("uploaded %d + deduplicated %d bytes, want %d", upBytes, k.dedup, len(data))
	}
	if k.list.enc.Len() != len(chunks) || len(k.list.pending) != 0 {
		t.Errorf("listed %d chunks (%d pending), want %d", k.list.enc.Len(), len(k.list.pending), len(chunks))
	}
	if _, busy := rg.oldest(); busy {
		t.Error("spans still reserved after every chunk was checked and uploaded")
	}
}

// bytesSink is an io.Writer that keeps nothing.
type bytesSink struct{}

func (bytesSink) Write(p []byte) (int, error) { return len(p), nil }

// TestUploader: chunks are stored with retries and released; each staged
// chunk is counted by the committer, which commits when due.
func TestUploader(t *testing.T) {
	data := randBytes(37, 80<<10)
	rg, chunks := digestedChunks(t, data)
	s := newMemStore()
	s.failPut = func(call int, _ content.Digest) error { return failOn(call, 1, tempErr{"flaky"}) }
	cfg := testPushConfig(t, PushOptions{CommitBlobs: 2})
	st := &recordingStage{s: s}
	up := &uploader{put: st.putDigested, cfg: cfg, rg: rg, commit: &committer{sh: newSharedStage(st), cfg: cfg}}
	uploadQ := make(chan *pushChunk, len(chunks))
	for _, c := range chunks {
		uploadQ <- c
	}
	close(uploadQ)
	if err := up.run(context.Background(), uploadQ); err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		if !s.has(c.digest) {
			t.Fatalf("chunk %d not stored", c.index)
		}
	}
	if got := up.uploaded.Load(); got != int64(len(data)) {
		t.Errorf("uploaded %d bytes, want %d", got, len(data))
	}
	if want := int32(len(chunks) / 2); st.commits.Load() != want {
		t.Errorf("%d commits for %d chunks staged, CommitBlobs 2: want %d", st.commits.Load(), len(chunks), want)
	}
	if _, busy := rg.oldest(); busy {
		t.Error("spans still reserved after every chunk was uploaded")
	}
}

// recordingStage is a blobStage over a memStore that counts commits.
type recordingStage struct {
	s       *memStore
	commits atomic.Int32
	aborted atomic.Bool
}

func (r *recordingStage) putDigested(ctx context.Context, d content.Digest, size int64, rd io.Reader) error {
	return r.s.Put(ctx, d, size, rd)
}
func (r *recordingStage) commit(context.Context) error { r.commits.Add(1); return nil }
func (r *recordingStage) abort()                       { r.aborted.Store(true) }
