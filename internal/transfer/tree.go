package transfer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/outpath"
	"github.com/artifact-store/artstore/internal/spool"
)

// PushTree pushes the directory dir as a tree: a tree manifest listing
// every file, directory and symbolic link below dir by relative
// slash-separated path, with permission bits, in path order (see
// walkSorted), so the same tree always yields the same manifest. The walk
// writes the manifest's entries as it goes, to a spool, so memory does not
// hold the entry list.
//
// In the stream layout (the default, content.StreamTreeSchema) the files'
// contents are read, in that order, as one stream that the push pipeline
// chunks, digests and uploads as it does a file's; each entry records its
// file's offset in the stream, size and SHA-256. Symbolic links are stored
// as links (their text), never followed unless opts.FollowSymlinks.
// Devices, sockets and named pipes are skipped (opts.OnSkip is told), or
// fail the push with ErrUnsupportedFileType when opts.Strict. In the
// per-file layout (opts.TreeSchema content.ManifestSchema) every regular
// file gets a file manifest of its own, and anything but files and
// directories fails the push with ErrUnsupportedFileType.
//
// A path that cannot be stored portably (see content.ValidatePath) fails
// the push with content.ErrUnsafePath. Files are read through an os.Root,
// so nothing outside dir is ever read unless links are followed.
//
// The result's ContentDigest is content.TreeDigest of the entries.
func PushTree(ctx context.Context, dir string, store BlobStore, opts PushOptions) (PushResult, error) {
	opts.Confirm = nil // a Push option only (see PushOptions.Confirm)
	cfg, err := opts.config()
	if err != nil {
		return PushResult{}, err
	}
	switch opts.TreeSchema {
	case 0, content.StreamTreeSchema:
		if c := cfg.TreeCache; c != nil && !cfg.FollowSymlinks {
			return c.push(ctx, dir, store, cfg)
		}
		return pushTreeStream(ctx, dir, store, cfg)
	case content.ManifestSchema:
	default:
		return PushResult{}, fmt.Errorf("push tree %s: tree schema %d is not one artstore writes", dir, opts.TreeSchema)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return PushResult{}, fmt.Errorf("push %s: %w", dir, err)
	}
	defer root.Close()
	rg, err := newRing(cfg.BufferSize, int(cfg.Chunker.Max))
	if err != nil {
		return PushResult{}, fmt.Errorf("push: %w", err)
	}
	defer rg.close()
	prog := &progress{fn: cfg.Progress, cur: Progress{Total: -1}}
	fileCfg := cfg
	fileCfg.MediaType = ""
	// The files share one stage, committed every CommitEvery bytes or
	// CommitBlobs blobs and before the tree manifest: one group of syncs
	// per commit, not two per file (a tree of 5,000 small files: 9.1-9.3 s
	// with a commit per chunk list and a synced manifest per file,
	// 4.4-5.3 s shared).
	if ss, ok := store.(stagingStore); ok {
		if st := ss.newStage(); st != nil {
			defer st.abort()
			fileCfg.shared = newSharedStage(st)
		}
	}

	list := &spool.Spool{}
	defer list.Close()
	enc := content.NewTreeEntryEncoder(list)
	var total PushResult
	err = walkSorted(root.FS(), ".", func(p string, d fs.DirEntry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := content.ValidatePath(p); err != nil {
			return fmt.Errorf("cannot store %s: %w", filepath.Join(dir, filepath.FromSlash(p)), err)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := uint32(info.Mode().Perm())
		switch {
		case d.IsDir():
			return enc.Add(content.TreeEntry{Path: p, Type: content.EntryDir, Mode: mode})
		case !d.Type().IsRegular():
			return fmt.Errorf("%s is a %s: %w (trees of schema 1 store regular files and directories only; push in the default layout, or copy the target or archive the tree first)",
				filepath.Join(dir, filepath.FromSlash(p)), typeName(info.Mode()), ErrUnsupportedFileType)
		}
		f, err := root.Open(filepath.FromSlash(p))
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil {
			return err
		} else if !st.Mode().IsRegular() {
			return fmt.Errorf("%s changed type while being pushed: %w", p, ErrUnsupportedFileType)
		}
		res, err := pushFile(ctx, f, store, fileCfg, rg, prog)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(dir, filepath.FromSlash(p)), err)
		}
		if err := enc.Add(content.TreeEntry{Path: p, Type: content.EntryFile, Mode: mode,
			Size: res.Size, Digest: res.ContentDigest, Manifest: res.ManifestDigest}); err != nil {
			return err
		}
		total.Chunks += res.Chunks
		total.UploadedBytes += res.UploadedBytes
		total.DeduplicatedBytes += res.DeduplicatedBytes
		return nil
	})
	if sh := fileCfg.shared; sh != nil {
		if err != nil {
			// Keep what was stored completely, so a run again resumes.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), interruptedCommitTimeout)
			_ = sh.st.commit(cctx)
			cancel()
		} else if err = commitStage(ctx, sh.st, cfg.Retry); err != nil {
			err = fmt.Errorf("push: %w", err)
		}
	}
	if err != nil {
		return PushResult{}, fmt.Errorf("push tree %s: %w", dir, err)
	}
	m, head, tail, err := content.TreeManifestFrame(cfg.MediaType, enc)
	if err != nil {
		return PushResult{}, fmt.Errorf("push tree %s: %w", dir, err)
	}
	md, err := putManifest(ctx, store, nil, cfg.Retry, manifestParts{head, list, tail})
	if err != nil {
		return PushResult{}, err
	}
	total.ManifestDigest, total.ContentDigest, total.Size, total.Kind = md, m.Digest, m.Size, content.KindTree
	return total, nil
}

// treeSpoolMem is the memory each of a stream-layout tree push's spools
// keeps before it moves to a temporary file.
const treeSpoolMem = 256 << 10

// pushTreeStream pushes dir in the stream layout (see PushTree): a
// treeWalker sends the entries in path order, opening each file; the
// treeSource reads them as one stream for the pipeline (pushStream) and
// writes the entries; then the tree manifest is stored, made of the chunk
// list and the entry list, once every chunk is durable.
func pushTreeStream(ctx context.Context, dir string, store BlobStore, cfg pushConfig) (PushResult, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return PushResult{}, fmt.Errorf("push %s: %w", dir, err)
	}
	defer root.Close()
	rg, err := newRing(cfg.BufferSize, int(cfg.Chunker.Max))
	if err != nil {
		return PushResult{}, fmt.Errorf("push: %w", err)
	}
	defer rg.close()
	prog := &progress{fn: cfg.Progress, cur: Progress{Total: -1}}

	wctx, stop := context.WithCancel(ctx)
	items := make(chan []walkItem, walkQueue)
	w := &treeWalker{dir: dir, follow: cfg.FollowSymlinks, strict: cfg.Strict, onSkip: cfg.OnSkip, items: items}
	go w.run(wctx, root)
	// The entries as read (without digests) and the files' digests as
	// hashed go to spools, buffered: written one by one past a spool's
	// memory, each would be a write(2). The tree's three lists are spooled
	// at once, so each keeps less in memory than a spool's default (about
	// 7,000 files in the entry list): a 100,000-file push then stays under
	// 64 MiB of resident memory.
	records, digests := &spool.Spool{Limit: treeSpoolMem}, &spool.Spool{Limit: treeSpoolMem}
	defer records.Close()
	defer digests.Close()
	recBuf, digBuf := bufio.NewWriterSize(records, 64<<10), bufio.NewWriterSize(digests, 64<<10)
	src := &treeSource{ctx: wctx, items: items, rec: &entryRecords{w: recBuf}, cuts: &fileCuts{digests: digBuf}, dir: dir, big: cfg.Chunker.Min}
	defer func() {
		stop()
		src.drain()
	}()

	chunks := &spool.Spool{}
	defer chunks.Close()
	st, err := pushStream(ctx, src, store, cfg, rg, prog, chunks)
	if st.abort != nil {
		defer st.abort()
	}
	if err != nil {
		return PushResult{}, fmt.Errorf("push tree %s: %w", dir, err)
	}
	// The bytes are all read: the ring's memory goes back now, before the
	// entries are encoded and the manifest stored.
	rg.close()
	entries := &spool.Spool{Limit: treeSpoolMem}
	defer entries.Close()
	entriesBuf := bufio.NewWriterSize(entries, 64<<10)
	enc := content.NewTreeEntryEncoder(entriesBuf)
	err = errors.Join(recBuf.Flush(), digBuf.Flush())
	if err == nil {
		err = encodeEntries(records, digests, enc)
	}
	if err == nil {
		err = entriesBuf.Flush()
	}
	if err != nil {
		return PushResult{}, fmt.Errorf("push tree %s: the entry list: %w", dir, err)
	}
	m, head, mid, tail, err := content.StreamTreeManifestFrame(cfg.MediaType, st.list.enc, enc)
	if err != nil {
		return PushResult{}, fmt.Errorf("push tree %s: %w", dir, err)
	}
	if st.cm != nil {
		if err := st.cm.commit(ctx); err != nil {
			return PushResult{}, fmt.Errorf("push tree %s: %w", dir, err)
		}
	}
	md, err := putManifest(ctx, store, nil, cfg.Retry, manifestParts{head, chunks, mid, entries, tail})
	if err != nil {
		return PushResult{}, err
	}
	return PushResult{ManifestDigest: md, ContentDigest: m.Digest, Size: m.Size, Kind: content.KindTree,
		Chunks: st.list.enc.Len(), UploadedBytes: st.uploaded, DeduplicatedBytes: st.dedup}, nil
}

// dirStack holds the directories of a tree being written in path order
// that entries may still go into. In path order the entries inside "d"
// are the ones starting with "d/", a contiguous run, so "d" is complete at
// the first later entry past "d/" that is not inside it. The directories
// still open all prefix the latest path: at most a path's length of them.
type dirStack struct{ open []content.TreeEntry }

// done calls fn, innermost first, for each open directory that nothing at
// or after the path next (which sorts after every path seen) can be
// inside, and forgets it; next "" means the end, when all are done.
func (s *dirStack) done(next string, fn func(content.TreeEntry) error) error {
	for len(s.open) > 0 {
		d := s.open[len(s.open)-1]
		if next != "" && (next < d.Path+"/" || strings.HasPrefix(next, d.Path+"/")) {
			return nil
		}
		if err := fn(d); err != nil {
			return err
		}
		s.open = s.open[:len(s.open)-1]
	}
	return nil
}

// walkSorted calls fn for every entry below dir of fsys (not dir itself)
// in the order of a tree manifest: by the byte order of the full
// slash-separated paths. That is not a depth-first walk in name order: the
// directory "a" sorts before the file "a.txt", which sorts before "a/x"
// ('.' < '/'). So each directory's children are sorted with a directory's
// subtree keyed as its name plus "/", and visited in that order: the
// directory's own entry, its siblings up to "name/", then its subtree.
// Memory is one directory listing per level.
func walkSorted(fsys fs.FS, dir string, fn func(p string, d fs.DirEntry) error) error {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return err
	}
	type item struct {
		key     string
		d       fs.DirEntry
		subtree bool
	}
	items := make([]item, 0, len(ents))
	for _, d := range ents {
		items = append(items, item{key: d.Name(), d: d})
		if d.IsDir() {
			items = append(items, item{key: d.Name() + "/", d: d, subtree: true})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.key, b.key) })
	for _, it := range items {
		p := it.d.Name()
		if dir != "." {
			p = dir + "/" + p
		}
		if it.subtree {
			err = walkSorted(fsys, p, fn)
		} else {
			err = fn(p, it.d)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "special file"
	}
}

// PullTree recreates the tree manifest md under dir (created if missing).
// dir itself may be a symbolic link to a directory, which is followed (a
// dangling one has its target created). Every path is validated again and
// resolved through an os.Root, so nothing is created outside dir; and
// nothing is written through a symbolic link inside dir: a link on the way
// to an entry, or at an entry's own path, fails the pull with
// ErrLinkInDestination naming it, before anything is written there. Each
// file is written to a temporary file next to its target, verified, synced
// and renamed into place: a file path holds either its previous content or
// the complete new file. Existing files at entry paths are replaced; other
// files in dir are left alone. A directory's permissions are applied once
// everything inside it is written, so read-only directories can be filled.
func PullTree(ctx context.Context, md content.Digest, store BlobStore, dir string, opts PullOptions) (PullResult, error) {
	opts = opts.withDefaults()
	mf, err := openChecked(ctx, store, md, opts)
	if err != nil {
		return PullResult{}, err
	}
	defer mf.close()
	return pullTree(ctx, md, mf, store, dir, opts)
}

// pullTree is PullTree with the manifest already fetched and the defaults
// applied.
func pullTree(ctx context.Context, md content.Digest, mf *manifestFile, store BlobStore, dir string, opts PullOptions) (PullResult, error) {
	m := mf.m
	if opts.Range != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w: a range applies to a file, not a tree", md.Short(), content.ErrInvalidRange)
	}
	if m.Kind != content.KindTree {
		return PullResult{}, fmt.Errorf("pull %s: %w: it is a %s, not a directory tree", md.Short(), ErrWrongKind, m.Kind)
	}
	sel, err := newSelector(opts.Paths)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", md.Short(), err)
	}
	if !sel.all() {
		// Every pattern must match before anything is written.
		err := mf.eachEntry(func(_ int, e content.TreeEntry) error { sel.note(e.Path); return nil })
		if err == nil {
			err = sel.unmatched()
		}
		if err != nil {
			return PullResult{}, fmt.Errorf("pull %s: %w", md.Short(), err)
		}
	}
	root, created, err := openDestination(dir)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", md.Short(), err)
	}
	defer root.Close()
	links := &linkGuard{root: root, dir: dir, trust: opts.TrustLinks}
	if created {
		links.fresh = "."
		// A new destination's directories go where the filesystem puts
		// top-level ones (see spreadDirs).
		defer spreadDirs(root)()
	}

	prog := &progress{fn: opts.Progress, cur: Progress{Total: m.Size}}
	res := PullResult{Manifest: m}
	if m.Stream() {
		res.Written, err = pullTreeStream(ctx, mf, store, root, dir, links, sel, opts, prog)
		if err != nil {
			return res, fmt.Errorf("pull %s: %w", md.Short(), err)
		}
		return res, nil
	}
	// The per-file layout: the entries are read from the manifest's spool
	// as they are pulled; a directory gets its mode once nothing more can
	// be written into it, so a read-only one can be filled (see dirStack).
	var dirs dirStack
	setMode := func(d content.TreeEntry) error {
		if err := root.Chmod(filepath.FromSlash(d.Path), fs.FileMode(d.Mode)); err != nil {
			return fmt.Errorf("pull %s: %w", md.Short(), err)
		}
		return nil
	}
	err = mf.eachEntry(func(_ int, e content.TreeEntry) error {
		if err := content.ValidatePath(e.Path); err != nil {
			return fmt.Errorf("pull %s: %w", md.Short(), err)
		}
		if err := dirs.done(e.Path, setMode); err != nil {
			return err
		}
		if !sel.selects(e.Path) {
			return nil
		}
		if err := links.check(e.Path); err != nil {
			return fmt.Errorf("pull %s: %w", md.Short(), err)
		}
		p := filepath.FromSlash(e.Path)
		if e.Type == content.EntryDir {
			if err := root.MkdirAll(p, 0o700); err != nil {
				return fmt.Errorf("pull %s: create directory: %w", md.Short(), err)
			}
			dirs.open = append(dirs.open, content.TreeEntry{Path: e.Path, Type: e.Type, Mode: e.Mode})
			return nil
		}
		n, err := pullTreeFile(ctx, root, e, store, opts, prog)
		res.Written += n
		if err != nil {
			return fmt.Errorf("pull %s: %s: %w", md.Short(), e.Path, err)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if err := dirs.done("", setMode); err != nil {
		return res, err
	}
	return res, nil
}

// openDestination opens the directory a tree is pulled to, creating it if
// missing. A symbolic link given as dir is followed (a dangling one has its
// target created); anything but a directory there is refused.
func openDestination(dir string) (root *os.Root, created bool, err error) {
	t, err := outpath.Resolve(dir)
	if err != nil {
		return nil, false, err
	}
	switch t.Kind {
	case outpath.Missing:
		if err := os.MkdirAll(t.Path, 0o755); err != nil {
			return nil, false, err
		}
		created = true
	case outpath.Directory:
	default:
		return nil, false, fmt.Errorf("%s (a %s) %w; give a directory to pull the tree into", t.Describe(), t.Kind, ErrNotDirectory)
	}
	root, err = os.OpenRoot(t.Path)
	return root, created, err
}

// linkGuard refuses a symbolic link inside a tree's destination on the way
// to an entry or at its path. The os.Root keeps every write inside the
// destination, but a link inside it would still send a write elsewhere in
// it (or outside it, refused by the root with a less helpful error), and a
// rename onto a link replaces the link: a tree pull writes where its
// manifest says or not at all. The directories already checked that prefix
// the latest path are remembered (at most a path's length of them), so in
// path order each directory is checked once, and each entry costs one
// Lstat of its own path.
type linkGuard struct {
	root *os.Root
	dir  string   // the destination as given, for messages
	real []string // checked directories, each inside the one before
	// trust turns the check off (PullOptions.TrustLinks): the os.Root
	// still keeps every write inside the destination.
	trust bool
	// fresh is the slash path of a directory this pull created ("." for
	// the destination itself), the latest one not inside another: nothing
	// in it is a link or a file but what the pull puts there (entry paths
	// are unique), so its entries need no look before they are written.
	fresh string
}

// inFresh reports whether the directory dir (slash path, "." for the
// destination) is, or is inside, a directory this pull created.
func (g *linkGuard) inFresh(dir string) bool {
	return g.fresh == "." || (g.fresh != "" && (dir == g.fresh || strings.HasPrefix(dir, g.fresh+"/")))
}

// check looks at every element of the slash-separated path p that exists.
func (g *linkGuard) check(p string) error {
	if g.trust {
		return nil
	}
	for len(g.real) > 0 && !strings.HasPrefix(p, g.real[len(g.real)-1]+"/") {
		g.real = g.real[:len(g.real)-1]
	}
	start := 0
	if len(g.real) > 0 {
		start = len(g.real[len(g.real)-1]) + 1
	}
	for {
		prefix := p
		i := strings.IndexByte(p[start:], '/')
		if i >= 0 {
			prefix = p[:start+i]
		}
		fi, err := g.root.Lstat(filepath.FromSlash(prefix))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil // the pull creates it, as a real directory or file
		case err != nil:
			return err
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link; a tree is never written through a link inside its destination (remove the link, or pull to an empty directory): %w",
				filepath.Join(g.dir, filepath.FromSlash(prefix)), ErrLinkInDestination)
		case !fi.IsDir():
			return nil // a file in the way: writing below it fails
		}
		g.real = append(g.real, prefix)
		if i < 0 {
			return nil
		}
		start += i + 1
	}
}

// pullTreeFile pulls one file entry to a temporary file beside its target
// and renames it into place.
func pullTreeFile(ctx context.Context, root *os.Root, e content.TreeEntry, store BlobStore, opts PullOptions, prog *progress) (int64, error) {
	mf, err := openManifest(ctx, store, e.Manifest, opts.Retry)
	if err != nil {
		return 0, err
	}
	defer mf.close()
	fm := mf.m
	if fm.Kind != content.KindFile {
		return 0, fmt.Errorf("%w: its manifest %s is a %s", ErrWrongKind, e.Manifest.Short(), fm.Kind)
	}
	if fm.Digest != e.Digest || fm.Size != e.Size {
		return 0, &content.MismatchError{Expected: e.Digest, Actual: fm.Digest, ExpectedSize: e.Size, ActualSize: fm.Size}
	}
	dir := path.Dir(e.Path)
	if dir != "." {
		if err := root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
			return 0, err
		}
	}
	tmp := filepath.FromSlash(path.Join(dir, fmt.Sprintf(".artstore-%016x.tmp", rand.Uint64())))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			root.Remove(tmp)
		}
	}()
	n, err := pullChunks(ctx, mf, store, newEarlyWriteback(f), opts, prog)
	if err != nil {
		return n, err
	}
	if err := commitFile(f, fs.FileMode(e.Mode)); err != nil {
		return n, err
	}
	if err := root.Rename(tmp, filepath.FromSlash(e.Path)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return n, fmt.Errorf("a directory is in the way: %w", err)
		}
		return n, err
	}
	committed = true
	return n, nil
}
