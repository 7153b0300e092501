package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/content/sha256x2"
	"github.com/artifact-store/artstore/internal/outpath"
)

// PullOptions tunes Pull, PullToFile, PullTree and PullPath. The zero value
// is ready to use.
type PullOptions struct {
	// Range, if set, limits a file pull to these content bytes. The chunks
	// covering it are fetched and verified whole, then sliced. The
	// whole-content digest cannot be checked for a range.
	Range *content.Range
	// Concurrency is the number of chunk fetches in flight; 0 means
	// DefaultConcurrency.
	Concurrency int
	// ReadAhead is the most chunks fetched ahead of the one being written;
	// 0 means 4 × Concurrency. It is raised to Concurrency if lower.
	ReadAhead int
	// BufferSize bounds the chunk bytes held in memory at once; 0 means 3 ×
	// the largest chunk to fetch (24 MiB with the default chunker). It is
	// raised to the largest chunk if lower.
	BufferSize int
	// FileMode is the permission of files PullToFile creates; 0 means 0644.
	// PullTree uses the modes recorded in the manifest instead.
	FileMode fs.FileMode
	// Retry governs retries of store calls.
	Retry RetryPolicy
	// Progress, if set, is called after every chunk fetched and every
	// chunk written, with the running totals. Calls never overlap, but come
	// from several goroutines; the callback must be quick.
	Progress func(Progress)
	// Check, if set, is called with the verified manifest before anything
	// is created, opened or written; an error it returns fails the pull.
	// A caller that knows what content to expect (the artifact's
	// registered digest, size and kind) checks it here, so a mismatch
	// leaves every target untouched.
	Check func(content.Manifest) error
}

func (o PullOptions) withDefaults() PullOptions {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.ReadAhead <= 0 {
		o.ReadAhead = 4 * o.Concurrency
	}
	if o.ReadAhead < o.Concurrency {
		o.ReadAhead = o.Concurrency
	}
	if o.FileMode == 0 {
		o.FileMode = 0o644
	}
	o.Retry = o.Retry.withDefaults()
	return o
}

// PullResult reports a finished pull.
type PullResult struct {
	// Manifest is the verified manifest that was pulled, without its chunk
	// list or a tree's entries (which are not held in memory).
	Manifest content.Manifest
	// Written counts the bytes written (the range length for a range).
	Written int64
}

// Pull writes the content of the file manifest md (or opts.Range of it) to
// w. Every chunk is verified against its digest before any of its bytes
// reach w, and for a whole-content pull the content digest is checked at
// the end; failures match content.ErrMismatch. Because bytes are written as
// they are verified, w may have received a prefix of the content when Pull
// fails; use PullToFile for all-or-nothing. A tree manifest fails with
// ErrWrongKind.
func Pull(ctx context.Context, md content.Digest, store BlobStore, w io.Writer, opts PullOptions) (PullResult, error) {
	f, err := OpenFile(ctx, md, store, opts)
	if err != nil {
		return PullResult{}, err
	}
	defer f.Close()
	return f.WriteRange(ctx, w, opts.Range)
}

// openChecked fetches and verifies the manifest md and passes it to
// opts.Check.
func openChecked(ctx context.Context, store BlobStore, md content.Digest, opts PullOptions) (*manifestFile, error) {
	mf, err := openManifest(ctx, store, md, opts.Retry)
	if err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	if opts.Check != nil {
		if err := opts.Check(mf.m); err != nil {
			mf.close()
			return nil, fmt.Errorf("pull %s: %w", md.Short(), err)
		}
	}
	return mf, nil
}

// pullFile is Pull with the manifest already fetched and the defaults
// applied.
func pullFile(ctx context.Context, md content.Digest, mf *manifestFile, store BlobStore, w io.Writer, opts PullOptions) (PullResult, error) {
	m := mf.m
	if m.Kind != content.KindFile {
		return PullResult{}, fmt.Errorf("pull %s: %w: it is a %s (pull it into a directory)", md.Short(), ErrWrongKind, m.Kind)
	}
	p := &progress{fn: opts.Progress, cur: Progress{Total: m.Size}}
	if opts.Range != nil {
		p.cur.Total = opts.Range.Length()
	}
	n, err := pullChunks(ctx, mf, store, w, opts, p)
	if err != nil {
		return PullResult{Manifest: m, Written: n}, fmt.Errorf("pull %s: %w", md.Short(), err)
	}
	return PullResult{Manifest: m, Written: n}, nil
}

// PullPath pulls md to path whatever its kind: a file manifest with
// PullToFile, a tree manifest with PullTree (path is then the directory).
// It fetches the manifest once.
func PullPath(ctx context.Context, md content.Digest, store BlobStore, path string, opts PullOptions) (PullResult, error) {
	opts = opts.withDefaults()
	mf, err := openChecked(ctx, store, md, opts)
	if err != nil {
		return PullResult{}, err
	}
	defer mf.close()
	if mf.m.Kind == content.KindTree {
		return pullTree(ctx, md, mf, store, path, opts)
	}
	return pullToFile(ctx, md, mf, store, path, opts)
}

// fetched is one chunk on its way from the store to the writer.
type fetched struct {
	ref      content.ChunkRef
	buf      []byte
	err      error
	verified bool // by the fetcher; otherwise the in-order hasher verifies it
}

type fetchJob struct {
	index int
	ref   content.ChunkRef
	buf   []byte
	out   chan<- fetched
}

// errStopScan ends a scan of the chunk list early.
var errStopScan = errors.New("stop scanning the chunk list")

// pullChunks streams the chunks of m covering opts.Range (or all) to w in
// order. The dispatcher reserves each chunk's bytes in a fixed buffer (a
// FIFO: reserved in chunk order, released in chunk order by the writer) and
// hands it to one of Concurrency fetchers, which fetch and verify into it;
// the writer writes each chunk when its turn comes. Space is reserved in
// order, so the chunk the writer waits for always has its space.
//
// The chunk list is read twice from the manifest's spool: once to size the
// buffer and find the chunks covering the range, once as the dispatcher
// goes.
func pullChunks(parent context.Context, mf *manifestFile, store BlobStore, w io.Writer, opts PullOptions, prog *progress) (int64, error) {
	m := mf.m
	if opts.Range != nil {
		if err := opts.Range.Validate(m.Size); err != nil {
			return 0, err
		}
	}
	// The chunks first..last cover the range (or all); off is where first
	// starts.
	first, last, off := -1, -1, int64(0)
	var biggest, total, pos int64
	err := mf.eachChunk(func(i int, c content.ChunkRef) error {
		end := pos + c.Size
		if opts.Range == nil || (end > opts.Range.Start && pos <= opts.Range.End) {
			if first < 0 {
				first, off = i, pos
			}
			last = i
			biggest = max(biggest, c.Size)
			total += c.Size
		} else if opts.Range != nil && pos > opts.Range.End {
			return errStopScan
		}
		pos = end
		return nil
	})
	if err != nil && err != errStopScan {
		return 0, fmt.Errorf("read the chunk list: %w", err)
	}
	if first < 0 { // empty content
		if m.Digest != content.FromBytes(nil) {
			return 0, &content.MismatchError{Expected: m.Digest, Actual: content.FromBytes(nil), ExpectedSize: m.Size}
		}
		return 0, nil
	}
	size := int64(opts.BufferSize)
	if size <= 0 {
		size = 3 * biggest
	}
	size = min(max(size, biggest), total)
	buf, free := bigBuffer(int(size))
	fq := &fifo{buf: buf, freed: make(chan struct{}, 1)}

	// On return, stop everything and wait for the goroutines, so that no
	// callback runs and no buffer is touched after pullChunks returns.
	var running sync.WaitGroup
	defer free()
	defer running.Wait()
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	order := make(chan chan fetched, opts.ReadAhead)
	jobs := make(chan fetchJob)

	running.Add(1)
	go func() { // dispatcher
		defer running.Done()
		defer close(order)
		defer close(jobs)
		err := mf.eachChunk(func(i int, c content.ChunkRef) error {
			if i < first {
				return nil
			}
			if i > last {
				return errStopScan
			}
			b, err := fq.alloc(ctx, int(c.Size))
			if err != nil {
				return err
			}
			out := make(chan fetched, 1)
			if err := send(ctx, order, chan fetched(out)); err != nil {
				return err
			}
			return send(ctx, jobs, fetchJob{i, c, b, out})
		})
		if err != nil && err != errStopScan && ctx.Err() == nil {
			// The spool could not be read again: the writer reports it.
			out := make(chan fetched, 1)
			out <- fetched{err: fmt.Errorf("read the chunk list: %w", err)}
			_ = send(ctx, order, chan fetched(out))
		}
	}()
	// Every byte of a whole pull is hashed twice: for its chunk's digest
	// and for the whole content's. As in Push, where the processor pairs
	// the two (sha256x2.Accelerated), the in-order hasher verifies the
	// chunks close to it in one pass with the whole digest; fetchers verify
	// the chunks further ahead themselves, with CPU that would otherwise
	// idle. A range pull has no whole digest: its fetchers verify every
	// chunk.
	both := opts.Range == nil && sha256x2.Accelerated()
	var hashAt atomic.Int64 // the chunk the in-order hasher is at
	hashAt.Store(int64(first))
	for range opts.Concurrency {
		running.Add(1)
		go func() { // fetchers
			defer running.Done()
			for j := range jobs {
				verify := !both || int64(j.index)-hashAt.Load() > pairAhead
				err := fetchChunk(ctx, store, j.ref, j.buf, opts.Retry, verify)
				if err != nil {
					err = fmt.Errorf("chunk %d (%s): %w", j.index, j.ref.Digest.Short(), err)
				} else {
					prog.add(int64(len(j.buf)), 0, 0)
				}
				j.out <- fetched{j.ref, j.buf, err, verify}
			}
		}()
	}

	// In order, a feeder hands each fetched chunk to the whole-content
	// hasher and to the writer, which run side by side; a chunk's space is
	// released when both are done with it. Both finish chunks in order, so
	// chunks become free in order. The writer writes a chunk only once it
	// is verified: by its fetcher, or (waiting for the verdict) by the
	// hasher.
	pair := sha256x2.New()
	holders := int32(1)
	var hashQ chan *heldChunk
	if opts.Range == nil {
		holders = 2
		hashQ = make(chan *heldChunk, opts.ReadAhead)
	}
	writeQ := make(chan *heldChunk, opts.ReadAhead)
	running.Add(1)
	go func() { // feeder
		defer running.Done()
		defer close(writeQ)
		if hashQ != nil {
			defer close(hashQ)
		}
		i := first
		for out := range order {
			var f fetched
			select {
			case f = <-out:
			case <-ctx.Done():
				return
			}
			h := &heldChunk{index: i, ref: f.ref, buf: f.buf, err: f.err}
			i++
			if f.err == nil && !f.verified {
				h.verdict = make(chan error, 1)
			}
			h.refs.Store(holders)
			if hashQ != nil && f.err == nil {
				if send(ctx, hashQ, h) != nil {
					return
				}
			}
			if send(ctx, writeQ, h) != nil || f.err != nil {
				return
			}
		}
	}()
	if hashQ != nil {
		running.Add(1)
		go func() { // whole-content hasher, verifying the chunks it pairs
			defer running.Done()
			for h := range hashQ {
				hashAt.Store(int64(h.index))
				if h.verdict == nil {
					pair.WriteWhole(h.buf)
				} else {
					pair.Write(h.buf)
					c := h.ref
					var err error
					if got := content.FromSHA256(pair.Cut()); got != c.Digest {
						err = fmt.Errorf("chunk %d (%s): %w", h.index, c.Digest.Short(),
							&content.MismatchError{Expected: c.Digest, Actual: got, ExpectedSize: c.Size, ActualSize: int64(len(h.buf))})
					}
					h.verdict <- err
				}
				h.done(fq)
			}
		}()
	}

	var written int64
	pos = off // content offset of the next chunk
	for h := range writeQ {
		if h.err != nil {
			return written, h.err
		}
		if h.verdict != nil {
			select {
			case err := <-h.verdict:
				if err != nil {
					return written, err
				}
			case <-ctx.Done():
				return written, ctx.Err()
			}
		}
		data := h.buf
		if opts.Range != nil {
			lo := max(opts.Range.Start-pos, 0)
			hi := min(opts.Range.End+1-pos, int64(len(data)))
			pos += int64(len(data))
			data = data[lo:hi]
		}
		n, err := w.Write(data)
		written += int64(n)
		if err != nil {
			return written, fmt.Errorf("write output: %w", err)
		}
		prog.add(0, int64(n), 0)
		h.done(fq)
	}
	if err := parent.Err(); err != nil {
		return written, err
	}
	if ctx.Err() != nil { // the feeder stopped early
		return written, ctx.Err()
	}
	if opts.Range == nil {
		running.Wait() // the hasher finishes the chunks the writer did not wait for
		got := content.FromSHA256(pair.Sum())
		if got != m.Digest || written != m.Size {
			return written, &content.MismatchError{Expected: m.Digest, Actual: got, ExpectedSize: m.Size, ActualSize: written}
		}
	}
	return written, nil
}

// heldChunk is a fetched chunk's space, released when its last holder
// (writer, whole-content hasher) is done.
type heldChunk struct {
	index int
	ref   content.ChunkRef
	buf   []byte
	err   error // the fetch failed: the writer reports it
	refs  atomic.Int32
	// verdict, for a chunk its fetcher did not verify, receives the
	// hasher's verdict on it.
	verdict chan error
}

func (h *heldChunk) done(fq *fifo) {
	if h.refs.Add(-1) == 0 {
		fq.release()
	}
}

// fifo hands out regions of a fixed buffer in order and takes them back in
// the same order. One goroutine allocates, one releases.
type fifo struct {
	buf   []byte
	mu    sync.Mutex
	q     [][2]int // outstanding regions [start, end), oldest first
	head  int      // where the next region starts if it fits
	freed chan struct{}
}

// alloc reserves n contiguous bytes (n <= len(buf)), waiting for releases
// as needed.
func (f *fifo) alloc(ctx context.Context, n int) ([]byte, error) {
	for {
		f.mu.Lock()
		start := -1
		if len(f.q) == 0 {
			f.head, start = 0, 0
		} else if tail := f.q[0][0]; tail < f.head { // data in [tail, head)
			if len(f.buf)-f.head >= n {
				start = f.head
			} else if tail >= n {
				start = 0
			}
		} else if tail-f.head >= n { // wrapped: data in [tail, ...) and [0, head)
			start = f.head
		}
		if start >= 0 {
			f.q = append(f.q, [2]int{start, start + n})
			f.head = start + n
			f.mu.Unlock()
			return f.buf[start : start+n : start+n], nil
		}
		f.mu.Unlock()
		select {
		case <-f.freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release gives back the oldest region.
func (f *fifo) release() {
	f.mu.Lock()
	f.q = f.q[:copy(f.q, f.q[1:])]
	f.mu.Unlock()
	select {
	case f.freed <- struct{}{}:
	default:
	}
}

// verifier is what fetchChunk reads a chunk through.
type verifier interface {
	io.Reader
	BytesRead() int64
}

// fetchChunk reads one chunk into buf (exactly its size) and, with verify,
// verifies its digest.
func fetchChunk(ctx context.Context, store BlobStore, c content.ChunkRef, buf []byte, retry RetryPolicy, verify bool) error {
	return retry.do(ctx, func() error {
		rc, err := store.Get(ctx, c.Digest, nil)
		if err != nil {
			return err
		}
		defer rc.Close()
		var vr verifier = content.NewVerifyingReader(rc, c.Digest, c.Size)
		if !verify {
			// The in-order hasher checks the digest before any of it is
			// written.
			vr = content.NewSizeReader(rc, c.Digest, c.Size)
		}
		if _, err := io.ReadFull(vr, buf); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				// Short: let the verifier say how short.
				_, err = vr.Read(buf[:0:0])
				if err == nil || err == io.EOF {
					err = &content.MismatchError{Expected: c.Digest, ExpectedSize: c.Size, ActualSize: vr.BytesRead()}
				}
			}
			return err
		}
		// Reach EOF so the verifier checks the digest (and refuses a
		// longer blob).
		var one [1]byte
		for {
			n, err := vr.Read(one[:])
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if n > 0 { // cannot happen: the verifier fails first
				return &content.MismatchError{Expected: c.Digest, ExpectedSize: c.Size, ActualSize: c.Size + 1}
			}
		}
	})
}

// PullToFile pulls the file manifest md to path, writing where path points
// (see package outpath):
//
//   - nothing there, or a regular file: atomically. It writes a temporary
//     file in the directory, syncs it, and renames it over path only when
//     every byte has been verified. On any error the temporary file is
//     removed and path is untouched. The caller decides whether an existing
//     file may be replaced.
//   - a device, named pipe or socket (/dev/null, /dev/stdout, a FIFO): it is
//     opened and written in place, streaming, and never replaced. That
//     cannot be atomic: on a verification failure the error matches
//     content.ErrMismatch as usual, and the bytes written before it have
//     reached the target.
//   - a symbolic link: written through to its final target by the rules
//     above; the link stays. A dangling link's target is created.
//
// A directory (or a link to one) fails with ErrIsDirectory.
func PullToFile(ctx context.Context, md content.Digest, store BlobStore, path string, opts PullOptions) (PullResult, error) {
	opts = opts.withDefaults()
	mf, err := openChecked(ctx, store, md, opts)
	if err != nil {
		return PullResult{}, err
	}
	defer mf.close()
	return pullToFile(ctx, md, mf, store, path, opts)
}

// pullToFile is PullToFile with the manifest already fetched.
func pullToFile(ctx context.Context, md content.Digest, mf *manifestFile, store BlobStore, path string, opts PullOptions) (PullResult, error) {
	if mf.m.Kind != content.KindFile {
		return PullResult{}, fmt.Errorf("pull %s: %w: it is a %s (pull it into a directory)", md.Short(), ErrWrongKind, mf.m.Kind)
	}
	return writeFile(ctx, md, path, opts, func(w io.Writer) (PullResult, error) {
		return pullFile(ctx, md, mf, store, w, opts)
	})
}

// writeFile writes the content of d that fill produces to path, by the
// rules of PullToFile (see internal/outpath): in place into a device, pipe
// or open descriptor; otherwise through a temporary file in the final
// target's directory, synced and renamed over it once fill succeeded.
func writeFile(ctx context.Context, d content.Digest, path string, opts PullOptions, fill func(io.Writer) (PullResult, error)) (PullResult, error) {
	t, err := outpath.Resolve(path)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s to %s: %w", d.Short(), path, err)
	}
	switch {
	case t.Kind == outpath.Directory:
		return PullResult{}, fmt.Errorf("pull %s: %s %w; give the path of the file to write", d.Short(), t.Describe(), ErrIsDirectory)
	case t.InPlace():
		f, err := outpath.OpenInPlace(ctx, t)
		if err != nil {
			return PullResult{}, fmt.Errorf("pull %s to %s: %w", d.Short(), t.Describe(), err)
		}
		res, err := fill(f)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("pull %s to %s: %w", d.Short(), t.Describe(), cerr)
		}
		return res, err
	}
	dir := filepath.Dir(t.Path)
	f, err := os.CreateTemp(dir, ".artstore-*.tmp")
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: create temporary file next to %s: %w", d.Short(), t.Path, err)
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	res, err := fill(newEarlyWriteback(f))
	if err != nil {
		return res, err
	}
	if err := commitFile(f, opts.FileMode); err != nil {
		return res, fmt.Errorf("pull %s to %s: %w", d.Short(), t.Path, err)
	}
	if err := os.Rename(tmp, t.Path); err != nil {
		return res, fmt.Errorf("pull %s: %w", d.Short(), err)
	}
	committed = true
	if err := outpath.SyncDir(dir); err != nil {
		return res, fmt.Errorf("pull %s to %s: %w", d.Short(), t.Path, err)
	}
	return res, nil
}

// commitFile sets the mode, syncs and closes a finished temporary file.
func commitFile(f *os.File, mode fs.FileMode) error {
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}
