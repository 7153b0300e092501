package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/pkg/api"
)

// urlOnly presigns without a server: PullURLs' pages cost its scan, not
// the signing.
type urlOnly struct{}

func (urlOnly) PresignGet(_ context.Context, d content.Digest, ttl time.Duration) (storage.SignedRequest, error) {
	return storage.SignedRequest{Method: "GET", URL: "http://bucket.invalid/" + d.Key(), Expires: time.Now().Add(ttl)}, nil
}

func (urlOnly) PresignPut(context.Context, content.Digest, int64, time.Duration) (storage.SignedRequest, error) {
	return storage.SignedRequest{}, errors.New("no uploads")
}

func (urlOnly) CheckPresign(context.Context) error { return nil }

// readCounter counts the bytes read from a backend's blobs.
type readCounter struct {
	storage.Backend
	n *atomic.Int64
}

func (b readCounter) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	rc, err := b.Backend.Get(ctx, d, rng)
	if err != nil {
		return nil, err
	}
	return countedBody{ReadCloser: rc, n: b.n}, nil
}

type countedBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (r countedBody) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n.Add(int64(n))
	return n, err
}

// BenchmarkPullURLPages walks every page of URLs of a file manifest of
// 50,000 chunks (98 pages): "resume" as PullURLs does, each page from the
// mark the page before left; "from-start" with the marks dropped before
// every page, as a daemon that keeps none would (every page scanned from
// the manifest's start). manifest-B/walk is the manifest bytes read per
// walk.
func BenchmarkPullURLPages(b *testing.B) {
	const n = 50000
	ctx := context.Background()
	lb, err := local.New("bench", filepath.Join(b.TempDir(), "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	m := content.Manifest{Kind: content.KindFile, Chunker: content.DefaultChunkerParams(), Digest: content.FromBytes([]byte("bench"))}
	for i := range n {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], uint64(i))
		m.Chunks = append(m.Chunks, content.ChunkRef{Digest: content.FromBytes(k[:]), Size: 2 << 20})
		m.Size += 2 << 20
	}
	mb, err := m.Encode()
	if err != nil {
		b.Fatal(err)
	}
	md := content.FromBytes(mb)
	if _, err := lb.Put(ctx, md, int64(len(mb)), bytes.NewReader(mb)); err != nil {
		b.Fatal(err)
	}
	var read atomic.Int64
	be := readCounter{Backend: lb, n: &read}
	direct := &Direct{Presigner: urlOnly{}}
	for _, mode := range []string{"resume", "from-start"} {
		b.Run(mode, func(b *testing.B) {
			read.Store(0)
			for b.Loop() {
				marks := &pageMarks{}
				got, from := 0, 0
				for {
					if mode == "from-start" {
						marks = &pageMarks{}
					}
					pg := &pager{ctx: ctx, be: be, marks: marks, direct: direct, md: md, from: from, last: m.Size - 1,
						out: api.PullURLs{Chunks: []api.ChunkURL{}, Done: true}}
					if err := pg.fill(); err != nil && !errors.Is(err, errPageFull) && !errors.Is(err, errRangeEnd) {
						b.Fatal(err)
					}
					got += len(pg.out.Chunks)
					if pg.out.Done {
						break
					}
					from = pg.out.Next
				}
				if got != n {
					b.Fatalf("%d URLs for %d chunks", got, n)
				}
			}
			b.ReportMetric(float64(read.Load())/float64(b.N), "manifest-B/walk")
		})
	}
}
