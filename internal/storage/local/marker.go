package local

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/artifact-store/artstore/internal/storage"
)

var _ storage.Marker = (*Backend)(nil)

// maxMarkerSize bounds what ReadMarker reads: the marker is a few hundred
// bytes of JSON.
const maxMarkerSize = 64 << 10

// ReadMarker returns the bytes of <root>/artstore-store.json
// (storage.Marker).
func (b *Backend) ReadMarker(ctx context.Context) ([]byte, error) {
	root, err := b.openRoot()
	if err != nil {
		return nil, fmt.Errorf("local backend %q: read store marker: %w", b.id, err)
	}
	defer root.Close()
	data, err := fs.ReadFile(root.FS(), storage.MarkerName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("local backend %q: no store marker %s: %w", b.id, filepath.Join(b.root, storage.MarkerName), storage.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("local backend %q: read store marker: %w", b.id, err)
	case len(data) > maxMarkerSize:
		return nil, fmt.Errorf("local backend %q: store marker %s is %d bytes, more than a marker can be", b.id, filepath.Join(b.root, storage.MarkerName), len(data))
	}
	return data, nil
}

// WriteMarker writes <root>/artstore-store.json through a temporary file
// renamed into place, both synced (storage.Marker).
func (b *Backend) WriteMarker(ctx context.Context, data []byte) error {
	root, err := b.openRoot()
	if err != nil {
		return fmt.Errorf("local backend %q: write store marker: %w", b.id, err)
	}
	defer root.Close()
	tmp := path.Join(tmpDir, "marker-"+rand.Text())
	if _, err := ensureDirs(root, tmpDir); err != nil {
		return fmt.Errorf("local backend %q: write store marker: %w", b.id, err)
	}
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("local backend %q: write store marker: %w", b.id, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, storage.MarkerName)
	}
	if err == nil {
		err = opRoot{Root: root}.syncDir(".")
	}
	if err != nil {
		root.Remove(tmp)
		return fmt.Errorf("local backend %q: write store marker %s: %w", b.id, filepath.Join(b.root, storage.MarkerName), err)
	}
	return nil
}
