package bundle_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/bundle"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/memtest"
	"github.com/artifact-store/artstore/internal/tlog"
)

// hookSource is chunkSource calling onOpen with the number of each Open.
type hookSource struct {
	chunkSource
	opens  int
	onOpen func(n int)
}

func (s *hookSource) Open(ctx context.Context, d content.Digest) (io.ReadCloser, error) {
	s.opens++
	s.onOpen(s.opens)
	return s.chunkSource.Open(ctx, d)
}

// TestExportMemoryFlat: exporting a file of 80,000 chunks (a 64-byte block
// repeated, so one blob, and a 7.5 MB manifest) holds neither the manifest
// nor its chunk list in memory: the live heap midway through the content
// is within 2 MiB of the heap before the export.
func TestExportMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("exports 80,000 chunks")
	}
	t.Setenv("TMPDIR", t.TempDir())
	const n = 80_000
	data, m := memtest.Repeated(bytes.Repeat([]byte("artstore"), 8), n)
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	md := content.FromBytes(mb)
	id := "01JDQ8Z4W3C7T1K9M2N5P6R8S0"
	ne, err := eventlog.New("t", id, &eventlog.ArtifactRegistered{
		ID: id, Name: "many", Version: "1", ContentDigest: m.Digest, Size: m.Size, ManifestDigest: md})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := eventlog.Seal(1, "", ne, time.Unix(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	k, err := tlog.GenerateKey(filepath.Join(t.TempDir(), "key"), "artstore/test")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := k.Sign(tlog.Head{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	req := bundle.Request{IDs: []string{id}, Checkpoint: cp, Key: k.VerifierKey()}
	src := &hookSource{chunkSource: chunkSource{events: []eventlog.Event{ev},
		stored: map[content.Digest][]byte{md: mb, m.Chunks[0].Digest: data[:64]}}}
	m, mb, data = content.Manifest{}, nil, nil
	var during int64
	src.onOpen = func(i int) {
		if i == n/2 {
			during = memtest.LiveHeap()
		}
	}
	before := memtest.LiveHeap()
	sum, err := bundle.Export(context.Background(), src, req, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Bytes != 64*n {
		t.Fatalf("exported %d bytes, want %d", sum.Bytes, 64*n)
	}
	t.Logf("live heap before the export %d bytes, midway %d", before, during)
	if grew := during - before; grew > 2<<20 {
		t.Fatalf("live heap grew by %d bytes during the export: it holds the chunk list", grew)
	}
}
