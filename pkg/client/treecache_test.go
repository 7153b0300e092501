package client

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// TestPushTreeCacheChunksCollected: when the tree cache names a manifest
// the store still holds but its chunks are gone, registration refuses it
// (missing blobs) and the push reads the tree again, without the cache,
// storing the chunks; the artifact then pulls whole.
func TestPushTreeCacheChunksCollected(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the tree cache is Linux-only")
	}
	l, _ := newStore(t)
	l.treeCacheNow = func() time.Time { return time.Now().Add(time.Hour) }
	ctx := context.Background()
	src := t.TempDir()
	files := map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo bravo", "sub/c.txt": "charlie"}
	for p, body := range files {
		full := filepath.Join(src, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	req := PushRequest{Path: src, Name: "trees/t", TreeCacheDir: t.TempDir()}
	first, err := l.Push(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	md := content.MustParseDigest(first.Artifact.ManifestDigest)
	var chunks []content.Digest
	err = l.backend.Walk(ctx, func(i storage.Info) error {
		if i.Digest != md {
			chunks = append(chunks, i.Digest)
		}
		return nil
	})
	if err != nil || len(chunks) == 0 {
		t.Fatalf("walk: %v, %d chunks", err, len(chunks))
	}
	for _, d := range chunks {
		if _, err := l.backend.Delete(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	again, err := l.Push(ctx, req)
	if err != nil {
		t.Fatalf("push with the chunks gone: %v", err)
	}
	if again.Artifact.ManifestDigest != first.Artifact.ManifestDigest || again.UploadedBytes == 0 {
		t.Fatalf("second push: manifest %s (first %s), uploaded %d bytes; want the same manifest, chunks uploaded again",
			again.Artifact.ManifestDigest, first.Artifact.ManifestDigest, again.UploadedBytes)
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := l.PullToPath(ctx, "trees/t", out, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	for p, body := range files {
		if b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p))); err != nil || string(b) != body {
			t.Fatalf("%s: %q, %v", p, b, err)
		}
	}
}
