//go:build !unix

package transfer

import (
	"errors"
	"io/fs"
	"os"
)

// outDir is a directory a tree pull writes files into, opened once while
// the entries stay in it.
type outDir struct{ root *os.Root }

// openOutDir opens the directory dir (slash path) of root.
func openOutDir(root *os.Root, dir string) (*outDir, error) {
	r, err := root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &outDir{root: r}, nil
}

func (d *outDir) close() { d.root.Close() }

// create creates the new file name for writing.
func (d *outDir) create(name string) (outFile, error) {
	f, err := d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// isLink reports whether name is a symbolic link (false when missing).
func (d *outDir) isLink(name string) (bool, error) {
	fi, err := d.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.Mode()&fs.ModeSymlink != 0, nil
}

func (d *outDir) rename(from, to string) error { return d.root.Rename(from, to) }
func (d *outDir) remove(name string)           { _ = d.root.Remove(name) }

// openSync opens the file name to fsync it.
func (d *outDir) openSync(name string) (outFile, error) {
	f, err := d.root.Open(name)
	if err != nil {
		return nil, err
	}
	return f, nil
}
