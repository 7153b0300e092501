package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
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

// countingBackend counts which of Put and PutVerified the adapter calls.
type countingBackend struct {
	*local.Backend
	puts, verified atomic.Int32
}

func (c *countingBackend) Put(ctx context.Context, d content.Digest, size int64, r io.Reader) (bool, error) {
	c.puts.Add(1)
	return c.Backend.Put(ctx, d, size, r)
}

func (c *countingBackend) PutVerified(ctx context.Context, d content.Digest, size int64, r io.Reader) (bool, error) {
	c.verified.Add(1)
	return c.Backend.PutVerified(ctx, d, size, r)
}

// TestPushUsesVerifiedPut checks that Push stores the chunks and the
// manifest it digested itself through storage.VerifiedPutter, while
// BlobStore.Put, which takes bytes from anyone, keeps verifying them.
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
	if got, want := int(cb.verified.Load()), len(res.Blobs)+1; got != want || cb.puts.Load() != 0 {
		t.Errorf("Push made %d PutVerified and %d Put calls; want %d PutVerified (chunks and manifest) and no Put", got, cb.puts.Load(), want)
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
