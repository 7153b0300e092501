// Package local implements storage.Backend on a directory of the local
// filesystem.
//
// On-disk layout, below the configured root directory:
//
//	<root>/
//	├── sha256/                          one directory per digest algorithm
//	│   └── ba/                          hex[0:2]
//	│       └── 78/                      hex[2:4]
//	│           └── ba7816bf8f01…15ad    the blob, named by its full hex digest (mode 0444)
//	└── tmp/                             uploads in progress
//	    └── put-ba7816bf8f01cfea-<random>
//
// The path of a blob below the root is exactly content.Digest.Key, so the
// directory can be copied to (or from) an S3 bucket key for key.
//
// # Writes
//
// Put streams into a new, uniquely named file in tmp/ through a
// content.VerifyingReader, so size and digest are checked while the bytes
// arrive; then it sets the file's modification time, fsyncs the file, renames
// it to its final name and fsyncs the shard directory (and the parents of any
// shard directory it created). A blob is therefore visible under its final
// name only once it is complete, verified and durable. On any failure
// (mismatch, reader error, cancelled context, full disk) the temporary file is
// removed and nothing is left behind. rename(2) is atomic, so goroutines and
// processes putting the same digest at once never see or produce a partial
// blob; the last rename wins and every racer wrote identical, verified bytes.
//
// A Put of a blob that already exists with the expected size refreshes its
// modification time first (so "ModTime is at or after the start of every
// successful Put", which garbage collection's grace window relies on) and
// then drains the reader through a VerifyingReader without writing anything:
// wrong bytes still fail with storage.ErrDigestMismatch, so a caller's bug
// is never reported as a successful store. An existing file of the wrong size
// (damage from outside artstore) is replaced by the verified upload.
//
// PutVerified (storage.VerifiedPutter) follows the same protocol with the
// re-hash left out: it is for the push pipeline, which has just digested the
// very buffer it hands over. It still checks the size, and a stream of the
// wrong size leaves nothing behind.
//
// A Stage (storage.Stager, see NewStage) splits that protocol in two for a
// group of caller-digested blobs: staging writes the temporary file and
// starts its writeback; Commit fsyncs every staged file, renames them into
// place and fsyncs the directories that changed. The order of file sync,
// rename and directory sync is Put's, so the guarantees are the same; only
// the waiting is shared.
//
// On Linux, blobs of 256 KiB or more are written with O_DIRECT, and read
// with it when they are not in the page cache, where the filesystem allows
// (see direct.go): blobs are written once and read rarely, so they should
// not take the place of what the machine does use in the cache. The write
// protocol and its guarantees are unchanged.
//
// Temporary files of uploads that died (crash, kill -9) are removed by
// CleanTemp; New calls it for files older than StaleTempAge. On Linux a
// live upload's files are marked by a lock its process holds (see
// tempowner.go) and never removed; elsewhere a live upload rewrites its
// temporary file continually, so only an upload stalled for longer than
// that could lose its file, and it then fails cleanly.
//
// # Safety
//
// Every access goes through an os.Root opened on the root directory, so no
// path below the root — even one with symbolic links planted in it — can
// reach a file outside it; such attempts fail with storage.ErrInvalidKey.
// artstore itself never creates symbolic links: Put refuses shard directories
// that are links, and Walk does not follow or report links.
//
// On Linux, writes work relative to cached handles of the directories below
// the root (tmp, the shard directories; see dircache_linux.go), opened with
// the same refusal of links and checked against the root each operation
// opens; whatever they cannot do is done through the os.Root. The write
// protocol above and its fsyncs are the same either way.
//
// The root directory is created by New if missing, but never by Put, Get,
// Head, Delete or Walk: if it disappears later (an unmounted disk, a deleted
// directory) they fail with storage.ErrUnavailable, and Health reports the
// backend unhealthy, instead of silently filling a new, empty directory on
// the wrong filesystem.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// StaleTempAge is the age after which New removes a temporary upload file
// that was not written to any more (see CleanTemp).
const StaleTempAge = 24 * time.Hour

const (
	tmpDir    = "tmp"  // below the root
	tmpPrefix = "put-" // every temporary file's name starts with this
	blobMode  = 0o444  // blobs are immutable
	dirMode   = 0o755
	// maxCopyBuffer bounds the buffer Put copies through.
	maxCopyBuffer = 256 << 10
	// renameAttempts bounds the retries when a concurrent Delete removes an
	// emptied shard directory while Put creates it or renames into it.
	renameAttempts = 8
)

// Backend stores blobs in a local directory. It is safe for concurrent use by
// several goroutines and by several processes sharing the directory.
type Backend struct {
	id     string
	root   string // absolute and clean
	direct directBuffers
	dirs   *dirCache // open directory handles for writes; nil where there are none
	owner  ownerSlot // marks this backend's temporary files as in use (tempowner.go)
}

var (
	_ storage.Backend        = (*Backend)(nil)
	_ storage.VerifiedPutter = (*Backend)(nil)
)

// New returns the local backend named id storing blobs below root. A relative
// root is made absolute; a missing root is created (with its parents). New
// also creates root/tmp when it can and removes temporary files older than
// StaleTempAge; neither is an error when it fails, so a read-only root can
// still be read.
func New(id, root string) (*Backend, error) {
	if id == "" {
		return nil, errors.New("local backend: empty ID")
	}
	if root == "" {
		return nil, fmt.Errorf("local backend %q: no root directory given", id)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("local backend %q: resolve root directory %q: %w", id, root, err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("local backend %q: create root directory: %w", id, err)
	}
	b := &Backend{id: id, root: abs, dirs: newDirCache(abs)}
	if b.dirs != nil {
		runtime.AddCleanup(b, func(c *dirCache) { c.close() }, b.dirs)
	}
	if r, err := b.openRoot(); err != nil {
		return nil, fmt.Errorf("local backend %q: %w", id, err)
	} else {
		_, _ = ensureDirs(r, tmpDir)
		r.Close()
	}
	_, _ = b.CleanTemp(StaleTempAge)
	return b, nil
}

// ID returns the backend's configured name.
func (b *Backend) ID() string { return b.id }

// Root returns the absolute path of the backend's root directory.
func (b *Backend) Root() string { return b.root }

// Put stores size bytes from r under d; see storage.Backend and the package
// documentation for the write protocol.
func (b *Backend) Put(ctx context.Context, d content.Digest, size int64, r io.Reader) (created bool, err error) {
	return b.put(ctx, d, size, r, true, nil)
}

// PutVerified is Put for a caller that has just computed d over exactly the
// bytes r yields, in this process (see storage.VerifiedPutter): the size is
// still checked and the write protocol is the same (temporary file, fsync,
// atomic rename), but the bytes are not hashed again.
func (b *Backend) PutVerified(ctx context.Context, d content.Digest, size int64, r io.Reader) (created bool, err error) {
	return b.put(ctx, d, size, r, false, nil)
}

// put is Put, PutVerified and Stage.PutVerified; rehash says whether the
// bytes are hashed to check them against d (sizes are always checked). With
// a stage, a new blob is written to a temporary file and handed to the
// stage instead of being published.
func (b *Backend) put(ctx context.Context, d content.Digest, size int64, r io.Reader, rehash bool, st *stage) (created bool, err error) {
	key, err := b.key("put", d)
	if err != nil {
		return false, err
	}
	if size < 0 {
		return false, b.errf("put", d, "size %d is negative", size)
	}
	if err := ctx.Err(); err != nil {
		return false, b.errf("put", d, "%w", err)
	}
	osRoot, err := b.openRoot()
	if err != nil {
		return false, b.errf("put", d, "%w", err)
	}
	defer osRoot.Close()
	root := opRoot{osRoot, b.dirs.use(osRoot)}

	exists, err := touchIfComplete(root, key, size)
	if err != nil {
		return false, b.fail("put", d, err, key)
	}
	if exists {
		if _, err := io.Copy(io.Discard, checkedReader(ctxReader{ctx, r}, d, size, rehash)); err != nil {
			return false, b.errf("put", d, "blob already stored, but the bytes given: %w", err)
		}
		return false, nil
	}
	if st != nil {
		if err := st.add(ctx, root, key, d, size, r); err != nil {
			return false, err
		}
		return true, nil
	}
	return b.write(ctx, root, key, d, size, r, rehash)
}

// checkedReader returns r wrapped so that reading it to EOF fails with a
// *content.MismatchError unless it yields exactly size bytes and, when
// rehash is set, bytes whose digest is d.
func checkedReader(r io.Reader, d content.Digest, size int64, rehash bool) verifier {
	if rehash {
		return content.NewVerifyingReader(r, d, size)
	}
	return content.NewSizeReader(r, d, size)
}

// verifier is a reader that checks what passes through it.
type verifier interface {
	io.Reader
	// Verified reports whether the reader reached EOF with the content
	// checked.
	Verified() bool
}

// writeSized has src write itself to w, failing with a
// *content.MismatchError as soon as more than size bytes arrive (before
// writing them) or at the end if fewer did: content.SizeReader's check, for
// sources that write themselves (io.WriterTo) without a copy.
func writeSized(ctx context.Context, w io.Writer, src io.WriterTo, d content.Digest, size int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lw := &sizedWriter{w: w, expected: d, size: size}
	if _, err := src.WriteTo(lw); err != nil {
		return err
	}
	if lw.n != size {
		return &content.MismatchError{Expected: d, ExpectedSize: size, ActualSize: lw.n}
	}
	return nil
}

// sizedWriter passes at most size bytes on to w, in writes of at most
// maxCopyBuffer bytes: on Linux 6.x with ext4, single writes above 256 KiB
// cost the kernel about twice the system time per byte (measured: a 1 GiB
// push with 512 KiB or whole-chunk writes spent 1.8-2.7 s in the kernel,
// with 64-256 KiB writes 0.8-1.2 s), presumably from the large page-cache
// folios such writes allocate.
type sizedWriter struct {
	w        io.Writer
	expected content.Digest
	size, n  int64
}

func (s *sizedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > s.size-s.n {
		return 0, &content.MismatchError{Expected: s.expected, ExpectedSize: s.size, ActualSize: s.n + int64(len(p))}
	}
	var n int
	for len(p) > 0 {
		m, err := s.w.Write(p[:min(len(p), maxCopyBuffer)])
		n += m
		s.n += int64(m)
		p = p[m:]
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// opRoot is what a write works through: the os.Root opened on the root
// directory for the operation, and the backend's directory handles
// (dirCache), which are tried first (nil where there are none). Anything
// the handles cannot do is done through the os.Root.
type opRoot struct {
	*os.Root
	dirs *dirCache
}

// touchIfComplete reports whether a regular file of the expected size exists
// at key, and if so sets its modification time to now. A file that vanishes
// meanwhile (concurrent Delete) or cannot be touched (owned by another user)
// reports false, so the caller writes a fresh copy.
func touchIfComplete(root opRoot, key string, size int64) (bool, error) {
	if exists, ok := root.dirs.touch(key, size); ok {
		return exists, nil
	}
	fi, err := root.Lstat(key)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != size {
		return false, nil
	}
	now := time.Now()
	if err := root.Chtimes(key, now, now); err != nil {
		return false, nil
	}
	return true, nil
}

// write is Put's path for a blob that is not stored yet.
func (b *Backend) write(ctx context.Context, root opRoot, key string, d content.Digest, size int64, r io.Reader, rehash bool) (created bool, err error) {
	f, tmpName, err := b.writeTemp(ctx, root, d, size, r, rehash)
	if err != nil {
		return false, err
	}
	published := false
	defer func() {
		if !published {
			root.Remove(tmpName)
		}
	}()
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, b.errf("put", d, "fsync %s: %w", filepath.Join(b.root, tmpName), err)
	}
	// A concurrent Put may have completed the same blob while we wrote.
	if exists, err := touchIfComplete(root, key, size); err == nil && exists {
		return false, nil
	}
	dirs, err := b.publish(root, d, tmpName, key)
	if err != nil {
		return false, err
	}
	published = true
	// Make the new directory entries durable: the shard directory, and the
	// parent of every directory this Put created.
	for _, sd := range dirs {
		if err := root.syncDir(sd); err != nil {
			return true, b.errf("put", d, "blob stored, but fsync of directory %s failed (it may not survive a crash): %w", filepath.Join(b.root, sd), err)
		}
	}
	return true, nil
}

// writeTemp streams r through the size (and, with rehash, digest) check
// into a new temporary file and sets its modification time. It returns the
// file still open, not synced; on error nothing is left behind.
func (b *Backend) writeTemp(ctx context.Context, root opRoot, d content.Digest, size int64, r io.Reader, rehash bool) (*os.File, string, error) {
	f, tmpName, err := createTemp(root, d, b.owner.get(root.Root))
	if err != nil {
		return nil, "", b.fail("put", d, fmt.Errorf("create temporary file: %w", err), tmpDir)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			root.Remove(tmpName)
		}
	}()
	fw := &fileWriter{w: f}
	dw := newDirectWriter(f, size, &b.direct)
	if dw != nil {
		defer dw.release()
		fw.w = dw
	}
	var werr error
	if wt, ok := r.(io.WriterTo); ok && !rehash {
		// The bytes are in memory already (a push's chunk): write them to
		// the file straight from there instead of copying them through a
		// buffer, checking the size as the reader would.
		werr = writeSized(ctx, fw, wt, d, size)
	} else {
		vr := checkedReader(ctxReader{ctx, r}, d, size, rehash)
		if _, werr = io.CopyBuffer(fw, vr, make([]byte, copyBufferSize(size))); werr == nil && !vr.Verified() {
			werr = errors.New("content was not verified") // unreachable: CopyBuffer returns nil only at a verified EOF
		}
	}
	if werr != nil {
		if fw.err != nil {
			return nil, "", b.errf("put", d, "write %s: %w", filepath.Join(b.root, tmpName), fw.err)
		}
		return nil, "", b.errf("put", d, "%w", werr)
	}
	if dw != nil {
		if err := dw.finish(); err != nil {
			return nil, "", b.errf("put", d, "write %s: %w", filepath.Join(b.root, tmpName), err)
		}
	}
	if now := time.Now(); !root.dirs.chtimes(tmpName, now) {
		if err := root.Chtimes(tmpName, now, now); err != nil {
			return nil, "", b.errf("put", d, "set modification time: %w", err)
		}
	}
	ok = true
	return f, tmpName, nil
}

// publish renames a complete, durable temporary file to key, creating the
// shard directories as needed, and returns the directories whose entries
// changed: the shard directory and the parent of each directory it created.
// The caller fsyncs them.
func (b *Backend) publish(root opRoot, d content.Digest, tmpName, key string) ([]string, error) {
	dirs, ok := root.dirs.publish(tmpName, key)
	if ok {
		return dirs, nil
	}
	dir := path.Dir(key)
	newDirs, err := ensureDirs(root.Root, dir)
	if err != nil {
		return nil, b.fail("put", d, err, dir)
	}
	for attempt := 1; ; attempt++ {
		err = root.Rename(tmpName, key)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == renameAttempts {
			return nil, b.fail("put", d, fmt.Errorf("rename temporary file into place: %w", err), dir, tmpName)
		}
		// A concurrent Delete pruned the shard directories: recreate them.
		more, err := ensureDirs(root.Root, dir)
		if err != nil {
			return nil, b.fail("put", d, err, dir)
		}
		newDirs = append(newDirs, more...)
	}
	dirs = append(dirs, dir)
	for _, nd := range newDirs {
		dirs = append(dirs, path.Dir(nd))
	}
	return dirs, nil
}

// Get opens the blob, or the inclusive range of it, for reading.
func (b *Backend) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	key, err := b.key("get", d)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, b.errf("get", d, "%w", err)
	}
	root, err := b.openRoot()
	if err != nil {
		return nil, b.errf("get", d, "%w", err)
	}
	defer root.Close()

	f, err := root.Open(key)
	if err != nil {
		return nil, b.objectErr("get", d, key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, b.errf("get", d, "%w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, b.errf("get", d, "%s is not a regular file", filepath.Join(b.root, key))
	}
	if rng == nil {
		if dr := newDirectReader(f, 0, fi.Size(), &b.direct); dr != nil {
			return dr, nil
		}
		return f, nil
	}
	if err := rng.Validate(fi.Size()); err != nil {
		f.Close()
		return nil, b.errf("get", d, "%w", err)
	}
	if dr := newDirectReader(f, rng.Start, rng.Length(), &b.direct); dr != nil {
		return dr, nil
	}
	if _, err := f.Seek(rng.Start, io.SeekStart); err != nil {
		f.Close()
		return nil, b.errf("get", d, "%w", err)
	}
	return &rangeReader{lr: io.LimitedReader{R: f, N: rng.Length()}, f: f}, nil
}

// rangeReader reads a section of a file. Its WriteTo hands the kernel an
// *io.LimitedReader over the *os.File, so copying to a socket or file can use
// sendfile/copy_file_range.
type rangeReader struct {
	lr io.LimitedReader
	f  *os.File
}

func (r *rangeReader) Read(p []byte) (int, error)         { return r.lr.Read(p) }
func (r *rangeReader) WriteTo(w io.Writer) (int64, error) { return io.Copy(w, &r.lr) }
func (r *rangeReader) Close() error                       { return r.f.Close() }

// Head returns the blob's size and modification time.
func (b *Backend) Head(ctx context.Context, d content.Digest) (storage.Info, error) {
	key, err := b.key("head", d)
	if err != nil {
		return storage.Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.Info{}, b.errf("head", d, "%w", err)
	}
	root, err := b.openRoot()
	if err != nil {
		return storage.Info{}, b.errf("head", d, "%w", err)
	}
	defer root.Close()
	fi, err := root.Stat(key)
	if err != nil {
		return storage.Info{}, b.objectErr("head", d, key, err)
	}
	if !fi.Mode().IsRegular() {
		return storage.Info{}, b.errf("head", d, "%s is not a regular file", filepath.Join(b.root, key))
	}
	return storage.Info{Digest: d, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes the blob, then the shard directories it leaves empty.
func (b *Backend) Delete(ctx context.Context, d content.Digest) (removed bool, err error) {
	key, err := b.key("delete", d)
	if err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, b.errf("delete", d, "%w", err)
	}
	root, err := b.openRoot()
	if err != nil {
		return false, b.errf("delete", d, "%w", err)
	}
	defer root.Close()
	if err := root.Remove(key); err != nil {
		if errors.Is(err, fs.ErrNotExist) && !b.rootMissing() {
			return false, nil
		}
		return false, b.fail("delete", d, err, key)
	}
	// Prune emptied shard directories (never the algorithm directory). A
	// failure means another blob lives there, a Put just created it, or a
	// concurrent Delete already removed it: all fine.
	for dir := path.Dir(key); strings.Contains(dir, "/"); dir = path.Dir(dir) {
		if root.Remove(dir) != nil {
			break
		}
		b.dirs.forget(dir)
	}
	return true, nil
}

// Walk calls fn for every blob below the root. It skips tmp/, directories
// of unknown algorithms, symbolic links, and files whose path is not a valid
// object key.
func (b *Backend) Walk(ctx context.Context, fn func(storage.Info) error) error {
	root, err := b.openRoot()
	if err != nil {
		return fmt.Errorf("local backend %q: walk: %w", b.id, err)
	}
	defer root.Close()
	var fnErr error
	err = fs.WalkDir(root.FS(), ".", func(p string, de fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			if p != "." && errors.Is(err, fs.ErrNotExist) {
				return nil // pruned by a concurrent Delete
			}
			return err
		}
		if p == "." {
			return nil
		}
		depth := strings.Count(p, "/") + 1
		if de.IsDir() {
			if (depth == 1 && !content.Algorithm(p).Available()) || depth >= 4 {
				return fs.SkipDir
			}
			return nil
		}
		if depth != 4 || !de.Type().IsRegular() {
			return nil
		}
		d, err := content.ParseKey(p)
		if err != nil {
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted meanwhile
			}
			return err
		}
		if err := fn(storage.Info{Digest: d, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			fnErr = err
			return fs.SkipAll
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && b.rootMissing() {
			err = b.rootError(err)
		}
		return fmt.Errorf("local backend %q: walk %s: %w", b.id, b.root, err)
	}
	return nil
}

// CleanTemp removes temporary upload files in <root>/tmp that were last
// written more than olderThan ago — leftovers of uploads that were killed —
// and returns how many it removed. An upload in progress keeps its file's
// modification time current, so olderThan must exceed the longest stall an
// upload is allowed to survive.
func (b *Backend) CleanTemp(olderThan time.Duration) (removed int, err error) {
	t, err := b.Temp(context.Background(), time.Now().Add(-olderThan), true)
	return t.Files, err
}

var _ storage.Temper = (*Backend)(nil)

// Temp sums (and with remove, deletes) the temporary upload files in
// <root>/tmp last modified before `before` (storage.Temper), except those
// of uploads in progress in any process (see tempowner.go), whatever their
// age. With remove, the sum counts the files it deleted.
func (b *Backend) Temp(ctx context.Context, before time.Time, remove bool) (storage.TempFiles, error) {
	var sum storage.TempFiles
	root, err := b.openRoot()
	if err != nil {
		return sum, fmt.Errorf("local backend %q: temporary files: %w", b.id, err)
	}
	defer root.Close()
	owners := newOwnerProbe(root)
	defer owners.close()
	entries, err := fs.ReadDir(root.FS(), tmpDir)
	if errors.Is(err, fs.ErrNotExist) {
		return sum, nil
	}
	if err != nil {
		return sum, fmt.Errorf("local backend %q: temporary files: %w", b.id, err)
	}
	var errs []error
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(before) || owners.alive(e.Name()) {
			continue
		}
		if remove {
			if err := root.Remove(path.Join(tmpDir, e.Name())); err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
				continue
			}
		}
		sum.Files++
		sum.Bytes += fi.Size()
		if sum.Oldest.IsZero() || fi.ModTime().Before(sum.Oldest) {
			sum.Oldest = fi.ModTime()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return sum, fmt.Errorf("local backend %q: remove temporary files: %w", b.id, err)
	}
	return sum, nil
}

// key returns the slash-separated path of d below the root, or an error
// wrapping storage.ErrInvalidKey.
func (b *Backend) key(op string, d content.Digest) (string, error) {
	if d.IsZero() {
		return "", fmt.Errorf("local backend %q: %s: the zero digest names no blob: %w", b.id, op, storage.ErrInvalidKey)
	}
	k := d.Key()
	if _, err := content.ParseKey(k); err != nil || !filepath.IsLocal(filepath.FromSlash(k)) {
		return "", b.errf(op, d, "key %q: %w", k, storage.ErrInvalidKey)
	}
	return k, nil
}

func (b *Backend) errf(op string, d content.Digest, format string, args ...any) error {
	return fmt.Errorf("local backend %q: %s %s: "+format, append([]any{b.id, op, d}, args...)...)
}

func (b *Backend) openRoot() (*os.Root, error) {
	r, err := os.OpenRoot(b.root)
	if err != nil {
		return nil, b.rootError(err)
	}
	return r, nil
}

// rootError describes a root directory that cannot be opened.
func (b *Backend) rootError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("root directory %s is missing (unmounted disk or deleted directory?); "+
			"it is not recreated automatically: remount or restore it, or fix the backend configuration: %w",
			b.root, storage.ErrUnavailable)
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("root %s is not a directory: %w", b.root, storage.ErrUnavailable)
	default:
		return fmt.Errorf("cannot open root directory %s: %v: %w", b.root, err, storage.ErrUnavailable)
	}
}

func (b *Backend) rootMissing() bool {
	_, err := os.Stat(b.root)
	return errors.Is(err, fs.ErrNotExist)
}

// objectErr maps an error from opening or stating a blob.
func (b *Backend) objectErr(op string, d content.Digest, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) && !b.rootMissing() {
		return b.errf(op, d, "%w", storage.ErrNotFound)
	}
	return b.fail(op, d, err, key)
}

// fail wraps an unexpected filesystem error. A missing root becomes
// ErrUnavailable; an error caused by a symbolic link on one of the given
// paths (os.Root refuses links leading out of the root) becomes
// ErrInvalidKey.
func (b *Backend) fail(op string, d content.Digest, err error, rels ...string) error {
	if errors.Is(err, storage.ErrInvalidKey) || errors.Is(err, storage.ErrUnavailable) {
		return b.errf(op, d, "%w", err)
	}
	if errors.Is(err, fs.ErrNotExist) && b.rootMissing() {
		return b.errf(op, d, "%w", b.rootError(err))
	}
	for _, rel := range rels {
		if link := b.symlinkOn(rel); link != "" {
			return b.errf(op, d, "%s is a symbolic link; artstore does not follow links out of its root: %w", link, storage.ErrInvalidKey)
		}
	}
	return b.errf(op, d, "%w", err)
}

// symlinkOn returns the first path, from the root down to rel, that is a
// symbolic link, or "".
func (b *Backend) symlinkOn(rel string) string {
	p := b.root
	for _, part := range strings.Split(rel, "/") {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if err != nil {
			return ""
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return p
		}
	}
	return ""
}

// ensureDirs creates each missing directory on the slash-separated path dir
// (relative to root) and returns the ones it created. Existing components
// must be real directories, not symbolic links. It never creates the root.
// A concurrent Delete may prune a directory between two steps; ensureDirs
// then starts over, a bounded number of times.
func ensureDirs(root *os.Root, dir string) (created []string, err error) {
	for attempt := 1; ; attempt++ {
		more, err := ensureDirsOnce(root, dir)
		created = append(created, more...)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == renameAttempts {
			return created, err
		}
	}
}

func ensureDirsOnce(root *os.Root, dir string) (created []string, err error) {
	parts := strings.Split(dir, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		err := root.Mkdir(p, dirMode)
		if err == nil {
			created = append(created, p)
			continue
		}
		if !errors.Is(err, fs.ErrExist) {
			return created, err
		}
		fi, err := root.Lstat(p)
		if err != nil {
			return created, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return created, fmt.Errorf("%s is a symbolic link; artstore never creates links below its root and does not write through them: %w", p, storage.ErrInvalidKey)
		}
		if !fi.IsDir() {
			return created, fmt.Errorf("%s is not a directory", p)
		}
	}
	return created, nil
}

// createTemp creates a new temporary file for an upload of d, and tmp/ if
// it is missing.
func createTemp(root opRoot, d content.Digest, own *tempOwner) (*os.File, string, error) {
	for {
		name := path.Join(tmpDir, tmpPrefix+d.Hex()[:16]+"-"+own.name())
		f, err := root.dirs.createTemp(name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if f != nil {
			return f, name, nil
		}
		if _, err := ensureDirs(root.Root, tmpDir); err != nil {
			return nil, "", err
		}
		f, err = root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, blobMode)
		if errors.Is(err, fs.ErrExist) {
			continue // taken (a leftover of an owner with the same ID): try another name
		}
		return f, name, err
	}
}

// syncDir fsyncs the directory dir. A directory that is gone is no
// error: a shard directory is only removed once empty, so the blob renamed
// into it was deleted since (by a collection, as unreferenced; its
// registration then finds it missing and the push uploads it again), and
// nothing in it is left to make durable.
func (root opRoot) syncDir(dir string) error {
	if ok, err := root.dirs.syncDir(dir); ok {
		return err
	}
	f, err := root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	err = f.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, errors.ErrUnsupported) {
		return nil // filesystems that cannot fsync directories
	}
	return err
}

func copyBufferSize(size int64) int {
	return int(min(max(size+1, 4<<10), maxCopyBuffer))
}

// fileWriter hides *os.File's ReadFrom, so io.CopyBuffer uses our buffer,
// and remembers write errors so Put can tell them from reader errors. w is
// the file or its directWriter.
type fileWriter struct {
	w   io.Writer
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}

// ctxReader fails reads once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
