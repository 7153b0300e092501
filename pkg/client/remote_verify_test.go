package client_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/pkg/client"
)

// TestRemoteVerifyFindsDamage: verify through the daemon's blob API walks
// a tree's file manifests and reports a file manifest that is gone and a
// chunk that is gone, each once, in the tree's order, and goes on past
// them.
func TestRemoteVerifyFindsDamage(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	r := d.open(t, "write")
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	randomFile(t, src, "a.bin", 300<<10, 4)
	randomFile(t, filepath.Join(src, "sub"), "b.txt", 10, 5)
	randomFile(t, filepath.Join(src, "sub"), "c.txt", 20, 6)
	res, err := r.Push(ctx, client.PushRequest{Path: src, Name: "trees/damaged"})
	if err != nil {
		t.Fatal(err)
	}
	read := func(d2 content.Digest) content.Manifest {
		t.Helper()
		rc, err := d.be.Get(ctx, d2, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		m, err := content.ParseManifest(b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	files := map[string]content.TreeEntry{}
	for _, e := range read(content.MustParseDigest(res.ManifestDigest)).Entries {
		files[e.Path] = e
	}
	chunk := read(files["a.bin"].Manifest).Chunks[0].Digest
	for _, gone := range []content.Digest{chunk, files["sub/b.txt"].Manifest} {
		if _, err := d.be.Delete(ctx, gone); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := r.Verify(ctx, client.VerifyOptions{Ref: "trees/damaged"})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, p := range rep.Problems {
		kinds = append(kinds, p.Kind)
	}
	if rep.OK || !slices.Equal(kinds, []string{client.ProblemMissing, client.ProblemMissing}) ||
		!strings.Contains(rep.Problems[0].Message, "chunk "+chunk.Short()) ||
		!strings.Contains(rep.Problems[1].Message, "file manifest "+files["sub/b.txt"].Manifest.Short()) {
		t.Fatalf("verify = %+v; want the missing chunk of a.bin, then the missing manifest of sub/b.txt", rep)
	}
	// c.txt, after the missing manifest, was checked: its chunk counts.
	if rep.Blobs < 2 {
		t.Errorf("verify counted %d blobs; want a.bin's and c.txt's chunks", rep.Blobs)
	}
}
