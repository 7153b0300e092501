package local

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// setDirect turns O_DIRECT on or off for f. Filesystems without direct I/O
// refuse it with EINVAL.
func setDirect(f *os.File, on bool) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := sc.Control(func(fd uintptr) {
		flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil {
			ferr = err
			return
		}
		if on {
			flags |= unix.O_DIRECT
		} else {
			flags &^= unix.O_DIRECT
		}
		_, ferr = unix.FcntlInt(fd, unix.F_SETFL, flags)
	}); err != nil {
		return err
	}
	return ferr
}

// cached reports whether the page of f at off is in the page cache. It
// asks cachestat(2) (Linux 6.5), which only looks. Older kernels get a
// one-byte read that must not wait for the disk (preadv2 RWF_NOWAIT);
// that read starts readahead of the pages it misses, so there a blob read
// directly once has its first pages cached and is read through the cache
// the next time. When neither can tell, it says true: read as usual.
func cached(f *os.File, off int64) bool {
	var st unix.Cachestat_t
	err := unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Off: uint64(off), Len: 1}, &st, 0)
	if err == nil {
		return st.Cache > 0
	}
	var one [1]byte
	_, err = unix.Preadv2(int(f.Fd()), [][]byte{one[:]}, off, unix.RWF_NOWAIT)
	return err == nil || !errors.Is(err, unix.EAGAIN)
}

// pread is one pread(2) call: at the end of the file it returns fewer
// bytes (0 past the end) and no error.
func pread(f *os.File, buf []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(int(f.Fd()), buf, off)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "read", Path: f.Name(), Err: err}
		}
		return n, nil
	}
}
