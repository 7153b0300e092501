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
	// Paths, if not empty, limits a tree pull to the entries these
	// patterns select: a slash-separated path relative to the tree's root
	// names an entry and everything below it; a pattern with '*', '?' or
	// '[' (path.Match, '*' does not match '/') selects each entry it
	// matches and everything below those. A pattern that matches nothing
	// fails the pull (ErrNoMatch) before anything is written. Entries keep
	// their paths below the destination; their parent directories are
	// created as needed. In the stream layout only the chunks holding
	// selected files are fetched.
	Paths []string
	// TrustLinks lets a tree pull create symbolic links that point outside
	// the destination, go through directory links already inside it, and
	// replace links at its files' paths (the destination's os.Root still
	// keeps every write inside it). Without it such a pull fails with
	// ErrLinkOutside or ErrLinkInDestination.
	TrustLinks bool
	// Check, if set, is called with the verified manifest before anything
	// is created, opened or written; an error it returns fails the pull.
	// A caller that knows what content to expect (the artifact's
	// registered digest, size and kind) checks it here, so a mismatch
	// leaves every target untouched.
	Check func(content.Manifest) error

	// stats, if set, counts a tree pull's per-entry operations (tests).
	stats *treePullStats
	// syncFile, if set, is how a stream-layout tree pull fsyncs each file
	// and directory (tests; the default is the file's Sync).
	syncFile func(outFile) error
	// dirtyBytes, if set, replaces dirtyBytes for a stream-layout tree
	// pull's choice of sync (tests).
	dirtyBytes func() (int64, bool)
}

// treePullStats counts the operations of a tree pull whose number per
// entry must stay constant.
type treePullStats struct {
	// linkChecks counts the lstats of entry paths (is a link there?).
	linkChecks int
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
	if len(opts.Paths) > 0 {
		return PullResult{}, fmt.Errorf("pull %s: %w: a path selection applies to a directory tree, not a file", md.Short(), ErrWrongKind)
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

// errStopScan ends a scan of the chunk list early.
var errStopScan = errors.New("stop scanning the chunk list")

// pullPlan is what a first scan of the chunk list finds: the chunks
// first..last cover the range (or all; first is -1 for empty content), off
// is where first starts, biggest the largest of them and total their sum.
type pullPlan struct {
	first, last    int
	off            int64
	biggest, total int64
}

// planPull scans the chunk list for the chunks covering rng (or all).
func planPull(mf *manifestFile, rng *content.Range) (pullPlan, error) {
	p := pullPlan{first: -1, last: -1}
	var pos int64
	err := mf.eachChunk(func(i int, c content.ChunkRef) error {
		end := pos + c.Size
		if rng == nil || (end > rng.Start && pos <= rng.End) {
			if p.first < 0 {
				p.first, p.off = i, pos
			}
			p.last = i
			p.biggest = max(p.biggest, c.Size)
			p.total += c.Size
		} else if rng != nil && pos > rng.End {
			return errStopScan
		}
		pos = end
		return nil
	})
	if err != nil && err != errStopScan {
		return p, fmt.Errorf("read the chunk list: %w", err)
	}
	return p, nil
}

// pullChunks streams the chunks of m covering opts.Range (or all) to w in
// order, through three stages: pullFetcher (reserve space in a fixed
// buffer, a FIFO, in chunk order; fetch and verify in parallel), feed +
// pullHasher (in order: the whole-content digest, verifying the chunks the
// fetchers left to it) and pullWriter (write in order, each chunk once
// verified). The writer and the hasher release each chunk's space in
// order, so the chunk the dispatcher reserves next always gets space in
// time, and the chunk the writer waits for always has its space.
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
	plan, err := planPull(mf, opts.Range)
	if err != nil {
		return 0, err
	}
	if plan.first < 0 { // empty content
		if m.Digest != content.FromBytes(nil) {
			return 0, &content.MismatchError{Expected: m.Digest, Actual: content.FromBytes(nil), ExpectedSize: m.Size}
		}
		return 0, nil
	}
	pw := &pullWriter{w: w, rng: opts.Range, pos: plan.off, prog: prog}
	whole := opts.Range == nil
	sum, err := runPull(parent, mf, store, opts, prog, plan, whole, nil, func(ctx context.Context, fq *fifo, writeQ <-chan *pulledChunk) error {
		pw.fq = fq
		return pw.run(ctx, writeQ)
	})
	if err != nil {
		return pw.written, err
	}
	if whole && (sum != m.Digest || pw.written != m.Size) {
		return pw.written, &content.MismatchError{Expected: m.Digest, Actual: sum, ExpectedSize: m.Size, ActualSize: pw.written}
	}
	return pw.written, nil
}

// runPull fetches the chunks plan names (those want accepts, when it is
// set), verifies them and hands them in order to consume, which releases
// each chunk's space (holdOwn) once done with it. With whole it also
// hashes the content in order and returns its digest (the hasher verifies
// the chunks near it, see pullHasher); otherwise the fetchers verify every
// chunk, two at a time with sha256x2.Step2 where it is accelerated and
// there are several fetchers (see fetchPaired).
func runPull(parent context.Context, mf *manifestFile, store BlobStore, opts PullOptions, prog *progress, plan pullPlan, whole bool,
	want func(int64, content.ChunkRef) bool, consume func(context.Context, *fifo, <-chan *pulledChunk) error) (content.Digest, error) {
	size := int64(opts.BufferSize)
	if size <= 0 {
		size = 3 * plan.biggest
	}
	// Room to align each chunk the dispatcher can have reserved (fifo).
	size = min(max(size, plan.biggest), plan.total) + int64(opts.ReadAhead+1)*fifoAlign
	buf, free := bigBuffer(int(size))
	fq := &fifo{buf: buf, freed: make(chan struct{}, 1)}

	// On return, stop everything and wait for the goroutines, so that no
	// callback runs and no buffer is touched after runPull returns.
	var running sync.WaitGroup
	defer free()
	defer running.Wait()
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	h := &pullHasher{fq: fq, pair: sha256x2.New()}
	h.hashAt.Store(int64(plan.first))
	f := &pullFetcher{mf: mf, store: store, opts: opts, prog: prog, fq: fq, first: plan.first, last: plan.last, want: want,
		both: whole && sha256x2.Accelerated(), hashAt: &h.hashAt}
	if !whole && sha256x2.Accelerated() && opts.Concurrency > 1 {
		// The fetchers verify every chunk: two at a time. One fetcher
		// alone would have to read a second chunk before it could pass
		// the first on, taking the time the writer writes in.
		f.paired = newParked()
	}
	order := make(chan chan fetched, opts.ReadAhead)
	jobs := make(chan fetchJob)
	running.Go(func() { f.dispatch(ctx, order, jobs) })
	for range opts.Concurrency {
		running.Go(func() { f.fetch(ctx, jobs) })
	}
	var hashQ chan *pulledChunk
	if whole {
		hashQ = make(chan *pulledChunk, opts.ReadAhead)
		running.Go(func() { h.run(hashQ) })
	}
	writeQ := make(chan *pulledChunk, opts.ReadAhead)
	running.Go(func() { feed(ctx, order, f.await, plan.first, hashQ, writeQ) })

	if err := consume(ctx, fq, writeQ); err != nil {
		return content.Digest{}, err
	}
	if err := parent.Err(); err != nil {
		return content.Digest{}, err
	}
	if ctx.Err() != nil { // the feeder stopped early
		return content.Digest{}, ctx.Err()
	}
	if !whole {
		return content.Digest{}, nil
	}
	running.Wait() // the hasher finishes the chunks the writer did not wait for
	return content.FromSHA256(h.pair.Sum()), nil
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
