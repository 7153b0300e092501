package transfer

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/artifact-store/artstore/internal/content"
)

// fingerprintTree returns the SHA-256 of the metadata of every entry below
// dir (see TreeCache): one fstatat(2) per entry (and a readlinkat(2) per
// link), no file opened. cacheable is false when the tree holds a device,
// socket or named pipe, or an entry whose modification or change time is
// not before since (too recent to trust, see racyWindow). Links are never
// followed.
func fingerprintTree(dir string, since time.Time) (fp content.Digest, cacheable bool, err error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return content.Digest{}, false, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	w := &fpWalk{h: sha256.New(), since: since.UnixNano(), ok: true}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return content.Digest{}, false, &os.PathError{Op: "fstat", Path: dir, Err: err}
	}
	fmt.Fprintf(w.h, "artstore tree fingerprint %d\x00%o\x00", treeCacheVersion, st.Mode)
	if err := w.walk(fd, ""); err != nil || !w.ok {
		return content.Digest{}, false, err
	}
	return content.FromSHA256([sha256.Size]byte(w.h.Sum(nil))), true, nil
}

// fpWalk is one fingerprintTree walk.
type fpWalk struct {
	h     hash.Hash
	since int64 // entries with a time at or after it are too recent
	ok    bool  // nothing seen yet that makes the tree uncacheable
	buf   [8 * 8]byte
	link  [4096]byte
}

// walk adds the entries of the directory open as fd (at slash path
// prefix, "" for the root), sorted by name, and closes fd.
func (w *fpWalk) walk(fd int, prefix string) error {
	df := os.NewFile(uintptr(fd), prefix)
	defer df.Close()
	ents, err := readDir(df)
	if err != nil {
		return err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.name
	}
	slices.Sort(names)
	for _, name := range names {
		p := name
		if prefix != "" {
			p = prefix + "/" + name
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &os.PathError{Op: "lstat", Path: p, Err: err}
		}
		if err := w.entry(fd, name, p, &st); err != nil || !w.ok {
			return err
		}
	}
	return nil
}

// entry adds the entry name of the directory fd (slash path p), and the
// entries below it when it is a directory.
func (w *fpWalk) entry(fd int, name, p string, st *unix.Stat_t) error {
	if max(st.Mtim.Nano(), st.Ctim.Nano()) >= w.since {
		w.ok = false
		return nil
	}
	w.h.Write([]byte(p))
	b := w.buf[:0]
	for _, v := range []uint64{uint64(st.Mode), uint64(st.Size), uint64(st.Mtim.Nano()), uint64(st.Ctim.Nano()),
		st.Ino, uint64(st.Dev)} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	w.h.Write([]byte{0})
	w.h.Write(b)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return nil
	case unix.S_IFLNK:
		n, err := unix.Readlinkat(fd, name, w.link[:])
		if err != nil {
			return &os.PathError{Op: "readlink", Path: p, Err: err}
		}
		if n >= len(w.link) {
			w.ok = false // longer than any link a tree stores
			return nil
		}
		w.h.Write(binary.LittleEndian.AppendUint64(nil, uint64(n)))
		w.h.Write(w.link[:n])
		return nil
	case unix.S_IFDIR:
		sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: p, Err: err}
		}
		// The end of a directory's entries, so that "a/b" then "c" and
		// "a" then "b/c" hash apart.
		defer w.h.Write([]byte("\x00end/"))
		return w.walk(sub, p)
	}
	w.ok = false // a device, socket or named pipe
	return nil
}
