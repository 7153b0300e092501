//go:build !unix

package transfer

import (
	"io"
	"io/fs"
	"os"
)

// openRegular opens the regular file name in the directory d and returns
// it with its permission bits and size, or errNotRegular (closed) when it
// is something else by now.
func openRegular(d *os.Root, _ *os.File, name string) (io.ReadCloser, fs.FileMode, int64, error) {
	f, err := d.Open(name)
	if err != nil {
		return nil, 0, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, 0, errNotRegular
	}
	return f, st.Mode().Perm(), st.Size(), nil
}
