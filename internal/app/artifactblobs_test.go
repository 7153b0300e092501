package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/pkg/api"
)

// TestArtifactBlobAfterRepair: while a file manifest of a per-file layout
// tree is missing, its chunks are not among the tree's blobs (they cannot
// be known); once the manifest is stored again (a repair), they are. The
// set read while the tree was damaged must not outlive the damage: a
// prefixed token's pull after the repair would be refused the chunks.
func TestArtifactBlobAfterRepair(t *testing.T) {
	ctx := context.Background()
	f := newExportFixture(t)
	team := app.Principal{Actor: "ci", Prefix: "team/"}
	read := func(d content.Digest) []byte {
		t.Helper()
		rc, err := f.be.Get(ctx, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tm, err := content.ParseManifest(read(content.MustParseDigest(f.perFile.ManifestDigest)))
	if err != nil {
		t.Fatal(err)
	}
	var fm, chunk content.Digest
	for _, e := range tm.Entries {
		if e.Size > 0 {
			fm, chunk = e.Manifest, e.Digest // a one-chunk file: its chunk is its content
			break
		}
	}
	saved := read(fm)
	if _, err := f.be.Delete(ctx, fm); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ArtifactBlob(ctx, team, f.perFile.ID, chunk); !errors.Is(app.Sentinel(err), api.ErrNotFound) {
		t.Fatalf("a chunk of a file whose manifest is missing: %v, want not found", err)
	}
	if _, err := f.svc.ArtifactBlob(ctx, team, f.perFile.ID, fm); err != nil {
		t.Fatalf("the missing file manifest itself: %v, want it in the set", err)
	}
	if _, err := f.be.Put(ctx, fm, int64(len(saved)), bytes.NewReader(saved)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ArtifactBlob(ctx, team, f.perFile.ID, chunk); err != nil {
		t.Errorf("the chunk after its file manifest was stored again: %v, want it in the set", err)
	}
	miss, err := f.svc.ArtifactBlobsMissing(ctx, team, f.perFile.ID, api.MissingRequest{Digests: []string{chunk.String(), fm.String()}})
	if err != nil || len(miss.Missing) != 0 {
		t.Errorf("missing check after the repair = %v, %v; want nothing missing", miss.Missing, err)
	}
}
