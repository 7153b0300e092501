package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/artifact-store/artstore/internal/content"
)

// walkItem is one entry of a tree being pushed, in the manifest's order.
// A regular file comes opened.
type walkItem struct {
	path   string
	typ    content.EntryType
	mode   uint32
	target string        // a symbolic link's text
	f      io.ReadCloser // a regular file, opened
	size   int64         // a regular file's size when opened
	err    error
}

// dirEnt is one entry of a directory listing: its name and type bits.
type dirEnt struct {
	name string
	typ  fs.FileMode
}

func (e dirEnt) Name() string      { return e.name }
func (e dirEnt) Type() fs.FileMode { return e.typ }
func (e dirEnt) IsDir() bool       { return e.typ.IsDir() }

// errNotRegular: an entry listed as a regular file is something else by
// the time it is opened.
var errNotRegular = errors.New("not a regular file")

// treeWalker walks a directory in the manifest's order (see walkSorted)
// and sends each entry on items, opening each regular file on the way, so
// the reader of the stream only reads. Each directory is opened once, as
// an os.Root of its own, and its entries are opened and stat'ed relative
// to it: one system call each, not one per path component, and nothing
// outside the directory is reached unless links are followed.
type treeWalker struct {
	dir    string // as given, for messages
	follow bool
	strict bool
	onSkip func(path, what string)
	items  chan<- []walkItem
	batch  []walkItem
	// ancestors holds the directories on the current path when links are
	// followed (a link to an ancestor would loop).
	ancestors []os.FileInfo
}

// The walker sends entries in batches of walkBatch, at most walkQueue
// batches ahead of the stream's reader: one channel operation (and
// goroutine wake-up) per batch, not per file, and at most about 160 files
// open.
const (
	walkBatch = 32
	walkQueue = 4
)

// run walks root and closes items when done. An error is sent as the last
// item.
func (w *treeWalker) run(ctx context.Context, root *os.Root) {
	defer close(w.items)
	err := w.walkDir(ctx, root, "")
	if err != nil {
		w.batch = append(w.batch, walkItem{err: err})
	}
	if len(w.batch) > 0 {
		select {
		case w.items <- w.batch:
		case <-ctx.Done():
			closeItems(w.batch)
		}
	}
}

// send queues wi, sending the batch when it is full.
func (w *treeWalker) send(ctx context.Context, wi walkItem) error {
	w.batch = append(w.batch, wi)
	if len(w.batch) < walkBatch {
		return nil
	}
	select {
	case w.items <- w.batch:
		w.batch = make([]walkItem, 0, walkBatch)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeItems closes the files of items nobody will read.
func closeItems(items []walkItem) {
	for _, it := range items {
		if it.f != nil {
			it.f.Close()
		}
	}
}

// display is the path of the entry p as the user named it.
func (w *treeWalker) display(p string) string {
	return filepath.Join(w.dir, filepath.FromSlash(p))
}

// walkDir sends the entries below the directory d (at slash path prefix,
// "" for the tree's root) in path order.
func (w *treeWalker) walkDir(ctx context.Context, d *os.Root, prefix string) error {
	df, err := d.Open(".")
	if err != nil {
		return err
	}
	defer df.Close()
	ents, err := readDir(df)
	if err != nil {
		return fmt.Errorf("read directory %s: %w", w.display(prefix), err)
	}
	type item struct {
		key     string
		d       dirEnt
		subtree bool
	}
	items := make([]item, 0, len(ents))
	for _, e := range ents {
		items = append(items, item{key: e.Name(), d: e})
		if e.IsDir() || (w.follow && e.Type()&fs.ModeSymlink != 0) {
			// A followed link may turn out to be a directory: its
			// subtree is keyed as a directory's, and visited if it is one.
			items = append(items, item{key: e.Name() + "/", d: e, subtree: true})
		}
	}
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.key, b.key) })
	var subdirs map[string]*os.Root // opened at the entry, walked at its subtree key
	defer func() {
		for _, r := range subdirs {
			r.Close()
		}
	}()
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := it.d.Name()
		p := name
		if prefix != "" {
			p = prefix + "/" + name
		}
		if it.subtree {
			sub := subdirs[name]
			if sub == nil {
				continue // a followed link that is not a directory
			}
			delete(subdirs, name)
			err := w.walkDir(ctx, sub, p)
			sub.Close()
			if err != nil {
				return err
			}
			if w.follow {
				w.ancestors = w.ancestors[:len(w.ancestors)-1]
			}
			continue
		}
		if err := content.ValidatePath(p); err != nil {
			return fmt.Errorf("cannot store %s: %w", w.display(p), err)
		}
		wi, sub, err := w.entry(d, df, name, p, it.d)
		if err != nil {
			return err
		}
		if sub != nil {
			if subdirs == nil {
				subdirs = map[string]*os.Root{}
			}
			subdirs[name] = sub
		}
		if wi.typ == "" {
			continue // skipped
		}
		if err := w.send(ctx, wi); err != nil {
			return err
		}
	}
	return nil
}

// entry looks at the entry name of d (slash path p): a directory (opened,
// returned as sub, to be walked at its subtree key), a regular file
// (opened), a symbolic link (its text, or, following links, what it points
// to) or a special file (skipped: an item without a type).
func (w *treeWalker) entry(d *os.Root, df *os.File, name, p string, de dirEnt) (walkItem, *os.Root, error) {
	wi := walkItem{path: p}
	t := de.Type()
	switch {
	case t.IsRegular():
		f, perm, size, err := openRegular(d, df, name)
		if errors.Is(err, errNotRegular) {
			return wi, nil, fmt.Errorf("%s changed type while being pushed: %w", w.display(p), ErrUnsupportedFileType)
		}
		if err != nil {
			return wi, nil, fmt.Errorf("push %s: %w", w.display(p), err)
		}
		wi.typ, wi.mode, wi.f, wi.size = content.EntryFile, uint32(perm), f, size
		return wi, nil, nil
	case t.IsDir():
		sub, err := d.OpenRoot(name)
		if err != nil {
			return wi, nil, err
		}
		st, err := sub.Stat(".")
		if err != nil {
			sub.Close()
			return wi, nil, err
		}
		if w.follow {
			w.ancestors = append(w.ancestors, st)
		}
		wi.typ, wi.mode = content.EntryDir, uint32(st.Mode().Perm())
		return wi, sub, nil
	case t&fs.ModeSymlink != 0 && w.follow:
		return w.followLink(d, name, p)
	case t&fs.ModeSymlink != 0:
		target, err := d.Readlink(name)
		if err != nil {
			return wi, nil, err
		}
		if err := content.ValidateLinkTarget(target); err != nil {
			return wi, nil, fmt.Errorf("cannot store the symbolic link %s: %w", w.display(p), err)
		}
		wi.typ, wi.target = content.EntrySymlink, target
		return wi, nil, nil
	}
	what := typeName(t)
	if w.strict {
		return wi, nil, fmt.Errorf("%s is a %s: %w (trees store files, directories and symbolic links; without --strict it is skipped with a warning)",
			w.display(p), what, ErrUnsupportedFileType)
	}
	if w.onSkip != nil {
		w.onSkip(w.display(p), what)
	}
	return wi, nil, nil
}

// followLink stores what the link name of d points to, wherever it is: a
// file's content, or a directory's tree (unless it is one of the
// directories being walked, which would loop forever).
func (w *treeWalker) followLink(d *os.Root, name, p string) (walkItem, *os.Root, error) {
	wi := walkItem{path: p}
	abs := filepath.Join(d.Name(), name)
	st, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return wi, nil, fmt.Errorf("%s is a symbolic link to nothing (%w); it cannot be followed", w.display(p), err)
	}
	if err != nil {
		return wi, nil, err
	}
	switch {
	case st.Mode().IsRegular():
		f, err := os.Open(abs)
		if err != nil {
			return wi, nil, err
		}
		wi.typ, wi.mode, wi.f, wi.size = content.EntryFile, uint32(st.Mode().Perm()), f, st.Size()
		return wi, nil, nil
	case st.IsDir():
		for _, a := range w.ancestors {
			if os.SameFile(a, st) {
				return wi, nil, fmt.Errorf("%s is a symbolic link to %s, a directory that contains it: following it would never end: %w",
					w.display(p), abs, ErrUnsupportedFileType)
			}
		}
		sub, err := os.OpenRoot(abs)
		if err != nil {
			return wi, nil, err
		}
		w.ancestors = append(w.ancestors, st)
		wi.typ, wi.mode = content.EntryDir, uint32(st.Mode().Perm())
		return wi, sub, nil
	}
	what := "symbolic link to a " + typeName(st.Mode())
	if w.strict {
		return wi, nil, fmt.Errorf("%s is a %s: %w", w.display(p), what, ErrUnsupportedFileType)
	}
	if w.onSkip != nil {
		w.onSkip(w.display(p), what)
	}
	return wi, nil, nil
}

// treeSource is the input of a stream-layout tree push: the concatenation,
// in path order, of the tree's files, read as one stream by the push
// pipeline. As it reads, it records every entry (records), each file with
// its offset in the stream and its size (what was read), and tells the
// hasher where each file ends (cuts), which hashes it with its chunks;
// the manifest's entries are written from both once the stream is read
// (encodeEntries).
//
// A file of at least big bytes starts and ends at chunk boundaries
// (boundaries): its chunks are then those it has when pushed alone, so it
// deduplicates against a push of the same file, in another tree or on its
// own, and an edit elsewhere never shifts its cuts. Smaller files are
// packed together between them, which is what saves their objects.
type treeSource struct {
	ctx   context.Context
	items <-chan []walkItem
	batch []walkItem // received, not taken yet
	rec   *entryRecords
	cuts  *fileCuts
	dir   string
	big   int64
	// bounds are the chunk boundaries not passed yet, in order.
	bounds []int64

	cur  *walkItem
	n    int64 // bytes read of cur
	off  int64 // stream offset of cur
	done bool
}

// fileCuts implements the hasher's interface for inputs whose whole digest
// is cut at file ends.
func (s *treeSource) fileCuts() *fileCuts { return s.cuts }

// Read implements io.Reader. A file is read up to the size it had when
// opened: one read(2) for a small file, not two (the second to see the
// end). A file that grows while it is pushed is stored as it was then;
// one that shrinks, as far as it goes.
func (s *treeSource) Read(p []byte) (int, error) {
	for {
		if s.cur != nil {
			var n int
			var err error
			if left := s.cur.size - s.n; left > 0 {
				n, err = s.cur.f.Read(p[:min(int64(len(p)), left)])
			} else {
				err = io.EOF
			}
			if n > 0 {
				s.n += int64(n)
				return n, nil
			}
			if err == io.EOF {
				if err := s.finishFile(); err != nil {
					return 0, err
				}
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("read %s: %w", filepath.Join(s.dir, filepath.FromSlash(s.cur.path)), err)
			}
			continue
		}
		if s.done {
			return 0, io.EOF
		}
		if len(s.batch) == 0 {
			var ok bool
			select {
			case s.batch, ok = <-s.items:
			case <-s.ctx.Done():
				return 0, s.ctx.Err()
			}
			if !ok {
				s.done = true
				return 0, io.EOF
			}
		}
		it := s.batch[0]
		s.batch = s.batch[1:]
		switch {
		case it.err != nil:
			return 0, it.err
		case it.typ == content.EntryFile:
			s.cur, s.n = &it, 0
			if it.size >= s.big {
				s.cut(s.off)
			}
		default:
			if err := s.rec.add(content.TreeEntry{Path: it.path, Type: it.typ, Mode: it.mode, Target: it.target}); err != nil {
				return 0, fmt.Errorf("spool the entries: %w", err)
			}
		}
	}
}

// finishFile closes the current file and writes its entry.
func (s *treeSource) finishFile() error {
	c := s.cur
	s.cur = nil
	c.f.Close()
	e := content.TreeEntry{Path: c.path, Type: content.EntryFile, Mode: c.mode, Size: s.n, Offset: s.off}
	s.off += s.n
	if s.n > 0 {
		s.cuts.finished(s.off)
	}
	if c.size >= s.big {
		s.cut(s.off)
	}
	if err := s.rec.add(e); err != nil {
		return fmt.Errorf("spool the entries: %w", err)
	}
	return nil
}

// cut adds a chunk boundary at stream offset off.
func (s *treeSource) cut(off int64) {
	if off > 0 && (len(s.bounds) == 0 || s.bounds[len(s.bounds)-1] < off) {
		s.bounds = append(s.bounds, off)
	}
}

// cutAfter implements boundaries.
func (s *treeSource) cutAfter(pos int64) int64 {
	for len(s.bounds) > 0 && s.bounds[0] <= pos {
		s.bounds = s.bounds[1:]
	}
	if len(s.bounds) == 0 {
		return 0
	}
	return s.bounds[0]
}

// drain closes the files of the entries nobody will read.
func (s *treeSource) drain() {
	if s.cur != nil {
		s.cur.f.Close()
		s.cur = nil
	}
	closeItems(s.batch)
	s.batch = nil
	for b := range s.items {
		closeItems(b)
	}
}
