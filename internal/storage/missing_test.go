package storage_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
)

func TestMissing(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "blobs")
	b, err := local.New("default", root)
	if err != nil {
		t.Fatal(err)
	}
	var ds []content.Digest
	for i := range 40 {
		data := []byte{byte(i)}
		d := content.FromBytes(data)
		ds = append(ds, d)
		if i%3 == 0 {
			continue // leave every third one absent
		}
		if _, err := b.Put(ctx, d, 1, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := storage.Missing(ctx, b, ds)
	if err != nil {
		t.Fatal(err)
	}
	var want []content.Digest
	for i := 0; i < len(ds); i += 3 {
		want = append(want, ds[i])
	}
	if len(got) != len(want) {
		t.Fatalf("Missing returned %d digests, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Missing[%d] = %s, want %s (order must follow the input)", i, got[i], want[i])
		}
	}
	if got, err := storage.Missing(ctx, b, nil); err != nil || len(got) != 0 {
		t.Fatalf("Missing(nil) = %v, %v", got, err)
	}

	// Any failure other than not-found fails the call rather than calling a
	// blob absent (which would make a push upload it again, or a registry
	// refuse a present blob).
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.Missing(ctx, b, ds[:3]); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Missing on a vanished root: %v, want ErrUnavailable", err)
	}
}
