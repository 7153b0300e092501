package transfer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/artifact-store/artstore/internal/content"
)

// ErrLinkOutside: a tree's symbolic link points outside the destination
// (absolute, or climbing above it), and the pull was not told to trust
// links (PullOptions.TrustLinks).
var ErrLinkOutside = errors.New("symbolic link points outside the destination")

// Pull batches of a stream-layout tree: files are written to temporary
// files and renamed into place in batches, after one sync of the batch.
const (
	// renameBatchFiles is the most files a batch holds.
	renameBatchFiles = 4096
	// renameBatchBytes is the most file bytes a batch holds.
	renameBatchBytes = 256 << 20
	// renameBatchDirs is the most directories a batch keeps open.
	renameBatchDirs = 256
)

// linkInside reports whether the symbolic link at slash path p with text
// target stays inside the tree's root, judged on the text alone: it is
// relative, and its leading ".." elements climb at most to the root, with
// no ".." after any other element. A ".." after a name is refused, not
// resolved: the name may itself be a link ("l/.." is the parent of where l
// points, not the directory holding l), so only the text's leading climb
// can be judged without following links. Every link a pull creates passes
// this test, so the links it names in turn stay inside too.
func linkInside(p, target string) bool {
	if strings.HasPrefix(target, "/") {
		return false
	}
	depth := strings.Count(p, "/") // of the link's directory below the root
	named := false
	for _, e := range strings.Split(target, "/") {
		switch e {
		case "", ".":
		case "..":
			if named {
				return false
			}
			if depth--; depth < 0 {
				return false
			}
		default:
			named = true
		}
	}
	return true
}

// treeWriter is a stream-layout tree pull's last stage: it goes through
// the manifest's entries in path order and creates each selected one,
// taking each file's bytes from the chunks the pipeline fetched and
// verified (in order, with their offsets in the stream), hashing them
// against the file's SHA-256 before the file is renamed into place.
type treeWriter struct {
	ctx   context.Context
	root  *os.Root
	dir   string // the destination as given, for messages
	links *linkGuard
	sel   *selector
	opts  PullOptions
	prog  *progress
	cc    chunkCursor
	h     hash.Hash
	dirs  dirStack

	written int64
	// curDir is the directory (slash path, "." for the root) the last
	// entry went into, open as cur.
	curDir string
	cur    *outDir
	batch  renameBatch
	// fsyncs fsyncs a batch's files, and the changed directories at the
	// end, when a syncfs would also write others' data (syncPlan).
	fsyncs *fileSyncer
	// changed is the directories to fsync once every entry is in place.
	changed dirSet
	plan    syncPlan
}

// outFile is a temporary file a tree pull writes.
type outFile interface {
	Write([]byte) (int, error)
	Chmod(fs.FileMode) error
	Sync() error
	Close() error
}

// pendingFile is a verified file written to a temporary name, to be
// renamed into place once its batch is synced.
type pendingFile struct {
	dir       *outDir
	tmp, name string
	path      string // the entry path, for messages
}

// renameBatch is the files written since the last sync, and the
// directories they are in (open, keyed by slash path).
type renameBatch struct {
	files []pendingFile
	bytes int64
	dirs  map[string]*outDir
}

// run creates every selected entry, then syncs and renames the last batch,
// and gives each directory its mode once nothing more goes into it.
func (tw *treeWriter) run(next func() (content.TreeEntry, bool)) error {
	defer tw.cleanup()
	for {
		e, ok := next()
		if !ok {
			break
		}
		if err := tw.entry(e); err != nil {
			return err
		}
	}
	tw.cc.done()
	if err := tw.flush(); err != nil {
		return err
	}
	if err := tw.dirs.done("", tw.setMode); err != nil {
		return err
	}
	// The renames, new directories and modes.
	if tw.plan.syncfs(len(tw.changed), 0) {
		return syncTree(tw.root)
	}
	return syncDirs(tw.root, tw.changed, tw.fsyncs)
}

// entry creates e if it is selected.
func (tw *treeWriter) entry(e content.TreeEntry) error {
	if err := content.ValidatePath(e.Path); err != nil {
		return err
	}
	if err := tw.dirs.done(e.Path, tw.setMode); err != nil {
		return err
	}
	if !tw.sel.selects(e.Path) {
		return nil
	}
	switch e.Type {
	case content.EntryDir:
		if err := tw.mkdir(e.Path); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
		tw.dirs.open = append(tw.dirs.open, content.TreeEntry{Path: e.Path, Type: e.Type, Mode: e.Mode})
		return nil
	case content.EntrySymlink:
		return tw.symlink(e)
	}
	if err := tw.file(e); err != nil {
		return fmt.Errorf("%s: %w", e.Path, err)
	}
	return nil
}

// mkdir creates the directory entry at slash path p, or keeps the one
// there. In a directory this pull created nothing is in the way (missing
// parents are created); elsewhere it is checked for links first, and noted
// as fresh (linkGuard) when the pull creates it.
func (tw *treeWriter) mkdir(p string) error {
	fp := filepath.FromSlash(p)
	tw.changed.add(p)
	if tw.links.inFresh(path.Dir(p)) {
		if err := tw.root.Mkdir(fp, 0o700); err != nil {
			return tw.root.MkdirAll(fp, 0o700)
		}
		return nil
	}
	if err := tw.links.check(p); err != nil {
		return err
	}
	err := tw.root.Mkdir(fp, 0o700)
	switch {
	case err == nil:
		tw.links.fresh = p
		return nil
	case errors.Is(err, fs.ErrExist):
		if fi, err := tw.root.Lstat(fp); err != nil || !fi.IsDir() {
			return tw.root.MkdirAll(fp, 0o700) // fails with what is in the way
		}
		return nil
	}
	return tw.root.MkdirAll(fp, 0o700)
}

// setMode gives the directory d its mode, once everything inside it is
// written (a mode that forbids writing would stop the renames still to
// come, so the batch goes first).
func (tw *treeWriter) setMode(d content.TreeEntry) error {
	if d.Mode&0o300 != 0o300 {
		if err := tw.flush(); err != nil {
			return err
		}
	}
	return tw.root.Chmod(filepath.FromSlash(d.Path), fs.FileMode(d.Mode))
}

// parent returns the directory of the entry at slash path p, created if
// missing, checked for links on the way (linkGuard) and opened, and the
// entry's name in it.
func (tw *treeWriter) parent(p string) (*outDir, string, error) {
	dir, name := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	if dir == tw.curDir && tw.cur != nil {
		return tw.cur, name, nil
	}
	if d := tw.batch.dirs[dir]; d != nil {
		tw.curDir, tw.cur = dir, d
		return d, name, nil
	}
	tw.changed.add(dir)
	if dir != "." {
		if err := tw.links.check(dir); err != nil {
			return nil, "", err
		}
		if err := tw.root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
			return nil, "", err
		}
	}
	if len(tw.batch.dirs) >= renameBatchDirs {
		if err := tw.flush(); err != nil {
			return nil, "", err
		}
	}
	d, err := openOutDir(tw.root, filepath.FromSlash(dir))
	if err != nil {
		return nil, "", err
	}
	if tw.batch.dirs == nil {
		tw.batch.dirs = map[string]*outDir{}
	}
	tw.batch.dirs[dir] = d
	tw.curDir, tw.cur = dir, d
	return d, name, nil
}

// refuseLink fails when the entry name of d (at slash path p) is a
// symbolic link: a tree never replaces a link by a file (unless links are
// trusted).
func (tw *treeWriter) refuseLink(d *outDir, name, p string) error {
	if tw.links.trust || tw.links.inFresh(path.Dir(p)) {
		return nil
	}
	if tw.opts.stats != nil {
		tw.opts.stats.linkChecks++
	}
	link, err := d.isLink(name)
	if err != nil {
		return err
	}
	if link {
		return fmt.Errorf("%s is a symbolic link; a tree is never written through a link inside its destination (remove the link, or pull to an empty directory): %w",
			filepath.Join(tw.dir, filepath.FromSlash(p)), ErrLinkInDestination)
	}
	return nil
}

// symlink creates the link e: refused when it points outside the
// destination (unless links are trusted); a link or file already at its
// path is replaced (renamed over), a directory there fails the pull.
func (tw *treeWriter) symlink(e content.TreeEntry) error {
	if !tw.opts.TrustLinks && !linkInside(e.Path, e.Target) {
		return fmt.Errorf("%s -> %s: %w; a tree's links are created only when they stay inside the destination (pull with --trust-links to create it anyway)",
			filepath.Join(tw.dir, filepath.FromSlash(e.Path)), e.Target, ErrLinkOutside)
	}
	d, name, err := tw.parent(e.Path)
	if err != nil {
		return err
	}
	tmp := fmt.Sprintf(".artstore-%016x.tmp", rand.Uint64())
	if err := d.root.Symlink(e.Target, tmp); err != nil {
		return err
	}
	if err := d.rename(tmp, name); err != nil {
		d.remove(tmp)
		if errors.Is(err, fs.ErrExist) || errors.Is(err, fs.ErrInvalid) {
			return fmt.Errorf("a directory is in the way: %w", err)
		}
		return err
	}
	return nil
}

// file writes the file e to a temporary file beside its path, from the
// chunks that hold its bytes, checks its SHA-256 and queues it for
// renaming.
func (tw *treeWriter) file(e content.TreeEntry) (err error) {
	d, name, err := tw.parent(e.Path)
	if err != nil {
		return err
	}
	if err := tw.refuseLink(d, name, e.Path); err != nil {
		return err
	}
	tmp := fmt.Sprintf(".artstore-%016x.tmp", rand.Uint64())
	f, err := d.create(tmp)
	if err != nil {
		return err
	}
	kept := false
	defer func() {
		if !kept {
			f.Close()
			d.remove(tmp)
		}
	}()
	err = tw.cc.each(e, tw.h, func(b []byte) error {
		if _, err := f.Write(b); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		tw.written += int64(len(b))
		tw.prog.add(0, int64(len(b)), 0)
		return nil
	})
	if err != nil {
		return err
	}
	if err := f.Chmod(fs.FileMode(e.Mode)); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	kept = true
	tw.batch.files = append(tw.batch.files, pendingFile{dir: d, tmp: tmp, name: name, path: e.Path})
	tw.batch.bytes += e.Size
	if len(tw.batch.files) >= renameBatchFiles || tw.batch.bytes >= renameBatchBytes {
		return tw.flush()
	}
	return nil
}

// chunkCursor hands out a stream-layout tree's bytes from the chunks the
// pipeline fetched and verified, which arrive in stream order with their
// offsets; entries ask for offsets in the same order.
type chunkCursor struct {
	ctx context.Context
	fq  *fifo
	q   <-chan *pulledChunk
	cur *pulledChunk
}

// each calls fn with the bytes of the file e, in order, hashing them into
// h, and checks them against e's digest (content.ErrMismatch).
func (cc *chunkCursor) each(e content.TreeEntry, h hash.Hash, fn func([]byte) error) error {
	h.Reset()
	pos, end := e.Offset, e.Offset+e.Size
	for pos < end {
		c, err := cc.at(pos)
		if err != nil {
			return err
		}
		b := c.buf[pos-c.off : min(int64(len(c.buf)), end-c.off)]
		if err := fn(b); err != nil {
			return err
		}
		h.Write(b)
		pos += int64(len(b))
	}
	var sum [sha256.Size]byte
	if got := content.FromSHA256([sha256.Size]byte(h.Sum(sum[:0]))); got != e.Digest {
		return &content.MismatchError{Expected: e.Digest, Actual: got, ExpectedSize: e.Size, ActualSize: e.Size}
	}
	return nil
}

// at returns the chunk holding stream offset pos, releasing the chunks
// before it.
func (cc *chunkCursor) at(pos int64) (*pulledChunk, error) {
	for {
		if c := cc.cur; c != nil {
			if pos >= c.off && pos < c.off+int64(len(c.buf)) {
				return c, nil
			}
			if pos < c.off { // cannot happen: the dispatcher fetches every chunk an entry needs
				return nil, fmt.Errorf("internal error: offset %d is before the next chunk, at %d", pos, c.off)
			}
			c.release(cc.fq, holdOwn)
			cc.cur = nil
		}
		var c *pulledChunk
		var ok bool
		select {
		case c, ok = <-cc.q:
		case <-cc.ctx.Done():
			return nil, cc.ctx.Err()
		}
		if !ok {
			if err := cc.ctx.Err(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("internal error: the chunks ended before offset %d", pos)
		}
		if c.err != nil {
			return nil, c.err
		}
		if c.verdict != nil { // cannot happen: a tree's fetchers verify every chunk
			if err := <-c.verdict; err != nil {
				return nil, err
			}
		}
		cc.cur = c
	}
}

// done releases the chunk in hand.
func (cc *chunkCursor) done() {
	if cc.cur != nil {
		cc.cur.release(cc.fq, holdOwn)
		cc.cur = nil
	}
}

// flush makes the batch's files durable, renames them into place and
// closes the directories the batch opened.
func (tw *treeWriter) flush() error {
	if len(tw.batch.files) > 0 {
		if err := tw.syncBatch(); err != nil {
			return err
		}
	}
	for i, p := range tw.batch.files {
		if err := p.dir.rename(p.tmp, p.name); err != nil {
			tw.batch.files = tw.batch.files[i:]
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: a directory is in the way: %w", p.path, err)
			}
			return fmt.Errorf("%s: %w", p.path, err)
		}
	}
	tw.batch.files, tw.batch.bytes = tw.batch.files[:0], 0
	for k, d := range tw.batch.dirs {
		d.close()
		delete(tw.batch.dirs, k)
	}
	tw.curDir, tw.cur = "", nil
	return nil
}

// syncBatch makes the batch's files durable: one syncfs of the
// destination's filesystem when little else is waiting to be written on
// the machine, otherwise an fsync of each file (syncPlan).
func (tw *treeWriter) syncBatch() error {
	if tw.plan.syncfs(len(tw.batch.files), tw.batch.bytes) {
		return syncTree(tw.root)
	}
	var errs []error
	for _, p := range tw.batch.files {
		f, err := p.dir.openSync(p.tmp)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: open to sync: %w", p.path, err))
			break
		}
		tw.fsyncs.add(f)
	}
	if err := tw.fsyncs.wait(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// cleanup removes the temporary files of a failed pull and closes what is
// open.
func (tw *treeWriter) cleanup() {
	tw.fsyncs.stop()
	for _, p := range tw.batch.files {
		p.dir.remove(p.tmp)
	}
	tw.batch.files = nil
	for k, d := range tw.batch.dirs {
		d.close()
		delete(tw.batch.dirs, k)
	}
}

// pullTreeStream pulls the selected entries of the stream-layout tree mf
// into root: the pipeline fetches and verifies (in parallel) only the
// chunks that hold selected files, and the treeWriter writes the entries.
func pullTreeStream(ctx context.Context, mf *manifestFile, store BlobStore, root *os.Root, dir string, links *linkGuard, sel *selector,
	opts PullOptions, prog *progress) (int64, error) {
	var want func() (func(int64, content.ChunkRef) bool, func())
	if !sel.all() {
		want = func() (func(int64, content.ChunkRef) bool, func()) { return wantCursor(mf, sel) }
	}
	tw := &treeWriter{root: root, dir: dir, links: links, sel: sel, opts: opts, prog: prog, h: sha256.New(),
		changed: dirSet{}}
	tw.plan = syncPlan{dirty: opts.dirtyBytes}
	if tw.plan.dirty == nil {
		tw.plan.dirty = dirtyBytes
	}
	tw.fsyncs = newFileSyncer(treeSyncWorkers, opts.syncFile)
	err := streamEntries(ctx, mf, store, opts, prog, want, func(cc chunkCursor, next func() (content.TreeEntry, bool)) error {
		tw.ctx, tw.cc = cc.ctx, cc
		return tw.run(next)
	})
	return tw.written, err
}

// streamEntries runs the pull pipeline over the chunks of the stream-layout
// tree mf (those want accepts, when set) and calls consume with a cursor
// over them and an iterator over the entries.
func streamEntries(ctx context.Context, mf *manifestFile, store BlobStore, opts PullOptions, prog *progress,
	want func() (func(int64, content.ChunkRef) bool, func()), consume func(chunkCursor, func() (content.TreeEntry, bool)) error) error {
	plan, err := planTree(mf, want)
	if err != nil {
		return err
	}
	next, stop, scanErr := mf.entryIter()
	defer stop()
	if plan.first < 0 { // no bytes to fetch: empty files, directories and links only
		if err := consume(chunkCursor{ctx: ctx}, next); err != nil {
			return err
		}
		return scanErr()
	}
	var w func(int64, content.ChunkRef) bool
	if want != nil {
		var stopWant func()
		w, stopWant = want()
		defer stopWant()
	}
	_, err = runPull(ctx, mf, store, opts, prog, plan, false, w, func(ctx context.Context, fq *fifo, q <-chan *pulledChunk) error {
		return consume(chunkCursor{ctx: ctx, fq: fq, q: q}, next)
	})
	if err != nil {
		return err
	}
	return scanErr()
}

// VerifyTree reads every file of the stream-layout tree manifest md as a
// pull would, verifying each chunk and each file's SHA-256, and writes
// nothing. It fails like a pull: content.ErrMismatch naming the file, or
// the chunk, that does not match. A per-file layout tree's files each have
// a file manifest, which Pull verifies.
func VerifyTree(ctx context.Context, md content.Digest, store BlobStore, opts PullOptions) (PullResult, error) {
	opts = opts.withDefaults()
	mf, err := openChecked(ctx, store, md, opts)
	if err != nil {
		return PullResult{}, err
	}
	defer mf.close()
	if !mf.m.Stream() {
		return PullResult{}, fmt.Errorf("verify %s: %w: it is not a stream-layout tree", md.Short(), ErrWrongKind)
	}
	res := PullResult{Manifest: mf.m}
	prog := &progress{fn: opts.Progress, cur: Progress{Total: mf.m.Size}}
	h := sha256.New()
	err = streamEntries(ctx, mf, store, opts, prog, nil, func(cc chunkCursor, next func() (content.TreeEntry, bool)) error {
		defer cc.done()
		for e, ok := next(); ok; e, ok = next() {
			if e.Type != content.EntryFile {
				continue
			}
			err := cc.each(e, h, func(b []byte) error { res.Written += int64(len(b)); return nil })
			if err != nil {
				return fmt.Errorf("%s: %w", e.Path, err)
			}
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("verify %s: %w", md.Short(), err)
	}
	return res, nil
}

// planTree finds the chunks a tree pull fetches: all, or those want
// accepts.
func planTree(mf *manifestFile, want func() (func(int64, content.ChunkRef) bool, func())) (pullPlan, error) {
	if want == nil {
		return planPull(mf, nil)
	}
	w, stop := want()
	defer stop()
	p := pullPlan{first: -1, last: -1}
	var pos int64
	err := mf.eachChunk(func(i int, c content.ChunkRef) error {
		off := pos
		pos += c.Size
		if w(off, c) {
			if p.first < 0 {
				p.first, p.off = i, off
			}
			p.last = i
			p.biggest = max(p.biggest, c.Size)
			p.total += c.Size
		}
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("read the chunk list: %w", err)
	}
	return p, nil
}

// wantCursor returns a test of whether a chunk (asked about in stream
// order) holds bytes of a selected file, reading the entries alongside.
func wantCursor(mf *manifestFile, sel *selector) (func(int64, content.ChunkRef) bool, func()) {
	next, stop, _ := mf.entryIter()
	var cur *content.TreeEntry
	want := func(off int64, c content.ChunkRef) bool {
		for {
			if cur == nil {
				e, ok := next()
				if !ok {
					return false
				}
				if e.Type != content.EntryFile || e.Size == 0 || !sel.selects(e.Path) {
					continue
				}
				cur = &e
			}
			if cur.Offset+cur.Size <= off {
				cur = nil
				continue
			}
			return cur.Offset < off+c.Size
		}
	}
	return want, stop
}
