package local_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// TestPutAfterShardDirReplaced removes a shard directory behind the
// backend's back after a Put used it (another process's Delete pruning it,
// or an operator), optionally creating it again, and checks that the next
// Put into it succeeds and its blob is at its key: a handle of the removed
// directory must not swallow the blob.
func TestPutAfterShardDirReplaced(t *testing.T) {
	for _, recreate := range []bool{false, true} {
		b := newLocal(t)
		blobs := sharingPrefix(t, 2, 4)
		da, db := content.FromBytes(blobs[0]), content.FromBytes(blobs[1])
		if _, err := b.Put(t.Context(), da, int64(len(blobs[0])), bytes.NewReader(blobs[0])); err != nil {
			t.Fatal(err)
		}
		shard := filepath.Dir(blobPath(b, da))
		if err := os.RemoveAll(filepath.Dir(shard)); err != nil {
			t.Fatal(err)
		}
		if recreate {
			if err := os.MkdirAll(shard, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []struct {
			d    content.Digest
			data []byte
		}{{db, blobs[1]}, {da, blobs[0]}} {
			created, err := b.Put(t.Context(), p.d, int64(len(p.data)), bytes.NewReader(p.data))
			if err != nil || !created {
				t.Fatalf("recreate=%v: Put = %v, %v; want a new blob", recreate, created, err)
			}
			if got, err := os.ReadFile(blobPath(b, p.d)); err != nil || !bytes.Equal(got, p.data) {
				t.Fatalf("recreate=%v: blob at its key: %v", recreate, err)
			}
		}
		wantNoTemp(t, b)
	}
}

// TestPutAfterRootReplaced moves the root directory away and creates an
// empty one at its path (a disk swapped under a running server): Puts must
// go to the directory now at the path, never into the one moved away.
func TestPutAfterRootReplaced(t *testing.T) {
	b := newLocal(t)
	first, second := []byte("first blob"), []byte("second blob")
	if _, err := b.Put(t.Context(), content.FromBytes(first), int64(len(first)), bytes.NewReader(first)); err != nil {
		t.Fatal(err)
	}
	moved := b.Root() + ".old"
	if err := os.Rename(b.Root(), moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(b.Root(), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{first, second} {
		d := content.FromBytes(data)
		if _, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(blobPath(b, d)); err != nil {
			t.Errorf("blob %q not in the new root: %v", data, err)
		}
	}
	rel, _ := filepath.Rel(b.Root(), blobPath(b, content.FromBytes(second)))
	if _, err := os.Stat(filepath.Join(moved, rel)); err == nil {
		t.Error("a Put wrote into the root directory that was moved away")
	}
}

// TestPutSeesBlobInRecreatedShardDir: after a Put used a shard directory,
// another process prunes it and recreates it holding a blob; a Put of that
// blob must find it (created=false), not look through a handle of the
// removed directory and store it again.
func TestPutSeesBlobInRecreatedShardDir(t *testing.T) {
	b := newLocal(t)
	blobs := sharingPrefix(t, 2, 4)
	da, db := content.FromBytes(blobs[0]), content.FromBytes(blobs[1])
	if _, err := b.Put(t.Context(), da, int64(len(blobs[0])), bytes.NewReader(blobs[0])); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Dir(filepath.Dir(blobPath(b, da)))); err != nil {
		t.Fatal(err)
	}
	writeFile(t, blobPath(b, db), blobs[1])
	created, err := b.Put(t.Context(), db, int64(len(blobs[1])), bytes.NewReader(blobs[1]))
	if err != nil || created {
		t.Fatalf("Put of a blob another process stored = %v, %v; want false, nil", created, err)
	}
	wantNoTemp(t, b)
}
