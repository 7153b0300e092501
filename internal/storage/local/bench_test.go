package local_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
)

// Benchmarks report throughput (b.SetBytes). Each has a "baseline"
// sub-benchmark doing the same I/O with plain os calls (write+sha256+fsync+
// rename+fsync of the directory, like cp+sha256sum+sync; open+read), so `make bench` can report
// the backend as a ratio against it rather than as an absolute figure.

var benchSizes = []int{64 << 10, 16 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

func BenchmarkLocalPut(b *testing.B) {
	for _, size := range benchSizes {
		data := storagetest.Blob(1, size)
		d := content.FromBytes(data)
		b.Run("new/"+sizeName(size), func(b *testing.B) {
			be := newLocal(b)
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := be.Put(b.Context(), d, int64(size), bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if _, err := be.Delete(b.Context(), d); err != nil {
					b.Fatal(err)
				}
				// Steady state: a store's shard directories already exist
				// (Delete pruned them), so Put fsyncs one directory, not three.
				if err := os.MkdirAll(filepath.Dir(blobPath(be, d)), 0o755); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
		b.Run("existing/"+sizeName(size), func(b *testing.B) {
			be := newLocal(b)
			if _, err := be.Put(b.Context(), d, int64(size), bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := be.Put(b.Context(), d, int64(size), bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("baseline/"+sizeName(size), func(b *testing.B) {
			dir := b.TempDir()
			tmp, final := filepath.Join(dir, "tmp"), filepath.Join(dir, "final")
			b.SetBytes(int64(size))
			for b.Loop() {
				f, err := os.Create(tmp)
				if err != nil {
					b.Fatal(err)
				}
				h := sha256.New()
				if _, err := io.Copy(io.MultiWriter(f, h), bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
				h.Sum(nil)
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				f.Close()
				if err := os.Rename(tmp, final); err != nil {
					b.Fatal(err)
				}
				if err := syncDir(dir); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.Remove(final)
				b.StartTimer()
			}
		})
	}
}

func BenchmarkLocalGet(b *testing.B) {
	for _, size := range benchSizes {
		data := storagetest.Blob(2, size)
		d := content.FromBytes(data)
		be := newLocal(b)
		if _, err := be.Put(b.Context(), d, int64(size), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		b.Run("read/"+sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				rc, err := be.Get(b.Context(), d, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
		b.Run("verified/"+sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				rc, err := be.Get(b.Context(), d, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, content.NewVerifyingReader(rc, d, int64(size))); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
		b.Run("baseline/"+sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			p := blobPath(be, d)
			for b.Loop() {
				f, err := os.Open(p)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, f); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// BenchmarkLocalSmallBlobs stores distinct 4 KiB blobs into a store whose
// shard directories fill up as it goes, as a stream of small objects (a
// registry's manifests and layers, single-file pushes) does: one Put each,
// or staged and committed 256 at a time.
func BenchmarkLocalSmallBlobs(b *testing.B) {
	const size, batch = 4 << 10, 256
	blob := func(i int) ([]byte, content.Digest) {
		data := storagetest.Blob(uint64(i), size)
		return data, content.FromBytes(data)
	}
	b.Run("put", func(b *testing.B) {
		be := newLocal(b)
		b.SetBytes(size)
		i := 0
		for b.Loop() {
			b.StopTimer()
			data, d := blob(i)
			i++
			b.StartTimer()
			if _, err := be.Put(b.Context(), d, size, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stage", func(b *testing.B) {
		be := newLocal(b)
		b.SetBytes(size)
		st := be.NewStage()
		i := 0
		for b.Loop() {
			b.StopTimer()
			data, d := blob(i)
			i++
			b.StartTimer()
			if _, err := st.PutVerified(b.Context(), d, size, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			if i%batch == 0 {
				if err := st.Commit(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := st.Commit(b.Context()); err != nil {
			b.Fatal(err)
		}
	})
}
