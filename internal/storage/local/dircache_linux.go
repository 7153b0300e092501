package local

import (
	"container/list"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// dirCache keeps open file descriptors of the directories a Put works in
// (tmp, the algorithm directory and the shard directories), so that a Put
// creates, renames, stats and fsyncs relative to them (openat, renameat,
// fstatat, fsync of the descriptor) instead of walking each path through
// the os.Root again: about 60 system calls per new small blob become about
// 20. It holds at most dirCacheMax directories, least recently used first
// out; the root's own descriptor is kept besides.
//
// The cache only ever takes the fast path of an operation. Whatever it
// cannot do — a directory that is missing or is not a real directory (a
// symbolic link is refused by O_NOFOLLOW), a rename that fails — it
// reports, and the caller does the same operation through the os.Root,
// with the error handling, symbolic-link checks and retries of the path
// walk. So the guarantees are the os.Root's:
//
//   - Every handle is opened below the root's own descriptor with
//     O_NOFOLLOW|O_DIRECTORY, one component at a time: no handle leads
//     outside the root through a link.
//   - Each operation first opens the root through its path (as every
//     operation does anyway) and compares its device and inode with the
//     cached root's; a root replaced (a disk unmounted lazily and
//     another mounted, a directory restored from backup) empties the
//     cache, and a missing root fails the operation before the cache is
//     consulted, with storage.ErrUnavailable.
//   - A concurrent Delete (in this process or another) may remove a cached
//     shard directory once it is empty, and a Put elsewhere create it
//     again. The cached descriptor then names a deleted directory: it
//     holds no entries and none can be created in it (ENOENT). So an
//     ENOENT through a handle is checked: a directory with no links left
//     was removed, its handle is dropped, and the lookup, create or
//     rename is done through the os.Root, which sees (or recreates) the
//     directory now at the path. A rename that fails drops the handles
//     of every directory on the way, so the directories then fsynced are
//     the ones at the path.
//
// A handle follows its directory if the directory is moved: artstore
// never moves directories below its root, and anyone who can, can write
// blobs there directly anyway.
type dirCache struct {
	path string // the root directory, absolute

	mu   sync.Mutex
	root *dirHandle // nil until first used, or after a reset
	dev  uint64     // root's device and inode
	ino  uint64
	gen  uint64                // counts resets: a handle opened under an older root is not cached
	dirs map[string]*dirHandle // by slash path below the root
	lru  list.List             // of *dirHandle, most recently used first
}

// dirCacheMax bounds the directory handles a backend keeps open. A store's
// 65,536 second-level shard directories do not fit; the first-level ones
// (256), tmp and the algorithm directory do, and the recently used
// second-level ones beside them.
const dirCacheMax = 384

// dirHandle is one open directory. refs counts the operations using fd; a
// handle evicted or dropped while in use is closed by the last release.
type dirHandle struct {
	rel  string
	fd   int
	refs int
	gone bool // dropped from the cache (evicted, forgotten or reset)
	elem *list.Element
}

func newDirCache(root string) *dirCache {
	return &dirCache{path: root, dirs: map[string]*dirHandle{}}
}

// use returns c ready for an operation on root, the os.Root the operation
// opened, or nil when the cache cannot serve it (the caller then works
// through root only). It checks that root is the directory the cache's
// handles were opened under, and starts the cache afresh when it is not.
func (c *dirCache) use(root *os.Root) *dirCache {
	if c == nil {
		return nil
	}
	fi, err := root.Stat(".")
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	dev, ino := st.Dev, st.Ino
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.root != nil && c.dev == dev && c.ino == ino {
		return c
	}
	c.resetLocked()
	fd, err := unix.Open(c.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil || fst.Dev != dev || fst.Ino != ino {
		unix.Close(fd) // the root changed again meanwhile
		return nil
	}
	c.root = &dirHandle{rel: ".", fd: fd}
	c.dev, c.ino = dev, ino
	c.gen++
	return c
}

// resetLocked drops every handle, the root's included.
func (c *dirCache) resetLocked() {
	for _, h := range c.dirs {
		c.dropLocked(h)
	}
	if c.root != nil {
		c.root.gone = true
		if c.root.refs == 0 {
			unix.Close(c.root.fd)
		}
		c.root = nil
	}
}

// close releases every handle; the cache stays usable.
func (c *dirCache) close() {
	c.mu.Lock()
	c.resetLocked()
	c.mu.Unlock()
}

func (c *dirCache) dropLocked(h *dirHandle) {
	if h.gone {
		return
	}
	h.gone = true
	delete(c.dirs, h.rel)
	c.lru.Remove(h.elem)
	if h.refs == 0 {
		unix.Close(h.fd)
	}
}

// forget drops the handle of rel, if cached: its directory was removed (a
// Delete pruned it) or could not be used.
func (c *dirCache) forget(rel string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if h := c.dirs[rel]; h != nil {
		c.dropLocked(h)
	}
	c.mu.Unlock()
}

// forgetPath drops the handles of rel and of every directory above it.
func (c *dirCache) forgetPath(rel string) {
	for ; rel != "." && rel != "/" && rel != ""; rel = path.Dir(rel) {
		c.forget(rel)
	}
}

// removed reports whether the directory of h was removed (a deleted
// directory has no links), and if so drops h: an ENOENT through it says
// nothing about the path.
func (c *dirCache) removed(h *dirHandle) bool {
	var st unix.Stat_t
	if err := unix.Fstat(h.fd, &st); err != nil || st.Nlink == 0 {
		c.forget(h.rel)
		return true
	}
	return false
}

// errStale: a cached handle names a directory removed since it was opened.
var errStale = errors.New("cached directory handle names a removed directory")

func (c *dirCache) release(h *dirHandle) {
	c.mu.Lock()
	h.refs--
	if h.gone && h.refs == 0 {
		unix.Close(h.fd)
	}
	c.mu.Unlock()
}

// dir returns a handle of the directory rel (slash-separated, below the
// root), opening it and its parents as needed; with create, it creates
// the missing ones and returns them, in creation order (their parents'
// entries then need an fsync). The caller releases the handle.
func (c *dirCache) dir(rel string, create bool) (h *dirHandle, created []string, err error) {
	c.mu.Lock()
	if c.root == nil {
		c.mu.Unlock()
		return nil, nil, errors.New("directory cache reset")
	}
	if h := c.dirs[rel]; h != nil {
		h.refs++
		c.lru.MoveToFront(h.elem)
		c.mu.Unlock()
		return h, nil, nil
	}
	gen := c.gen
	var parent *dirHandle
	if !strings.Contains(rel, "/") {
		parent = c.root
		parent.refs++
	}
	c.mu.Unlock()
	if parent == nil {
		if parent, created, err = c.dir(path.Dir(rel), create); err != nil {
			return nil, created, err
		}
	}
	defer c.release(parent)

	base := path.Base(rel)
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(parent.fd, base, flags, 0)
	if errors.Is(err, unix.ENOENT) && parent != c.root && c.removed(parent) {
		return nil, created, errStale
	}
	if errors.Is(err, unix.ENOENT) && create {
		if err = unix.Mkdirat(parent.fd, base, dirMode); err == nil {
			created = append(created, rel)
		}
		if err == nil || errors.Is(err, unix.EEXIST) {
			fd, err = unix.Openat(parent.fd, base, flags, 0)
		}
	}
	if err != nil {
		return nil, created, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.dirs[rel]; h != nil { // another operation opened it meanwhile
		unix.Close(fd)
		h.refs++
		c.lru.MoveToFront(h.elem)
		return h, created, nil
	}
	if c.gen != gen || c.root == nil {
		unix.Close(fd) // reset meanwhile: do not cache a handle of the old root
		return nil, created, errors.New("directory cache reset")
	}
	h = &dirHandle{rel: rel, fd: fd, refs: 1}
	h.elem = c.lru.PushFront(h)
	c.dirs[rel] = h
	for c.lru.Len() > dirCacheMax {
		c.dropLocked(c.lru.Back().Value.(*dirHandle))
	}
	return h, created, nil
}

// touch is touchIfComplete through the cache. ok is false when the cache
// could not answer; the caller then asks the os.Root.
func (c *dirCache) touch(key string, size int64) (exists, ok bool) {
	if c == nil {
		return false, false
	}
	h, _, err := c.dir(path.Dir(key), false)
	if errors.Is(err, unix.ENOENT) {
		return false, true // no shard directory, no blob
	}
	if err != nil {
		return false, false
	}
	defer c.release(h)
	var st unix.Stat_t
	name := path.Base(key)
	if err := unix.Fstatat(h.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) && c.removed(h) {
			return false, false // the os.Root looks at the path
		}
		return false, errors.Is(err, unix.ENOENT)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != size {
		return false, true
	}
	now := unix.NsecToTimespec(time.Now().UnixNano())
	if err := unix.UtimesNanoAt(h.fd, name, []unix.Timespec{now, now}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, true // as touchIfComplete: write a fresh copy
	}
	return true, true
}

// createTemp creates the temporary file name (tmpDir/...) through the
// cache; nil, nil when the cache could not (the caller then asks the
// os.Root). os.ErrExist is returned as such.
func (c *dirCache) createTemp(name string) (*os.File, error) {
	if c == nil {
		return nil, nil
	}
	h, _, err := c.dir(tmpDir, true)
	if err != nil {
		return nil, nil
	}
	defer c.release(h)
	fd, err := unix.Openat(h.fd, path.Base(name), unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, blobMode)
	if errors.Is(err, unix.EEXIST) {
		return nil, os.ErrExist
	}
	if err != nil {
		c.forget(tmpDir)
		return nil, nil
	}
	return os.NewFile(uintptr(fd), filepath.Join(c.path, filepath.FromSlash(name))), nil
}

// chtimes sets the modification (and access) time of name, a file below
// a cached directory; false when the cache could not.
func (c *dirCache) chtimes(name string, t time.Time) bool {
	if c == nil {
		return false
	}
	h, _, err := c.dir(path.Dir(name), false)
	if err != nil {
		return false
	}
	defer c.release(h)
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(h.fd, path.Base(name), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW) == nil
}

// syncFile fsyncs the file name below a cached directory. ok is false
// when the cache could not open it.
func (c *dirCache) syncFile(name string) (ok bool, err error) {
	if c == nil {
		return false, nil
	}
	h, _, err := c.dir(path.Dir(name), false)
	if err != nil {
		return false, nil
	}
	defer c.release(h)
	fd, err := unix.Openat(h.fd, path.Base(name), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, nil
	}
	defer unix.Close(fd)
	return true, fsyncFd(fd)
}

// syncDir fsyncs the directory dir through its handle; ok is false when
// the cache could not open it.
func (c *dirCache) syncDir(dir string) (ok bool, err error) {
	if c == nil {
		return false, nil
	}
	h, _, err := c.dir(dir, false)
	if err != nil {
		return false, nil
	}
	defer c.release(h)
	err = fsyncFd(h.fd)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTSUP) {
		return true, nil // filesystems that cannot fsync directories
	}
	return true, err
}

func fsyncFd(fd int) error {
	for {
		err := unix.Fsync(fd)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// publish renames the temporary file tmp to key through the cache,
// creating the shard directories as needed, and returns the directories
// whose entries changed (the shard directory, and the parent of each
// directory it created). ok is false when the cache could not: the caller
// then publishes through the os.Root, which also retries when a
// concurrent Delete prunes the shard directories; dirs then holds the
// parents of the directories the cache created, which need their fsync
// all the same.
func (c *dirCache) publish(tmp, key string) (dirs []string, ok bool) {
	if c == nil {
		return nil, false
	}
	th, _, err := c.dir(path.Dir(tmp), false)
	if err != nil {
		return nil, false
	}
	defer c.release(th)
	dir := path.Dir(key)
	sh, created, err := c.dir(dir, true)
	for _, nd := range created {
		dirs = append(dirs, path.Dir(nd))
	}
	if err != nil {
		return dirs, false
	}
	defer c.release(sh)
	if err := unix.Renameat(th.fd, path.Base(tmp), sh.fd, path.Base(key)); err != nil {
		// ENOENT: the shard directory was pruned (its handle names a
		// deleted directory), perhaps its parent too. Whatever the cause,
		// the handles on the way are not trusted again: the directories
		// the os.Root then creates or renames into are fsynced through
		// fresh ones.
		c.forgetPath(dir)
		return dirs, false
	}
	return append(dirs, dir), true
}
