package serve

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// created records the directories and files a start of the daemon is about
// to create, so that a start that fails removes them again. Only paths that
// did not exist when noted are recorded, so nothing that was there before
// is ever removed; a recorded directory is removed only when, after the
// recorded files are gone, it holds nothing but empty directories.
type created struct {
	dirs  []string // in the order noted; each missing ancestor too
	files []string
}

// dir notes path and each of its missing ancestors.
func (c *created) dir(path string) {
	var missing []string
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append(missing, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- { // outermost first
		c.dirs = append(c.dirs, missing[i])
	}
}

// file notes path if nothing is there yet.
func (c *created) file(path string) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		c.files = append(c.files, path)
	}
}

// undo removes the noted files, then the noted directories, innermost
// first, where they hold only empty directories. Errors are ignored: undo
// runs on a start that already failed, whose error is what the user sees.
func (c *created) undo() {
	for _, f := range c.files {
		_ = os.Remove(f)
	}
	for i := len(c.dirs) - 1; i >= 0; i-- {
		removeEmptyTree(c.dirs[i])
	}
}

// removeEmptyTree removes dir if it holds nothing but directories that, in
// turn, hold nothing else; a file anywhere inside keeps dir and the
// directories on the way to the file.
func removeEmptyTree(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	empty := true
	for _, e := range entries {
		if !e.IsDir() || !removeEmptyTree(filepath.Join(dir, e.Name())) {
			empty = false
		}
	}
	return empty && os.Remove(dir) == nil
}
