package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
)

// TestLocalBackend runs the pipeline over the real local backend through
// FromBackend: round trip, dedup on re-push, and a blob corrupted on disk
// caught by pull with nothing left at the target.
func TestLocalBackend(t *testing.T) {
	be, err := local.New("default", filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	store := FromBackend(be)
	data := randBytes(30, 1<<20+12345)
	res, err := Push(context.Background(), bytes.NewReader(data), store, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	if res.ContentDigest != content.FromBytes(data) || res.UploadedBytes+res.DeduplicatedBytes != int64(len(data)) {
		t.Fatalf("result %+v does not describe the input", res)
	}
	again, err := Push(context.Background(), bytes.NewReader(data), store, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	if again.UploadedBytes != 0 || again.ManifestDigest != res.ManifestDigest {
		t.Fatalf("re-push uploaded %d bytes", again.UploadedBytes)
	}

	dir := t.TempDir()
	target := filepath.Join(dir, "copy.bin")
	if _, err := PullToFile(context.Background(), res.ManifestDigest, store, target, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(target); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("pulled bytes differ (err %v)", err)
	}
	r := content.Range{Start: 100000, End: 900000}
	var part bytes.Buffer
	if _, err := Pull(context.Background(), res.ManifestDigest, store, &part, PullOptions{Range: &r}); err != nil || !bytes.Equal(part.Bytes(), data[r.Start:r.End+1]) {
		t.Fatalf("range pull: %v", err)
	}

	// Corrupt one chunk on disk, behind the backend's back.
	m, err := fetchManifest(context.Background(), store, res.ManifestDigest, RetryPolicy{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(be.Root(), filepath.FromSlash(m.Chunks[5].Digest.Key()))
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	if err := os.Chmod(blob, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, b, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "fresh.bin")
	if _, err := PullToFile(context.Background(), res.ManifestDigest, store, fresh, PullOptions{}); !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("got %v, want ErrMismatch", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("failed pull left files: %v", ents)
	}

	// A tree through the real backend.
	src := t.TempDir()
	writeTree(t, src, map[string]string{"x/y.txt": "y", "z.bin": string(randBytes(40, 70000))}, nil)
	tres, err := PushTree(context.Background(), src, store, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "tree")
	if _, err := PullTree(context.Background(), tres.ManifestDigest, store, dst, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := snapshot(t, dst), snapshot(t, src); len(got) != len(want) || got["z.bin"] != want["z.bin"] || got["x/y.txt"] != want["x/y.txt"] {
		t.Fatalf("tree differs after the round trip")
	}
}

// countingBackend counts which of Put, PutVerified and a stage's
// PutVerified the adapter calls, and records the order of stage commits
// and verified puts.
type countingBackend struct {
	*local.Backend
	puts, verified, staged, commits atomic.Int32

	mu  sync.Mutex
	log []string // "stage", "commit", "put" in order
}

func (c *countingBackend) note(what string) {
	c.mu.Lock()
	c.log = append(c.log, what)
	c.mu.Unlock()
}

func (c *countingBackend) NewStage() storage.Stage {
	return &countingStage{Stage: c.Backend.NewStage(), c: c}
}

type countingStage struct {
	storage.Stage
	c *countingBackend
}

func (s *countingStage) PutVerified(ctx context.Context, d content.Digest, size int64, r io.Reader) (bool, error) {
	created, err := s.Stage.PutVerified(ctx, d, size, r)
	if err == nil {
		s.c.staged.Add(1)
		s.c.note("stage")
	}
	return created, err
}

func (s *countingStage) Commit(ctx context.Context) error {
	err := s.Stage.Commit(ctx)
	if err == nil {
		s.c.commits.Add(1)
		s.c.note("commit")
	}
	return err
}

func (c *countingBackend) Put(ctx context.Context, d content.Digest, size int64, r io.Reader) (bool, error) {
	c.puts.Add(1)
	return c.Backend.Put(ctx, d, size, r)
}

func (c *countingBackend) PutVerified(ctx context.Context, d content.Digest, size int64, r io.Reader) (bool, error) {
	c.verified.Add(1)
	c.note("put")
	return c.Backend.PutVerified(ctx, d, size, r)
}

// TestPushUsesVerifiedPut checks that Push stores the chunks (staged) and
// the manifest it digested itself through the unverified paths
// (storage.Stage, storage.VerifiedPutter), while BlobStore.Put, which takes
// bytes from anyone, keeps verifying them.
func TestPushUsesVerifiedPut(t *testing.T) {
	be, err := local.New("default", filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	cb := &countingBackend{Backend: be}
	store := FromBackend(cb)
	data := randBytes(31, 1<<20+777)
	res, err := Push(context.Background(), bytes.NewReader(data), store, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[content.Digest]bool{}
	for _, c := range backendManifest(t, store, res.ManifestDigest).Chunks {
		distinct[c.Digest] = true
	}
	if cb.staged.Load() != int32(len(distinct)) || cb.verified.Load() != 1 || cb.puts.Load() != 0 {
		t.Errorf("Push staged %d chunks and made %d PutVerified and %d Put calls; want %d staged, 1 PutVerified (the manifest) and no Put",
			cb.staged.Load(), cb.verified.Load(), cb.puts.Load(), len(distinct))
	}
	var out bytes.Buffer
	if _, err := Pull(context.Background(), res.ManifestDigest, store, &out, PullOptions{}); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("pull after a verified-put push: %v", err)
	}

	other := randBytes(32, 1000)
	d := content.FromBytes(randBytes(33, 1000))
	if err := store.Put(context.Background(), d, 1000, bytes.NewReader(other)); !errors.Is(err, content.ErrMismatch) {
		t.Errorf("BlobStore.Put of bytes that do not match the digest = %v; want ErrMismatch", err)
	}
	if cb.puts.Load() != 1 {
		t.Errorf("BlobStore.Put made %d backend Put calls; want 1", cb.puts.Load())
	}
}

// TestPushCommitsStagedChunks checks the group commits of a staging store:
// periodic ones every CommitEvery bytes, and a last one before the
// manifest is stored, so a manifest never names a chunk that is not yet
// durable.
func TestPushCommitsStagedChunks(t *testing.T) {
	be, err := local.New("default", filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	cb := &countingBackend{Backend: be}
	data := randBytes(41, 1<<20)
	res, err := Push(context.Background(), bytes.NewReader(data), FromBackend(cb), PushOptions{Chunker: smallParams(), CommitEvery: 200 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if c := cb.commits.Load(); c < 3 || c > 6 {
		t.Errorf("%d commits for 1 MiB committed every 200 KiB; want 3 to 6 (4 or 5 periodic, at most one racing, plus the last)", c)
	}
	cb.mu.Lock()
	log := strings.Join(cb.log, " ")
	cb.mu.Unlock()
	if !strings.HasSuffix(log, "commit put") {
		t.Errorf("the manifest was not stored right after the last commit: ...%s", log[max(0, len(log)-60):])
	}
	for _, c := range backendManifest(t, FromBackend(be), res.ManifestDigest).Chunks {
		if _, err := be.Head(context.Background(), c.Digest); err != nil {
			t.Fatalf("chunk %s not stored after the push: %v", c.Digest.Short(), err)
		}
	}
}

// TestInterruptedPushCommitsStaged cancels a push on a staging store after
// some chunks are staged and checks that those chunks were committed on the
// way out (nothing staged is lost to a Ctrl-C), so the next run uploads only
// the rest, and that no temporary file is left.
func TestInterruptedPushCommitsStaged(t *testing.T) {
	be, err := local.New("default", filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(42, 1<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cb := &cancelAfterStaged{countingBackend: countingBackend{Backend: be}, n: 30, cancel: cancel}
	if _, err := Push(ctx, bytes.NewReader(data), FromBackend(cb), PushOptions{Chunker: smallParams(), Concurrency: 2}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted push: %v, want context.Canceled", err)
	}
	stored := 0
	if err := be.Walk(context.Background(), func(storage.Info) error { stored++; return nil }); err != nil {
		t.Fatal(err)
	}
	if staged := int(cb.staged.Load()); stored < 30 || stored != staged {
		t.Fatalf("%d chunks visible after the interruption, %d staged; want all staged ones (at least 30) committed", stored, staged)
	}
	if tmp := uploadFiles(t, be.Root()); len(tmp) != 0 {
		t.Errorf("temporary files left after the interrupted push: %v", tmp)
	}
	res, err := Push(context.Background(), bytes.NewReader(data), FromBackend(be), PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	if res.DeduplicatedBytes == 0 || res.UploadedBytes+res.DeduplicatedBytes != res.Size {
		t.Errorf("resumed push uploaded %d and deduplicated %d of %d bytes; want the committed chunks deduplicated", res.UploadedBytes, res.DeduplicatedBytes, res.Size)
	}
}

// cancelAfterStaged cancels a context once n chunks are staged.
type cancelAfterStaged struct {
	countingBackend
	n      int32
	cancel context.CancelFunc
}

func (c *cancelAfterStaged) NewStage() storage.Stage {
	return &cancellingStage{countingStage: countingStage{Stage: c.Backend.NewStage(), c: &c.countingBackend}, n: c.n, cancel: c.cancel}
}

type cancellingStage struct {
	countingStage
	n      int32
	cancel context.CancelFunc
}

func (s *cancellingStage) PutVerified(ctx context.Context, d content.Digest, size int64, r io.Reader) (bool, error) {
	created, err := s.countingStage.PutVerified(ctx, d, size, r)
	if err == nil && s.c.staged.Load() == s.n {
		s.cancel()
	}
	return created, err
}

// backendManifest reads and parses the manifest d from store.
func backendManifest(t testing.TB, store BlobStore, d content.Digest) content.Manifest {
	t.Helper()
	m, err := FetchManifest(context.Background(), store, d, RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPushTreeCommitsInGroups: a tree's files share one stage, so their
// chunks and file manifests are committed in groups (every CommitBlobs
// blobs here, and once before the tree manifest), not twice per file; the
// tree manifest alone is stored outside the stage, after the last commit;
// every blob is in place afterwards and the tree pulls back whole.
func TestPushTreeCommitsInGroups(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) { testPushTreeCommitsInGroups(t, l.schema) })
	}
}

func testPushTreeCommitsInGroups(t *testing.T, schema int) {
	be, err := local.New("default", filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	files := map[string]string{}
	for i := range 30 {
		files[fmt.Sprintf("d%d/f%02d.txt", i%3, i)] = fmt.Sprintf("file %d\n", i)
	}
	writeTree(t, src, files, nil)
	cb := &countingBackend{Backend: be}
	store := FromBackend(cb)
	// No commit by time: on a loaded machine the push may take over the
	// default interval, and the count below is of commits by blob count.
	res, err := PushTree(context.Background(), src, store, PushOptions{CommitBlobs: 16, CommitInterval: time.Hour, TreeSchema: schema})
	if err != nil {
		t.Fatal(err)
	}
	// Per-file layout: 30 one-chunk files: 30 chunks and 30 file
	// manifests staged; commits after the 16th and 32nd and 48th, and the
	// last before the tree manifest. Stream layout: the 30 files are one
	// chunk, committed before the tree manifest.
	wantStaged, wantCommits := int32(60), int32(4)
	if schema == content.StreamTreeSchema {
		wantStaged, wantCommits = 1, 1
	}
	if s, c, v, p := cb.staged.Load(), cb.commits.Load(), cb.verified.Load(), cb.puts.Load(); s != wantStaged || c != wantCommits || v != 1 || p != 0 {
		t.Errorf("staged %d blobs, %d commits, %d PutVerified, %d Put; want %d staged, %d commits, 1 PutVerified (the tree manifest), no Put",
			s, c, v, p, wantStaged, wantCommits)
	}
	cb.mu.Lock()
	log := strings.Join(cb.log, " ")
	cb.mu.Unlock()
	if !strings.HasSuffix(log, "commit put") {
		t.Errorf("the tree manifest was not stored right after the last commit: ...%s", log[max(0, len(log)-60):])
	}
	wantNoTemp := func() {
		t.Helper()
		if tmp := uploadFiles(t, be.Root()); len(tmp) != 0 {
			t.Fatalf("tmp/ holds upload files after the push: %v", tmp)
		}
	}
	wantNoTemp()
	dst := filepath.Join(t.TempDir(), "out")
	if _, err := PullTree(context.Background(), res.ManifestDigest, store, dst, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := snapshot(t, dst), snapshot(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("tree differs after the round trip:\n got %v\nwant %v", got, want)
	}
}

// TestPushConfirm: with Confirm, a push stages every chunk and commits
// nothing until Confirm accepts the content's digest and size; refused,
// the push fails with Confirm's error and the store holds nothing new,
// not even the chunks of a push long enough to commit by time or bytes.
// A store that cannot stage is refused before anything is read.
func TestPushConfirm(t *testing.T) {
	ctx := context.Background()
	be, err := local.New("default", filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		n := 0
		if err := be.Walk(ctx, func(storage.Info) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	data := randBytes(31, 3<<20)
	refused := errors.New("refused")
	var gotSum content.Digest
	var gotSize int64
	opts := PushOptions{Chunker: smallParams(), CommitEvery: 1, CommitBlobs: 1, CommitInterval: time.Nanosecond,
		Confirm: func(sum content.Digest, size int64) error { gotSum, gotSize = sum, size; return refused }}
	if _, err := Push(ctx, bytes.NewReader(data), FromBackend(be), opts); !errors.Is(err, refused) {
		t.Fatalf("Push refused by Confirm: %v; want its error", err)
	}
	if gotSum != content.FromBytes(data) || gotSize != int64(len(data)) {
		t.Fatalf("Confirm saw %s, %d bytes; want %s, %d", gotSum, gotSize, content.FromBytes(data), len(data))
	}
	if n := count(); n != 0 {
		t.Fatalf("a refused push left %d blobs", n)
	}
	opts.Confirm = func(content.Digest, int64) error { return nil }
	res, err := Push(ctx, bytes.NewReader(data), FromBackend(be), opts)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := Pull(ctx, res.ManifestDigest, FromBackend(be), &out, PullOptions{}); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("pull of the confirmed push: %d bytes, %v", out.Len(), err)
	}

	// PushTree ignores it, in either layout (the per-file one pushes each
	// file as Push does).
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a.txt": "alpha", "b/c.txt": "gamma"}, nil)
	for _, schema := range []int{content.StreamTreeSchema, content.ManifestSchema} {
		refuse := PushOptions{TreeSchema: schema, Confirm: func(content.Digest, int64) error { return refused }}
		if _, err := PushTree(ctx, dir, FromBackend(be), refuse); err != nil {
			t.Fatalf("PushTree (schema %d) with Confirm set: %v; want it ignored", schema, err)
		}
	}

	s := newMemStore()
	if _, err := Push(ctx, bytes.NewReader(data), s, opts); !errors.Is(err, ErrNoStaging) || s.putOK != 0 {
		t.Fatalf("Confirm on a store that does not stage: %v, %d puts; want ErrNoStaging and none", err, s.putOK)
	}
}

// uploadFiles lists the temporary upload files (put-*) in the local
// backend rooted at root; tmp/ also holds the writers' lock file.
func uploadFiles(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "put-") {
			names = append(names, e.Name())
		}
	}
	return names
}
