package transfer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/artifact-store/artstore/internal/content"
)

// PullOptions tunes Pull, PullToFile and PullTree. The zero value is ready
// to use.
type PullOptions struct {
	// Range, if set, limits a file pull to these content bytes. The chunks
	// covering it are fetched and verified whole, then sliced. The
	// whole-content digest cannot be checked for a range.
	Range *content.Range
	// Concurrency is the number of chunk fetches in flight; 0 means
	// DefaultConcurrency.
	Concurrency int
	// ReadAhead is the number of chunks fetched ahead of the one being
	// written, each held in memory (up to the manifest's maximum chunk
	// size); 0 means Concurrency + 2. It is raised to Concurrency if lower.
	ReadAhead int
	// FileMode is the permission of files PullToFile creates; 0 means 0644.
	// PullTree uses the modes recorded in the manifest instead.
	FileMode fs.FileMode
	// Retry governs retries of store calls.
	Retry RetryPolicy
	// Progress, if set, is called after every chunk written, with the
	// running totals. Calls never overlap.
	Progress func(Progress)
}

func (o PullOptions) withDefaults() PullOptions {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.ReadAhead <= 0 {
		o.ReadAhead = o.Concurrency + 2
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
	// Manifest is the verified manifest that was pulled.
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
	opts = opts.withDefaults()
	m, err := fetchManifest(ctx, store, md, opts.Retry)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull: %w", err)
	}
	if m.Kind != content.KindFile {
		return PullResult{}, fmt.Errorf("pull %s: %w: it is a %s (pull it into a directory)", md.Short(), ErrWrongKind, m.Kind)
	}
	p := &progress{fn: opts.Progress, cur: Progress{Total: m.Size}}
	if opts.Range != nil {
		p.cur.Total = opts.Range.Length()
	}
	n, err := pullChunks(ctx, m, store, w, opts, p)
	if err != nil {
		return PullResult{Manifest: m, Written: n}, fmt.Errorf("pull %s: %w", md.Short(), err)
	}
	return PullResult{Manifest: m, Written: n}, nil
}

// fetched is one chunk on its way from the store to the writer.
type fetched struct {
	buf []byte
	err error
}

type fetchJob struct {
	index int
	buf   []byte
	out   chan<- fetched
}

// pullChunks streams the chunks of m covering opts.Range (or all) to w in
// order: Concurrency workers fetch and verify into ReadAhead buffers, which
// the writer returns once written. A buffer is taken before a chunk is
// dispatched, in order, so the chunk the writer waits for always has one.
func pullChunks(parent context.Context, m content.Manifest, store BlobStore, w io.Writer, opts PullOptions, prog *progress) (int64, error) {
	first, last, off := 0, len(m.Chunks)-1, int64(0)
	if opts.Range != nil {
		var err error
		if first, last, off, err = m.ChunkSpan(*opts.Range); err != nil {
			return 0, err
		}
	}
	if last < first { // empty content
		if m.Digest != content.FromBytes(nil) {
			return 0, &content.MismatchError{Expected: m.Digest, Actual: content.FromBytes(nil), ExpectedSize: m.Size}
		}
		return 0, nil
	}

	// On return, stop everything and wait for the fetchers, so that no
	// callback runs and no buffer is touched after pullChunks returns.
	var fetchers sync.WaitGroup
	defer fetchers.Wait()
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	pool := make(chan []byte, opts.ReadAhead)
	for range opts.ReadAhead {
		pool <- nil
	}
	order := make(chan chan fetched, opts.ReadAhead)
	jobs := make(chan fetchJob)

	go func() { // dispatcher
		defer close(order)
		defer close(jobs)
		for i := first; i <= last; i++ {
			var buf []byte
			select {
			case buf = <-pool:
			case <-ctx.Done():
				return
			}
			out := make(chan fetched, 1)
			if send(ctx, order, chan fetched(out)) != nil || send(ctx, jobs, fetchJob{i, buf, out}) != nil {
				return
			}
		}
	}()
	for range opts.Concurrency {
		fetchers.Add(1)
		go func() {
			defer fetchers.Done()
			for j := range jobs {
				buf, err := fetchChunk(ctx, store, m.Chunks[j.index], j.buf, opts.Retry)
				if err != nil {
					err = fmt.Errorf("chunk %d (%s): %w", j.index, m.Chunks[j.index].Digest.Short(), err)
				} else {
					prog.add(int64(len(buf)), 0, 0)
				}
				j.out <- fetched{buf, err}
			}
		}()
	}

	whole := sha256.New()
	var written int64
	pos := off // content offset of the next chunk
	for out := range order {
		var f fetched
		select {
		case f = <-out:
		case <-ctx.Done():
			return written, ctx.Err()
		}
		if f.err != nil {
			return written, f.err
		}
		data := f.buf
		if opts.Range == nil {
			whole.Write(data)
		} else {
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
		pool <- f.buf[:0]
	}
	if err := parent.Err(); err != nil {
		return written, err
	}
	if opts.Range == nil {
		got, err := content.NewDigest(content.SHA256, whole.Sum(nil))
		if err != nil {
			return written, err
		}
		if got != m.Digest || written != m.Size {
			return written, &content.MismatchError{Expected: m.Digest, Actual: got, ExpectedSize: m.Size, ActualSize: written}
		}
	}
	return written, nil
}

// fetchChunk reads and verifies one chunk into buf (grown as needed).
func fetchChunk(ctx context.Context, store BlobStore, c content.ChunkRef, buf []byte, retry RetryPolicy) ([]byte, error) {
	if int64(cap(buf)) < c.Size {
		buf = make([]byte, c.Size)
	}
	buf = buf[:c.Size]
	err := retry.do(ctx, func() error {
		rc, err := store.Get(ctx, c.Digest, nil)
		if err != nil {
			return err
		}
		defer rc.Close()
		vr := content.NewVerifyingReader(rc, c.Digest, c.Size)
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
	return buf, err
}

// PullToFile pulls the file manifest md to path, atomically: it writes a
// temporary file in path's directory, syncs it, and renames it over path
// only when every byte has been verified. On any error the temporary file
// is removed and path is untouched.
func PullToFile(ctx context.Context, md content.Digest, store BlobStore, path string, opts PullOptions) (PullResult, error) {
	opts = opts.withDefaults()
	dir := filepath.Dir(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, ".artstore-*.tmp")
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: create temporary file next to %s: %w", md.Short(), path, err)
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	res, err := Pull(ctx, md, store, f, opts)
	if err != nil {
		return res, err
	}
	if err := commitFile(f, opts.FileMode); err != nil {
		return res, fmt.Errorf("pull %s to %s: %w", md.Short(), path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return res, fmt.Errorf("pull %s: %w", md.Short(), err)
	}
	committed = true
	if err := syncDir(dir); err != nil {
		return res, fmt.Errorf("pull %s to %s: %w", md.Short(), path, err)
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

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
