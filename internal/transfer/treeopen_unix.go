//go:build unix

package transfer

import (
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// openRegular opens the regular file name in the directory d, whose open
// handle is df, and returns it with its permission bits and size, or
// errNotRegular (closed) when it is something else by now. It opens
// relative to the directory's descriptor (one openat, no walk of the
// path), never following a link, and without O_NONBLOCK surprises: a
// named pipe swapped in is opened without waiting for a writer and then
// refused. The file is read with plain read(2) calls: Go's *os.File would
// cost four fcntl and an epoll_ctl per file to learn it cannot poll it.
func openRegular(d *os.Root, df *os.File, name string) (io.ReadCloser, fs.FileMode, int64, error) {
	fd, err := unix.Openat(int(df.Fd()), name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, 0, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, 0, 0, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, 0, 0, errNotRegular
	}
	return rawFile(fd), fs.FileMode(st.Mode) & fs.ModePerm, st.Size, nil
}

// rawFile is an open file descriptor read with read(2).
type rawFile int

func (f rawFile) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(f), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f rawFile) Close() error { return unix.Close(int(f)) }
