package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/pkg/api"
)

// The pages of PullURLs walk a pull's URL sequence: the blobs a pull reads
// after its manifest, in the order it reads them. For a file or a
// stream-layout tree that is the manifest's chunk list (an item's index is
// its chunk index); for a per-file layout tree it is, for each file entry,
// the file's manifest and then that manifest's chunks. A scan of the
// sequence notes where it could resume (pageMarks) every PullURLPage items
// and where a page ends, and a later page starts at the nearest mark at or
// before its index: it reads the manifest blob from that byte offset (a
// ranged Get), so a page costs about a page of the manifest, not the
// manifest up to it. Marks are this daemon's own memory of its own scans,
// never taken from a client, so a page token stays a plain index and a
// client cannot steer the scan into bytes of its choosing.

// Manifest lists the sequence walks.
const (
	listChunks  = "chunks"  // a file, or a stream-layout tree
	listEntries = "entries" // a per-file layout tree
)

// Bounds of the marks a Service keeps.
const (
	// maxMarkedManifests is how many manifests have marks at once; the
	// least recently used one is dropped for a new one.
	maxMarkedManifests = 64
	// maxMarks bounds the marks of one manifest (a page of items apart,
	// 4096 cover two million URLs); past it every other one is dropped.
	maxMarks = 4096
)

// pageMark is a place in a pull's URL sequence where a scan can resume:
// before item index, whose element follows the separator ('[' or ',') at
// byte sep of the manifest's list (pos is where that chunk starts in the
// content). In a per-file layout tree a mark inside a file's chunks also
// names the file manifest and the separator before its next chunk
// element; sep is then the separator after the file's entry.
type pageMark struct {
	index   int
	sep     int64
	pos     int64
	file    content.Digest
	fileSep int64
}

// markList is what a Service remembers of one manifest's sequence.
type markList struct {
	used  uint64
	list  string // listChunks or listEntries
	size  int64  // the manifest blob's size, 0 until a resume needs it
	marks []pageMark
}

// pageMarks keeps the marks of the manifests recently paged. Everything
// in it is derived from the content-addressed (immutable) manifests, so
// dropping any of it costs only a longer scan.
type pageMarks struct {
	mu   sync.Mutex
	tick uint64
	m    map[content.Digest]*markList
}

// at returns the list kind, blob size and the mark nearest at or before
// index from of manifest d; ok is false when there is none (scan from the
// start).
func (c *pageMarks) at(d content.Digest, from int) (list string, size int64, m pageMark, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ml := c.m[d]
	if ml == nil {
		return "", 0, pageMark{}, false
	}
	c.tick++
	ml.used = c.tick
	i := sort.Search(len(ml.marks), func(i int) bool { return ml.marks[i].index > from })
	if i == 0 {
		return ml.list, ml.size, pageMark{}, false
	}
	return ml.list, ml.size, ml.marks[i-1], true
}

// start notes that manifest d's sequence walks list (a scan from its
// start found it).
func (c *pageMarks) start(d content.Digest, list string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[content.Digest]*markList{}
	}
	c.tick++
	if ml := c.m[d]; ml != nil {
		ml.used = c.tick
		return
	}
	if len(c.m) >= maxMarkedManifests {
		var old content.Digest
		var oldest uint64
		for k, v := range c.m {
			if old.IsZero() || v.used < oldest {
				old, oldest = k, v.used
			}
		}
		delete(c.m, old)
	}
	c.m[d] = &markList{used: c.tick, list: list}
}

// setSize notes the size of manifest blob d.
func (c *pageMarks) setSize(d content.Digest, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ml := c.m[d]; ml != nil {
		ml.size = size
	}
}

// add notes mark m of manifest d.
func (c *pageMarks) add(d content.Digest, m pageMark) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ml := c.m[d]
	if ml == nil {
		return
	}
	i := sort.Search(len(ml.marks), func(i int) bool { return ml.marks[i].index >= m.index })
	if i < len(ml.marks) && ml.marks[i].index == m.index {
		return
	}
	ml.marks = append(ml.marks, pageMark{})
	copy(ml.marks[i+1:], ml.marks[i:])
	ml.marks[i] = m
	if len(ml.marks) > maxMarks {
		kept := ml.marks[:0]
		for j := 0; j < len(ml.marks); j += 2 {
			kept = append(kept, ml.marks[j])
		}
		ml.marks = kept
	}
}

// jsonList reads the elements of a manifest's chunk or entry list one at
// a time, knowing the byte offset of the separator before the next one.
type jsonList struct {
	rc   io.ReadCloser
	dec  *json.Decoder
	base int64 // blob offset of the decoder's offset 0
	sep  int64 // blob offset of the separator before the next element
}

func (l *jsonList) Close() error { return l.rc.Close() }

// next decodes the next element into v; false at the end of the list.
func (l *jsonList) next(v any) (bool, error) {
	if !l.dec.More() {
		if t, err := l.dec.Token(); err != nil || t != json.Delim(']') {
			return false, fmt.Errorf("%w: the list after byte %d does not end with ]", content.ErrInvalidManifest, l.sep)
		}
		return false, nil
	}
	if err := l.dec.Decode(v); err != nil {
		return false, fmt.Errorf("%w: list element after byte %d: %w", content.ErrInvalidManifest, l.sep, err)
	}
	l.sep = l.base + l.dec.InputOffset()
	return true, nil
}

// openList reads manifest blob d from its start up to its chunk list (a
// file or a stream-layout tree) or its entry list (a per-file layout
// tree), and says which.
func openList(ctx context.Context, be storage.Backend, d content.Digest) (*jsonList, string, error) {
	rc, err := be.Get(ctx, d, nil)
	if err != nil {
		return nil, "", err
	}
	l, list, err := startList(rc)
	if err != nil {
		return nil, "", fmt.Errorf("manifest %s: %w", d.Short(), err)
	}
	return l, list, nil
}

// startList reads a manifest from rc up to the list a pull walks; it
// closes rc when it fails.
func startList(rc io.ReadCloser) (*jsonList, string, error) {
	l := &jsonList{rc: rc, dec: json.NewDecoder(io.LimitReader(rc, content.MaxManifestSize))}
	list, err := l.header()
	if err != nil {
		rc.Close()
		return nil, "", err
	}
	l.dec.DisallowUnknownFields()
	return l, list, nil
}

// header reads the manifest's fields up to the list a pull walks.
func (l *jsonList) header() (string, error) {
	if t, err := l.dec.Token(); err != nil || t != json.Delim('{') {
		return "", fmt.Errorf("%w: not a JSON object", content.ErrInvalidManifest)
	}
	var (
		schema int
		kind   content.Kind
	)
	for l.dec.More() {
		t, err := l.dec.Token()
		if err != nil {
			return "", fmt.Errorf("%w: %w", content.ErrInvalidManifest, err)
		}
		key, _ := t.(string)
		want := listChunks
		if kind == content.KindTree && schema == content.ManifestSchema {
			want = listEntries
		}
		switch {
		case key == "schema":
			err = l.dec.Decode(&schema)
		case key == "kind":
			err = l.dec.Decode(&kind)
		case key == want:
			if t, err := l.dec.Token(); err != nil || t != json.Delim('[') {
				return "", fmt.Errorf("%w: %q is not a list", content.ErrInvalidManifest, key)
			}
			l.sep = l.dec.InputOffset() - 1
			return want, nil
		default:
			var skip json.RawMessage
			err = l.dec.Decode(&skip)
		}
		if err != nil {
			return "", fmt.Errorf("%w: field %q: %w", content.ErrInvalidManifest, key, err)
		}
	}
	return "", fmt.Errorf("%w: a %s manifest of schema %d without its list", content.ErrInvalidManifest, kind, schema)
}

// openListAt reads the list of manifest blob d (size bytes) from the
// separator at byte sep on, which a scan from its start found.
func openListAt(ctx context.Context, be storage.Backend, d content.Digest, sep, size int64) (*jsonList, error) {
	if sep <= 0 || sep >= size {
		return nil, fmt.Errorf("manifest %s: resume at byte %d of %d", d.Short(), sep, size)
	}
	rc, err := be.Get(ctx, d, &content.Range{Start: sep, End: size - 1})
	if err != nil {
		return nil, err
	}
	l, err := resumeList(rc, sep)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", d.Short(), err)
	}
	return l, nil
}

// resumeList reads a list from rc, which starts at the separator at byte
// sep of its manifest; it closes rc when it fails.
func resumeList(rc io.ReadCloser, sep int64) (*jsonList, error) {
	var first [1]byte
	if _, err := io.ReadFull(rc, first[:]); err != nil || (first[0] != '[' && first[0] != ',' && first[0] != ']') {
		rc.Close()
		return nil, fmt.Errorf("%w: byte %d is not a list separator (read: %v)", content.ErrInvalidManifest, sep, err)
	}
	// The element after the separator is read as the first of a list; a
	// mark after the last element resumes at the list's end.
	in := io.MultiReader(bytes.NewReader([]byte{'['}), rc)
	if first[0] == ']' {
		in = bytes.NewReader([]byte("[]"))
	}
	l := &jsonList{rc: rc, dec: json.NewDecoder(in), base: sep, sep: sep}
	l.dec.DisallowUnknownFields()
	if _, err := l.dec.Token(); err != nil {
		rc.Close()
		return nil, fmt.Errorf("%w: %w", content.ErrInvalidManifest, err)
	}
	return l, nil
}

// Ends of a page's scan.
var (
	// errPageFull: the page holds PullURLPage URLs and there are more.
	errPageFull = errors.New("page full")
	// errRangeEnd: the rest of the sequence is past the range.
	errRangeEnd = errors.New("past the range")
)

// pager fills one page of PullURLs.
type pager struct {
	ctx         context.Context
	be          storage.Backend
	marks       *pageMarks
	direct      *Direct
	md          content.Digest
	from        int
	first, last int64 // the content range (chunk lists)
	index       int   // the sequence index of the next item
	out         api.PullURLs
}

// fill walks the sequence from the nearest mark at or before p.from to
// the end of the page.
func (p *pager) fill() error {
	list, size, m, ok := p.marks.at(p.md, p.from)
	var (
		l   *jsonList
		err error
	)
	if !ok {
		if l, list, err = openList(p.ctx, p.be, p.md); err != nil {
			return err
		}
		p.marks.start(p.md, list)
		defer l.Close()
	}
	p.index = m.index
	if ok && !m.file.IsZero() {
		if err := p.fileChunks(m.file, m.fileSep, m.sep); err != nil {
			return err
		}
	}
	if ok {
		if size == 0 {
			info, err := p.be.Head(p.ctx, p.md)
			if err != nil {
				return fmt.Errorf("manifest %s: %w", p.md.Short(), err)
			}
			size = info.Size
			p.marks.setSize(p.md, size)
		}
		if l, err = openListAt(p.ctx, p.be, p.md, m.sep, size); err != nil {
			return err
		}
		defer l.Close()
	}
	if list == listEntries {
		return p.entries(l)
	}
	return p.chunks(l, m.pos)
}

// item hands out blob d (size bytes; skip: not needed) as the next item,
// unless it comes before the page. mark says where the scan stands just
// before it.
func (p *pager) item(d content.Digest, size int64, skip bool, mark func() pageMark) error {
	i := p.index
	p.index++
	note := func() {
		m := mark()
		m.index = i
		p.marks.add(p.md, m)
	}
	if i > 0 && i%PullURLPage == 0 {
		note()
	}
	if i < p.from || skip {
		return nil
	}
	if len(p.out.Chunks) == PullURLPage {
		note()
		p.out.Next, p.out.Done = i, false
		return errPageFull
	}
	sr, err := p.direct.Presigner.PresignGet(p.ctx, d, p.direct.urlTTL())
	if err != nil {
		return fmt.Errorf("presign %s (item %d): %w", d.Short(), i, err)
	}
	p.out.Chunks = append(p.out.Chunks, api.ChunkURL{Index: i, Digest: d.String(), Size: size, Get: SignedRequest(sr)})
	return nil
}

// chunks walks a file's or a stream-layout tree's chunk list; pos is where
// the next chunk starts in the content.
func (p *pager) chunks(l *jsonList, pos int64) error {
	for {
		sep, start := l.sep, pos
		var c content.ChunkRef
		ok, err := l.next(&c)
		if err != nil || !ok {
			return err
		}
		pos += c.Size
		if c.Size > 0 && pos > p.first && start > p.last {
			return errRangeEnd
		}
		err = p.item(c.Digest, c.Size, c.Size == 0 || pos <= p.first, func() pageMark { return pageMark{sep: sep, pos: start} })
		if err != nil {
			return err
		}
	}
}

// entries walks a per-file layout tree's entries: each file's manifest,
// then its chunks.
func (p *pager) entries(l *jsonList) error {
	for {
		sep := l.sep
		var e content.TreeEntry
		ok, err := l.next(&e)
		if err != nil || !ok {
			return err
		}
		if e.Type != content.EntryFile || e.Manifest.IsZero() {
			continue
		}
		if err := p.item(e.Manifest, 0, false, func() pageMark { return pageMark{sep: sep} }); err != nil {
			return err
		}
		if err := p.fileChunks(e.Manifest, 0, l.sep); err != nil {
			return err
		}
	}
}

// fileChunks walks the chunks of file manifest fm of a per-file layout
// tree, from its start (fileSep 0) or from the separator at fileSep; after
// is the separator after the file's entry in the tree manifest.
func (p *pager) fileChunks(fm content.Digest, fileSep, after int64) error {
	var (
		l    *jsonList
		list string
		err  error
	)
	if fileSep == 0 {
		l, list, err = openList(p.ctx, p.be, fm)
		if err == nil && list != listChunks {
			l.Close()
			err = fmt.Errorf("%w: file manifest %s is not a file's", content.ErrInvalidManifest, fm.Short())
		}
	} else {
		var info storage.Info
		if info, err = p.be.Head(p.ctx, fm); err == nil {
			l, err = openListAt(p.ctx, p.be, fm, fileSep, info.Size)
		}
	}
	if err != nil {
		return fmt.Errorf("file manifest %s: %w", fm.Short(), err)
	}
	defer l.Close()
	for {
		sep := l.sep
		var c content.ChunkRef
		ok, err := l.next(&c)
		if err != nil {
			return fmt.Errorf("file manifest %s: %w", fm.Short(), err)
		}
		if !ok {
			return nil
		}
		err = p.item(c.Digest, c.Size, c.Size == 0, func() pageMark { return pageMark{sep: after, file: fm, fileSep: sep} })
		if err != nil {
			return err
		}
	}
}
