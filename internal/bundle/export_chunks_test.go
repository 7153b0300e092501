package bundle_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/bundle"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/tlog"
)

// chunkSource is a bundle.Source of one file artifact whose blobs are in
// stored, read through verifying readers as the Source contract says.
type chunkSource struct {
	events []eventlog.Event
	stored map[content.Digest][]byte
}

func (s *chunkSource) Events(_ context.Context, id string, size int64) ([]eventlog.Event, error) {
	return s.events, nil
}

func (s *chunkSource) InclusionProof(context.Context, int64, int64) (tlog.Proof, error) {
	return tlog.Proof{}, nil
}

func (s *chunkSource) Open(_ context.Context, d content.Digest) (io.ReadCloser, error) {
	b, ok := s.stored[d]
	if !ok {
		return nil, errors.New("no such blob")
	}
	return io.NopCloser(content.NewVerifyingReader(bytes.NewReader(b), d, -1)), nil
}

// TestExportVerifiesLastChunk: the content of a file is copied up to its
// size, which the last chunk's reader reaches without reporting its end,
// where it checks the digest. Export must still read every chunk to its
// end, so a damaged last chunk (same length, other bytes) fails the
// export instead of entering the bundle.
func TestExportVerifiesLastChunk(t *testing.T) {
	c1, c2 := []byte("first chunk "), []byte("second chunk")
	d1, d2 := content.FromBytes(c1), content.FromBytes(c2)
	all := append(append([]byte{}, c1...), c2...)
	m := content.Manifest{Kind: content.KindFile, Size: int64(len(all)), Digest: content.FromBytes(all), Chunker: content.DefaultChunkerParams(),
		Chunks: []content.ChunkRef{{Digest: d1, Size: int64(len(c1))}, {Digest: d2, Size: int64(len(c2))}}}
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	md := content.FromBytes(mb)
	ne, err := eventlog.New("t", "01JDQ8Z4W3C7T1K9M2N5P6R8S0", &eventlog.ArtifactRegistered{
		ID: "01JDQ8Z4W3C7T1K9M2N5P6R8S0", Name: "a", Version: "1", ContentDigest: m.Digest, Size: m.Size, ManifestDigest: md})
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
	req := bundle.Request{IDs: []string{ev.Subject}, Checkpoint: cp, Key: k.VerifierKey()}
	src := &chunkSource{events: []eventlog.Event{ev}, stored: map[content.Digest][]byte{md: mb, d1: c1, d2: c2}}
	if _, err := bundle.Export(context.Background(), src, req, io.Discard); err != nil {
		t.Fatalf("export of intact blobs: %v", err)
	}
	src.stored[d2] = []byte("SECOND CHUNK")
	if _, err := bundle.Export(context.Background(), src, req, io.Discard); !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("export with a damaged last chunk: %v, want ErrMismatch", err)
	}
}
