//go:build !linux

package local

import (
	"errors"
	"io"
	"os"
)

// setDirect: direct I/O is only used on Linux.
func setDirect(*os.File, bool) error { return errors.ErrUnsupported }

// cached: without direct I/O, every read goes through the page cache.
func cached(*os.File, int64) bool { return true }

func pread(f *os.File, buf []byte, off int64) (int, error) {
	n, err := f.ReadAt(buf, off)
	if err == io.EOF {
		err = nil
	}
	return n, err
}
