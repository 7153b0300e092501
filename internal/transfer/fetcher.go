package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/content/sha256x2"
)

// fetched is one chunk on its way from the store to the writer.
type fetched struct {
	off      int64 // where the chunk starts in the content (a tree's stream)
	ref      content.ChunkRef
	buf      []byte
	err      error
	verified bool // by the fetcher; otherwise the in-order hasher verifies it
}

type fetchJob struct {
	index int
	off   int64
	ref   content.ChunkRef
	buf   []byte
	out   chan<- fetched
}

// pullFetcher is the pull pipeline's fetch stage. Its dispatcher (one
// goroutine) reserves each chunk's bytes in the fifo, in chunk order, and
// hands the chunk to one of Concurrency fetchers, which fetch it (with
// retries) and verify it into that space unless the in-order hasher will
// (a chunk close to it when sha256x2 pairs the two digests). The
// dispatcher also sends, in chunk order, the channel on which each chunk
// will arrive, so the feeder takes them in order. The space a chunk's
// buffer occupies belongs to the fetcher until it sends the chunk, then to
// the feeder, which passes it on (see pulledChunk).
type pullFetcher struct {
	mf          *manifestFile
	store       BlobStore
	opts        PullOptions
	prog        *progress
	fq          *fifo
	first, last int // the chunks to fetch
	// want, when set, picks which of them to fetch (by content offset and
	// reference, in order): a tree pull fetches only the chunks that hold
	// the entries it writes.
	want   func(off int64, c content.ChunkRef) bool
	both   bool
	hashAt *atomic.Int64 // the chunk the in-order hasher is at
	// paired, when set, has the fetchers verify the chunks two at a time
	// with sha256x2.Step2 (see fetchPaired); only when there is no
	// in-order hasher, so they verify every chunk.
	paired *parked
}

// parked is the chunk a fetcher has read (or the rest of it, when its
// partner was shorter) and left for the next fetcher that completes a read
// to hash alongside its own, and the number of fetchers reading or hashing
// a chunk (which will take it). wake tells the feeder that a chunk was
// parked or that the last such fetcher is done: the chunk it waits for, it
// finishes itself when nothing else will (see await).
type parked struct {
	mu      sync.Mutex
	c       hashing
	set     bool
	reading int
	wake    chan struct{} // capacity 1
}

func newParked() *parked { return &parked{wake: make(chan struct{}, 1)} }

// hashing is a fetched chunk being verified: its job and the computation
// of its digest, which may have covered part of it.
type hashing struct {
	job fetchJob
	msg sha256x2.Msg
}

// signal wakes the feeder if it is not woken already.
func (p *parked) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// start counts a fetcher that starts reading a chunk.
func (p *parked) start() {
	p.mu.Lock()
	p.reading++
	p.mu.Unlock()
}

// done counts a fetcher that is done with the chunk it read (verified,
// parked or failed) and goes on to the next job.
func (p *parked) done() {
	p.mu.Lock()
	p.reading--
	wake := p.reading == 0 && p.set
	p.mu.Unlock()
	if wake {
		p.signal()
	}
}

// swap parks c when no chunk is parked, and otherwise takes the parked
// one (ok) and leaves the slot empty.
func (p *parked) swap(c *hashing) (other hashing, ok bool) {
	p.mu.Lock()
	if p.set {
		other, p.c, p.set = p.c, hashing{}, false
		p.mu.Unlock()
		return other, true
	}
	p.c, p.set = *c, true
	p.mu.Unlock()
	p.signal()
	return hashing{}, false
}

// take empties the slot, returning the chunk parked there if any; with
// out set, only if it is the chunk answered on out and no fetcher is
// reading or hashing a chunk (one that is will take it).
func (p *parked) take(out chan fetched) (hashing, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.set || (out != nil && (p.c.job.out != out || p.reading > 0)) {
		return hashing{}, false
	}
	c := p.c
	p.c, p.set = hashing{}, false
	return c, true
}

// dispatch reserves space for chunks first..last in order and queues them
// for the fetchers. It closes order and jobs when it returns.
func (f *pullFetcher) dispatch(ctx context.Context, order chan<- chan fetched, jobs chan<- fetchJob) {
	defer close(order)
	defer close(jobs)
	var pos int64
	err := f.mf.eachChunk(func(i int, c content.ChunkRef) error {
		off := pos
		pos += c.Size
		if i < f.first || (f.want != nil && !f.want(off, c)) {
			return nil
		}
		if i > f.last {
			return errStopScan
		}
		b, err := f.fq.alloc(ctx, int(c.Size))
		if err != nil {
			return err
		}
		out := make(chan fetched, 1)
		if err := send(ctx, order, chan fetched(out)); err != nil {
			return err
		}
		return send(ctx, jobs, fetchJob{i, off, c, b, out})
	})
	if err != nil && err != errStopScan && ctx.Err() == nil {
		// The spool could not be read again: the writer reports it.
		out := make(chan fetched, 1)
		out <- fetched{err: fmt.Errorf("read the chunk list: %w", err)}
		_ = send(ctx, order, chan fetched(out))
	}
}

// fetch fetches the jobs' chunks until jobs is closed; every job gets an
// answer on its channel.
func (f *pullFetcher) fetch(ctx context.Context, jobs <-chan fetchJob) {
	if f.paired != nil {
		f.fetchPaired(ctx, jobs)
		return
	}
	for j := range jobs {
		verify := !f.both || int64(j.index)-f.hashAt.Load() > pairAhead
		f.answer(j, fetchChunk(ctx, f.store, j.ref, j.buf, f.opts.Retry, verify), verify)
	}
}

// fetchPaired is fetch for fetchers that verify chunks in pairs, with
// the two streams of sha256x2.Step2 (which cost little more than one): a
// fetcher that has read a chunk (its size checked) hashes it alongside the
// parked one if there is one, else parks it and goes on to the next job.
// Chunks differ in length: of a pair, the one not finished is hashed on
// alongside the next chunk read, so few blocks are hashed alone.
//
// A parked chunk must not wait for a partner that may never come: the
// writer may be waiting for it, and the dispatcher for the space the
// writer releases. The feeder finishes the chunk it waits for alone if it
// is parked and no fetcher is reading or hashing a chunk that would take
// it (await), and each fetcher finishes the parked chunk alone when the
// jobs end. Until the feeder waits for a parked chunk, some fetcher holds
// every chunk dispatched before it (reading or hashing: the slot holds one
// chunk), so the feeder gets to it.
func (f *pullFetcher) fetchPaired(ctx context.Context, jobs <-chan fetchJob) {
	defer f.verifyParked(ctx, nil)
	for j := range jobs {
		f.paired.start()
		if err := fetchChunk(ctx, f.store, j.ref, j.buf, f.opts.Retry, false); err != nil {
			f.paired.done()
			f.answer(j, err, true)
			continue
		}
		c := hashing{job: j}
		c.msg.Reset(j.buf)
		for {
			p, ok := f.paired.swap(&c)
			if !ok {
				break // c is parked
			}
			sha256x2.Step2(&p.msg, &c.msg)
			for _, h := range []*hashing{&p, &c} {
				if h.msg.Done() {
					f.answer(h.job, f.check(ctx, h.job, h.msg.Sum()), true)
				}
			}
			if c.msg.Done() {
				if p.msg.Done() {
					break
				}
				c = p // hash the rest of p alongside the next chunk
			}
		}
		f.paired.done()
	}
}

// verifyParked finishes the parked chunk, if any, alone; with out set,
// only if it is the chunk answered on out and no fetcher will take it.
func (f *pullFetcher) verifyParked(ctx context.Context, out chan fetched) {
	if c, ok := f.paired.take(out); ok {
		f.answer(c.job, f.check(ctx, c.job, c.msg.Sum()), true)
	}
}

// await is how the feeder receives the chunk answered on out. With paired
// fetchers, when that chunk is parked, waiting for a partner, and no
// fetcher is reading or hashing one, it finishes it alone: the writer
// needs it now.
func (f *pullFetcher) await(ctx context.Context, out chan fetched) (fetched, bool) {
	var wake chan struct{}
	if f.paired != nil {
		wake = f.paired.wake
		f.verifyParked(ctx, out)
	}
	for {
		select {
		case r := <-out:
			return r, true
		case <-wake:
			f.verifyParked(ctx, out)
		case <-ctx.Done():
			return fetched{}, false
		}
	}
}

// check compares the SHA-256 sum of j's bytes, read in full and of the
// right size, with the chunk's digest. A mismatch the retry policy would
// retry (DefaultRetryable does not) fetches the chunk again, verified as
// it is read.
func (f *pullFetcher) check(ctx context.Context, j fetchJob, sum [sha256x2.Size]byte) error {
	got := content.FromSHA256(sum)
	if got == j.ref.Digest {
		return nil
	}
	err := &content.MismatchError{Expected: j.ref.Digest, Actual: got, ExpectedSize: j.ref.Size, ActualSize: int64(len(j.buf))}
	if retry := f.opts.Retry.withDefaults(); !retry.Retryable(err) {
		return err
	}
	return fetchChunk(ctx, f.store, j.ref, j.buf, f.opts.Retry, true)
}

// answer sends the outcome of job j on its channel; verified says whether
// the fetcher verified the chunk's digest (otherwise the in-order hasher
// does). A chunk fetched counts as progress.
func (f *pullFetcher) answer(j fetchJob, err error, verified bool) {
	if err != nil {
		err = fmt.Errorf("chunk %d (%s): %w", j.index, j.ref.Digest.Short(), err)
	} else {
		f.prog.add(int64(len(j.buf)), 0, 0)
	}
	j.out <- fetched{j.off, j.ref, j.buf, err, verified}
}

// fifo hands out regions of a fixed buffer in order and takes them back in
// the same order. One goroutine allocates, one releases. A region starts
// at a multiple of fifoAlign in the buffer (which bigBuffer maps at a page
// boundary) wherever there is room for that, so that a backend reading
// with direct I/O (the local one) can read a chunk straight into it
// instead of through a bounce buffer and a copy.
type fifo struct {
	buf   []byte
	mu    sync.Mutex
	q     [][2]int // outstanding regions [start, end), oldest first
	head  int      // where the next region starts if it fits
	freed chan struct{}
}

// fifoAlign is the alignment of the fifo's regions: the page size, which
// every block device's logical block size divides.
const fifoAlign = 4096

// alloc reserves n contiguous bytes (n <= len(buf)), at an aligned offset
// where there is room for one, waiting for releases as needed.
func (f *fifo) alloc(ctx context.Context, n int) ([]byte, error) {
	for {
		f.mu.Lock()
		start := -1
		if len(f.q) == 0 {
			f.head, start = 0, 0
		} else if tail := f.q[0][0]; tail < f.head { // data in [tail, head)
			if start = f.after(n, len(f.buf)); start < 0 && tail >= n {
				start = 0
			}
		} else { // wrapped: data in [tail, ...) and [0, head)
			start = f.after(n, tail)
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

// after returns where n bytes after head and before end start: at the
// next aligned offset if they fit there, else right at head; -1 when they
// do not fit.
func (f *fifo) after(n, end int) int {
	if aligned := (f.head + fifoAlign - 1) &^ (fifoAlign - 1); end-aligned >= n {
		return aligned
	}
	if end-f.head >= n {
		return f.head
	}
	return -1
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
