package gc_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/gc"
	"github.com/artifact-store/artstore/internal/memtest"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
)

// sampleAt is a backend whose Get of one blob calls probe before the first
// read of it and again once half of it has been read.
type sampleAt struct {
	storage.Backend
	d     content.Digest
	half  int64
	probe func()
}

func (b *sampleAt) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	rc, err := b.Backend.Get(ctx, d, rng)
	if err != nil || d != b.d || b.probe == nil {
		return rc, err
	}
	b.probe()
	return &probeReader{ReadCloser: rc, left: b.half, probe: b.probe}, nil
}

type probeReader struct {
	io.ReadCloser
	left  int64
	probe func()
}

func (r *probeReader) Read(p []byte) (int, error) {
	if r.left <= 0 && r.probe != nil {
		r.probe()
		r.probe = nil
	}
	n, err := r.ReadCloser.Read(p[:min(int64(len(p)), max(r.left, 1))])
	r.left -= int64(n)
	return n, err
}

// TestMarkStreamsManifests: the mark phase reads a manifest as a stream
// into the live set; it does not hold the manifest's bytes or its parsed
// chunk list (80,000 chunks of one repeated block: a 7.5 MB manifest, one
// live blob).
func TestMarkStreamsManifests(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a 7.5 MB manifest")
	}
	ctx := context.Background()
	f := newFixture(t)
	md, bd, orphan, size := registerMany(t, f)

	var samples []int64
	be := &sampleAt{Backend: f.be, d: md, half: size / 2, probe: func() { samples = append(samples, memtest.LiveHeap()) }}
	res, err := gc.Run(ctx, f.log, be, gc.Options{Actor: "gc", Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2 {
		t.Fatalf("%d heap samples; want one as the manifest is opened and one halfway through it", len(samples))
	}
	t.Logf("live heap as the manifest is opened %d bytes, halfway through it %d", samples[0], samples[1])
	if grew := samples[1] - samples[0]; grew > 1<<20 {
		t.Fatalf("live heap grew by %d bytes halfway through a %d-byte manifest: the mark phase holds it", grew, size)
	}
	if len(res.Collected) != 1 || res.Collected[0].Digest != orphan || res.LiveBlobs != 2 {
		t.Fatalf("collected %v with %d live blobs; want only the orphan %s, and 2 live", res.Collected, res.LiveBlobs, orphan.Short())
	}
	for _, d := range []content.Digest{md, bd} {
		if _, err := f.be.Head(ctx, d); err != nil {
			t.Fatalf("live blob %s: %v", d.Short(), err)
		}
	}
}

// registerMany registers a file of 80,000 chunks of one repeated block and
// stores one unreferenced blob; it returns the manifest's digest, the
// block's, the orphan's and the manifest's size. (A function of its own, so
// that its large buffers are garbage once it returns.)
func registerMany(t *testing.T, f *fixture) (md, bd, orphan content.Digest, size int64) {
	t.Helper()
	data, m := memtest.Repeated(bytes.Repeat([]byte("collect!"), 8), 80_000)
	bd = f.put(t, data[:64])
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	md = f.put(t, mb)
	f.register(t, registry.RegisterRequest{Name: "many", ContentDigest: m.Digest, Size: m.Size, ManifestDigest: md})
	orphan = f.put(t, []byte("nobody's"))
	size = int64(len(mb))

	return md, bd, orphan, size
}
