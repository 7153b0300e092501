//go:build unix

package transfer

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// outDir is a directory a tree pull writes files into, opened once while
// the entries stay in it: each file costs system calls on the directory's
// descriptor (openat, fstatat, renameat), not a walk of its path, and is
// written with plain write(2) (an *os.File costs four fcntl and an
// epoll_ctl per file to learn it cannot poll it).
type outDir struct {
	root *os.Root
	f    *os.File // the directory itself, for its descriptor
	fd   int
}

// openOutDir opens the directory dir (slash path) of root.
func openOutDir(root *os.Root, dir string) (*outDir, error) {
	r, err := root.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	f, err := r.Open(".")
	if err != nil {
		r.Close()
		return nil, err
	}
	return &outDir{root: r, f: f, fd: int(f.Fd())}, nil
}

func (d *outDir) close() {
	d.f.Close()
	d.root.Close()
}

// create creates the new file name for writing, refusing to follow a
// link there or to reuse an existing file.
func (d *outDir) create(name string) (outFile, error) {
	fd, err := unix.Openat(d.fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, &fs.PathError{Op: "create", Path: name, Err: err}
	}
	return &rawOut{fd: fd}, nil
}

// isLink reports whether name is a symbolic link (false when missing).
func (d *outDir) isLink(name string) (bool, error) {
	var st unix.Stat_t
	err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, &fs.PathError{Op: "lstat", Path: name, Err: err}
	}
	return st.Mode&unix.S_IFMT == unix.S_IFLNK, nil
}

// rename renames from to to within the directory.
func (d *outDir) rename(from, to string) error {
	if err := unix.Renameat(d.fd, from, d.fd, to); err != nil {
		if err == unix.EISDIR || err == unix.ENOTEMPTY || err == unix.EEXIST {
			return &fs.PathError{Op: "rename", Path: to, Err: fs.ErrExist}
		}
		return &fs.PathError{Op: "rename", Path: to, Err: err}
	}
	return nil
}

// remove removes the file name, best effort.
func (d *outDir) remove(name string) { _ = unix.Unlinkat(d.fd, name, 0) }

// rawOut is a new file written with write(2) in pieces of at most
// writePiece bytes, starting the kernel's writeback every writebackChunk
// bytes (see earlyWriteback).
type rawOut struct {
	fd           int
	off, started int64
}

func (o *rawOut) Write(p []byte) (int, error) {
	var n int
	for len(p) > 0 {
		m, err := unix.Write(o.fd, p[:min(len(p), writePiece)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		n += m
		p = p[m:]
		o.off += int64(m)
		if o.off-o.started >= writebackChunk {
			startWriteback(uintptr(o.fd), o.started, o.off-o.started)
			o.started = o.off
		}
	}
	return n, nil
}

func (o *rawOut) Chmod(mode fs.FileMode) error { return unix.Fchmod(o.fd, uint32(mode.Perm())) }
func (o *rawOut) Sync() error                  { return unix.Fsync(o.fd) }
func (o *rawOut) Close() error                 { return unix.Close(o.fd) }

// openSync opens the file name to fsync it.
func (d *outDir) openSync(name string) (outFile, error) {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return &rawOut{fd: fd}, nil
}
