package s3

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
)

// benchTarget is a server to benchmark against, with the blob sizes worth
// measuring there.
type benchTarget struct {
	name  string
	srv   server
	sizes []int
}

// benchTargets returns the in-process fake and, when the integration
// environment names one, the real server. Figures against the fake measure
// the client's overhead only; against a real server they are throughput.
func benchTargets(b *testing.B) []benchTarget {
	targets := []benchTarget{{name: "fake", srv: newFake(b, nil, nil), sizes: []int{1 << 20, 64 << 20}}}
	if ep := os.Getenv(envEndpoint); ep != "" {
		region := os.Getenv(envRegion)
		if region == "" {
			region = DefaultRegion
		}
		targets = append(targets, benchTarget{
			name:  "real",
			srv:   server{endpoint: ep, access: os.Getenv(envAccessKey), secret: os.Getenv(envSecretKey), region: region},
			sizes: []int{1 << 20, 256 << 20},
		})
	}
	return targets
}

// BenchmarkPut measures Put of new blobs (single-part below the default
// threshold, multipart above it), with the default part size and
// concurrency. Each iteration stores a distinct blob, deleted untimed.
func BenchmarkPut(b *testing.B) {
	for _, tgt := range benchTargets(b) {
		for _, size := range tgt.sizes {
			b.Run(fmt.Sprintf("%s/%dMiB", tgt.name, size>>20), func(b *testing.B) {
				be := tgt.srv.newBackend(b, nil)
				data := storagetest.Blob(1, size)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := range b.N {
					b.StopTimer()
					binary.LittleEndian.PutUint64(data, uint64(i)) // a new blob each time
					d := content.FromBytes(data)
					b.StartTimer()
					if _, err := be.Put(b.Context(), d, int64(size), bytes.NewReader(data)); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if _, err := be.Delete(b.Context(), d); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkGet measures streaming a whole blob out of the backend.
func BenchmarkGet(b *testing.B) {
	for _, tgt := range benchTargets(b) {
		for _, size := range tgt.sizes {
			b.Run(fmt.Sprintf("%s/%dMiB", tgt.name, size>>20), func(b *testing.B) {
				be := tgt.srv.newBackend(b, nil)
				data := storagetest.Blob(2, size)
				d := content.FromBytes(data)
				if _, err := be.Put(b.Context(), d, int64(size), bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
				data = nil
				b.SetBytes(int64(size))
				b.ResetTimer()
				for range b.N {
					rc, err := be.Get(b.Context(), d, nil)
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.Copy(io.Discard, rc)
					rc.Close()
					if err != nil || n != int64(size) {
						b.Fatalf("read %d of %d bytes: %v", n, size, err)
					}
				}
			})
		}
	}
}
