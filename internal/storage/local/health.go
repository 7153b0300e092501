package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/textfmt"
)

// Health reports whether the root directory exists and is a writable
// directory (and so is its tmp/ directory, when present), with the capacity
// of the filesystem holding it. A filesystem with no space left for
// unprivileged users is reported unhealthy.
func (b *Backend) Health(_ context.Context) storage.Health {
	h := storage.Health{TotalBytes: -1, UsedBytes: -1, FreeBytes: -1}
	fi, err := os.Stat(b.root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		h.Detail = fmt.Sprintf("root directory %s is missing (unmounted disk or deleted directory?); artstore does not recreate it", b.root)
		return h
	case err != nil:
		h.Detail = fmt.Sprintf("cannot stat root directory: %v", err)
		return h
	case !fi.IsDir():
		h.Detail = fmt.Sprintf("root %s is not a directory", b.root)
		return h
	}
	if total, used, free, err := diskUsage(b.root); err == nil {
		h.TotalBytes, h.UsedBytes, h.FreeBytes = total, used, free
	}
	if err := checkWritable(b.root); err != nil {
		h.Detail = fmt.Sprintf("root directory %s is not writable: %v", b.root, err)
		return h
	}
	tmp := filepath.Join(b.root, tmpDir)
	if fi, err := os.Lstat(tmp); err == nil {
		if !fi.IsDir() {
			h.Detail = fmt.Sprintf("%s is not a directory; uploads cannot be staged", tmp)
			return h
		}
		if err := checkWritable(tmp); err != nil {
			h.Detail = fmt.Sprintf("%s is not writable: %v", tmp, err)
			return h
		}
	}
	if h.FreeBytes == 0 {
		h.Detail = fmt.Sprintf("local directory %s: no free space left on its filesystem (%s in total)", b.root, textfmt.Bytes(h.TotalBytes))
		return h
	}
	h.Healthy = true
	if h.TotalBytes >= 0 {
		h.Detail = fmt.Sprintf("local directory %s: %s free of %s", b.root, textfmt.Bytes(h.FreeBytes), textfmt.Bytes(h.TotalBytes))
	} else {
		h.Detail = fmt.Sprintf("local directory %s (capacity unknown on this platform)", b.root)
	}
	return h
}
