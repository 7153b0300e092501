package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage/local"
)

// TestBlobSetsEvict: the cache keeps its digests under the bound by
// dropping the least recently used sets, loads a set once while it is
// kept, and keeps a set larger than the bound alone.
func TestBlobSetsEvict(t *testing.T) {
	var c blobSets
	loads := map[string]int{}
	set := func(id string, n int) func() (map[content.Digest]struct{}, bool, error) {
		return func() (map[content.Digest]struct{}, bool, error) {
			loads[id]++
			s := map[content.Digest]struct{}{}
			for i := range n {
				s[content.FromBytes(fmt.Appendf(nil, "%s %d", id, i))] = struct{}{}
			}
			return s, !strings.HasPrefix(id, "damaged"), nil
		}
	}
	third := maxBlobSetDigests / 3
	in := content.FromBytes([]byte("a 0"))
	for _, id := range []string{"a", "b", "a", "c", "a"} {
		if _, err := c.get(id, set(id, third)); err != nil {
			t.Fatal(err)
		}
	}
	// d pushes out the least recently used of b and c: b.
	if _, err := c.get("d", set("d", third)); err != nil {
		t.Fatal(err)
	}
	if a, _ := c.get("a", set("a", third)); !has(a, in) || loads["a"] != 1 {
		t.Errorf("a: holds %s %v, loaded %d times; want held, loaded once", in.Short(), has(a, in), loads["a"])
	}
	if _, ok := c.sets["b"]; ok || c.size > maxBlobSetDigests {
		t.Errorf("after d: sets %d, digests %d; want b gone and at most %d", len(c.sets), c.size, maxBlobSetDigests)
	}
	if _, err := c.get("huge", set("huge", maxBlobSetDigests+1)); err != nil {
		t.Fatal(err)
	}
	if len(c.sets) != 1 || len(c.order) != 1 || c.size != maxBlobSetDigests+1 {
		t.Errorf("after a set over the bound: %d sets, %d digests; want it alone", len(c.sets), c.size)
	}
	// A set that is not complete is loaded on every call and never kept.
	for range 2 {
		if s, err := c.get("damaged", set("damaged", 3)); err != nil || len(s) != 3 {
			t.Fatalf("damaged: %d digests, %v", len(s), err)
		}
	}
	if _, kept := c.sets["damaged"]; kept || loads["damaged"] != 2 || len(c.sets) != 1 {
		t.Errorf("an incomplete set: kept %v, loaded %d times, %d sets; want not kept, loaded twice", kept, loads["damaged"], len(c.sets))
	}
}

func has(set map[content.Digest]struct{}, d content.Digest) bool {
	_, ok := set[d]
	return ok
}

// TestArtifactBlobsDamagedFileManifest: a per-file layout tree's file
// manifest that is missing, or whose stored bytes no longer match its
// digest, is in the set without its chunks: what a damaged manifest lists
// (here another artifact's chunk) is granted nothing.
func TestArtifactBlobsDamagedFileManifest(t *testing.T) {
	ctx := context.Background()
	be, err := local.New("default", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put := func(b []byte) content.Digest {
		d := content.FromBytes(b)
		if _, err := be.Put(ctx, d, int64(len(b)), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		return d
	}
	fileManifest := func(data []byte) (content.Digest, content.Digest) {
		d := put(data)
		m := content.Manifest{Kind: content.KindFile, Size: int64(len(data)), Digest: d, Chunker: content.DefaultChunkerParams(),
			Chunks: []content.ChunkRef{{Digest: d, Size: int64(len(data))}}}
		b, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return put(b), d
	}
	okM, okChunk := fileManifest([]byte("kept"))
	goneM, goneChunk := fileManifest([]byte("gone"))
	badM, badChunk := fileManifest([]byte("damaged"))
	_, secret := fileManifest([]byte("another team's secret"))
	var entries []content.TreeEntry
	for i, m := range []content.Digest{okM, goneM, badM} {
		entries = append(entries, content.TreeEntry{Path: fmt.Sprint("f", i), Type: content.EntryFile, Mode: 0o644, Size: 4, Digest: okChunk, Manifest: m})
	}
	tm := content.Manifest{Kind: content.KindTree, Size: 12, Digest: content.TreeDigest(entries), Entries: entries}
	tb, err := tm.Encode()
	if err != nil {
		t.Fatal(err)
	}
	md := put(tb)
	if _, err := be.Delete(ctx, goneM); err != nil {
		t.Fatal(err)
	}
	// The damaged manifest's file now lists the secret chunk.
	forged := content.Manifest{Kind: content.KindFile, Size: 21, Digest: secret, Chunker: content.DefaultChunkerParams(),
		Chunks: []content.ChunkRef{{Digest: secret, Size: 21}}}
	fb, err := forged.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(be.Root(), filepath.FromSlash(badM.Key())), fb, 0o644); err != nil {
		t.Fatal(err)
	}
	set, complete, err := artifactBlobs(ctx, be, md)
	if err != nil {
		t.Fatal(err)
	}
	if complete {
		t.Error("the set of a tree with a missing and a damaged file manifest is said to be complete")
	}
	for _, d := range []content.Digest{md, okM, okChunk, goneM, badM} {
		if _, ok := set[d]; !ok {
			t.Errorf("%s is not in the set", d.Short())
		}
	}
	for _, d := range []content.Digest{goneChunk, badChunk, secret} {
		if _, ok := set[d]; ok {
			t.Errorf("%s is in the set: a missing or damaged manifest granted it", d.Short())
		}
	}
}
