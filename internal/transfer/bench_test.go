package transfer

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage/local"
)

// benchFile writes n pseudo-random bytes to a file in dir and returns its path.
func benchFile(b *testing.B, dir string, n int64) string {
	b.Helper()
	p := filepath.Join(dir, "input.bin")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, newPRNG(77, n)); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

const benchSize = 256 << 20

// BenchmarkPushLocal pushes a 256 MiB file into a fresh local backend per
// iteration (cold push: every chunk written and fsynced). Compare with
// scripts/bench-push.sh, which runs cp + sync on the same file.
func BenchmarkPushLocal(b *testing.B) {
	dir := b.TempDir()
	in := benchFile(b, dir, benchSize)
	b.SetBytes(benchSize)
	i := 0
	for b.Loop() {
		i++
		be, err := local.New("bench", filepath.Join(dir, "store", string(rune('a'+i%26)), filepath.Base(b.Name())+string(rune('0'+i%10))))
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Push(context.Background(), f, FromBackend(be), PushOptions{}); err != nil {
			b.Fatal(err)
		}
		f.Close()
		b.StopTimer()
		os.RemoveAll(be.Root())
		b.StartTimer()
	}
}

// BenchmarkRePushLocal pushes a file the backend already holds: read,
// chunk, hash, check presence, upload nothing.
func BenchmarkRePushLocal(b *testing.B) {
	dir := b.TempDir()
	in := benchFile(b, dir, benchSize)
	be, err := local.New("bench", filepath.Join(dir, "store"))
	if err != nil {
		b.Fatal(err)
	}
	push := func() PushResult {
		f, err := os.Open(in)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		res, err := Push(context.Background(), f, FromBackend(be), PushOptions{})
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	push()
	b.SetBytes(benchSize)
	b.ResetTimer()
	for b.Loop() {
		if res := push(); res.UploadedBytes != 0 {
			b.Fatalf("re-push uploaded %d bytes", res.UploadedBytes)
		}
	}
}

// BenchmarkPullLocal pulls a 256 MiB file to a new file (verified, fsynced).
func BenchmarkPullLocal(b *testing.B) {
	dir := b.TempDir()
	in := benchFile(b, dir, benchSize)
	be, err := local.New("bench", filepath.Join(dir, "store"))
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		b.Fatal(err)
	}
	res, err := Push(context.Background(), f, FromBackend(be), PushOptions{})
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "out.bin")
	b.SetBytes(benchSize)
	b.ResetTimer()
	for b.Loop() {
		if _, err := PullToFile(context.Background(), res.ManifestDigest, FromBackend(be), out, PullOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPushDiscard measures the pipeline's own CPU cost: chunking and
// both digests, with a store that holds nothing and discards uploads.
func BenchmarkPushDiscard(b *testing.B) {
	dir := b.TempDir()
	in := benchFile(b, dir, benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		f, err := os.Open(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Push(context.Background(), f, discardStore{}, PushOptions{}); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

type discardStore struct{}

func (discardStore) Missing(_ context.Context, ds []content.Digest) ([]content.Digest, error) {
	return ds, nil
}

func (discardStore) Put(_ context.Context, _ content.Digest, _ int64, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func (discardStore) Get(context.Context, content.Digest, *content.Range) (io.ReadCloser, error) {
	return nil, io.ErrUnexpectedEOF
}
