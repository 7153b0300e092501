package transfer

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

func TestCopyMissing(t *testing.T) {
	ctx := context.Background()
	src := newMemStore()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"a/big.bin":  string(randBytes(7, 200<<10)),
		"a/copy.bin": string(randBytes(7, 200<<10)),
		"b.txt":      "small",
		"empty/":     "",
	}, nil)
	tree, err := PushTree(ctx, dir, src, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	file, err := Push(ctx, bytes.NewReader(randBytes(8, 300<<10)), src, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	for _, md := range []content.Digest{tree.ManifestDigest, file.ManifestDigest} {
		dst := newMemStore()
		// dst holds some of the blobs already: every other one.
		i := 0
		for d, b := range src.blobs {
			if i++; i%2 == 0 {
				dst.blobs[d] = bytes.Clone(b)
			}
		}
		had := len(dst.blobs)
		res, err := CopyMissing(ctx, md, src, dst, PullOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Blobs == 0 || len(dst.blobs) != had+res.Blobs {
			t.Fatalf("copied %+v; dst went from %d to %d blobs", res, had, len(dst.blobs))
		}
		// dst now pulls the artifact whole.
		if md == tree.ManifestDigest {
			if _, err := PullTree(ctx, md, dst, t.TempDir(), PullOptions{}); err != nil {
				t.Fatalf("pull the copied tree: %v", err)
			}
		} else if _, err := Pull(ctx, md, dst, &bytes.Buffer{}, PullOptions{}); err != nil {
			t.Fatalf("pull the copied file: %v", err)
		}
		again, err := CopyMissing(ctx, md, src, dst, PullOptions{})
		if err != nil || again.Blobs != 0 {
			t.Fatalf("a second copy: %+v, %v; want nothing copied", again, err)
		}
	}

	// A damaged blob in src is refused by dst's Put: nothing wrong is stored.
	m := manifestOf(t, src, file.ManifestDigest)
	bad := m.Chunks[0].Digest
	src.blobs[bad][0] ^= 1
	dst := newMemStore()
	_, err = CopyMissing(ctx, file.ManifestDigest, src, dst, PullOptions{Retry: RetryPolicy{MaxAttempts: 1}})
	if !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("copy of a damaged chunk: %v, want a mismatch", err)
	}
	if _, ok := dst.blobs[bad]; ok {
		t.Fatal("the damaged chunk was stored")
	}
	if _, ok := dst.blobs[file.ManifestDigest]; ok {
		t.Fatal("the manifest was stored before its chunks")
	}
}
