package transfer

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/artifact-store/artstore/internal/content"
)

// ring is the push pipeline's only large buffer. The producer reads input
// into it and cuts chunks in place; each chunk is a span of the buffer that
// stays reserved until every consumer has released it. Spans are handed out
// in stream order and may be released in any order; the producer reuses
// space only behind the oldest unreleased span.
//
// The unconsumed input (read but not yet cut) is always contiguous,
// buf[scan:head]. When fewer than max bytes remain between scan and the end
// of the buffer, the producer "wraps": it moves the unconsumed input to the
// front of the buffer (less than one chunk, once per lap) and starts a new
// generation; spans of the previous generation then bound how far it may
// read.
type ring struct {
	buf  []byte
	free func() // releases buf
	max  int    // the chunker's maximum chunk size; len(buf) >= 2*max

	mu       sync.Mutex
	spans    []*span // unreleased spans (and released ones not yet popped), oldest first
	released chan struct{}

	// Producer state, touched by the producer goroutine only.
	gen        int
	scan, head int
	eof        bool
}

// span is a reserved region buf[start:end] of generation gen.
type span struct {
	start, end int
	gen        int
	done       bool
}

func newRing(size, max int) (*ring, error) {
	if size < 2*max {
		return nil, fmt.Errorf("push buffer of %d bytes is too small: it must hold at least twice the maximum chunk size (%d)", size, 2*max)
	}
	buf, free := bigBuffer(size)
	return &ring{buf: buf, free: free, max: max, released: make(chan struct{}, 1)}, nil
}

// close releases the buffer; closing again does nothing. Nothing may
// touch a span afterwards.
func (r *ring) close() {
	if r.buf == nil {
		return
	}
	r.free()
	r.buf = nil
}

// reset prepares the ring for a new input. All spans must be released.
func (r *ring) reset(max int) {
	r.max = max
	r.gen, r.scan, r.head, r.eof = 0, 0, 0, false
	r.mu.Lock()
	r.spans = r.spans[:0]
	r.mu.Unlock()
}

// oldest returns the oldest unreleased span, if any.
func (r *ring) oldest() (span, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spans) == 0 {
		return span{}, false
	}
	return *r.spans[0], true
}

// release gives s back: its holder is done with its bytes. Safe from any goroutine.
func (r *ring) release(s *span) {
	r.mu.Lock()
	s.done = true
	n := 0
	for n < len(r.spans) && r.spans[n].done {
		n++
	}
	if n > 0 {
		r.spans = r.spans[:copy(r.spans, r.spans[n:])]
	}
	r.mu.Unlock()
	select {
	case r.released <- struct{}{}:
	default:
	}
}

// wait blocks until some span is released or ctx ends.
func (r *ring) wait(ctx context.Context) error {
	select {
	case <-r.released:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fill reads until at least max unconsumed bytes are buffered or the input
// ends. onRead is called with the number of bytes of each read.
func (r *ring) fill(ctx context.Context, in io.Reader, onRead func(int)) error {
	for r.head-r.scan < r.max && !r.eof {
		if err := ctx.Err(); err != nil {
			return err
		}
		old, busy := r.oldest()
		if len(r.buf)-r.scan < r.max && (!busy || old.gen == r.gen) {
			// Not enough room before the end for a whole chunk: wrap. The
			// unconsumed bytes move to the front, which must be free.
			n := r.head - r.scan
			if busy && old.start < n {
				if err := r.wait(ctx); err != nil {
					return err
				}
				continue
			}
			copy(r.buf, r.buf[r.scan:r.head])
			r.scan, r.head = 0, n
			r.gen++
			continue
		}
		limit := min(len(r.buf), r.scan+r.max)
		if busy && old.gen != r.gen {
			limit = min(limit, old.start) // the previous lap is still in use ahead of us
		}
		if r.head >= limit {
			if err := r.wait(ctx); err != nil {
				return err
			}
			continue
		}
		n, err := in.Read(r.buf[r.head:limit])
		r.head += n
		if n > 0 {
			onRead(n)
		}
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			return fmt.Errorf("read input: %w", err)
		}
	}
	return nil
}

// next cuts the next chunk from the buffered input and reserves its span.
// With limit > 0 the chunk ends at most limit bytes on, where the input
// has a boundary the chunks must not cross: the bytes up to it are cut as
// if they were the end of the input. It returns ok=false at the end of the
// input. fill must have been called.
func (r *ring) next(s *content.Splitter, limit int) (data []byte, sp *span, ok bool) {
	if r.head == r.scan {
		return nil, nil, false
	}
	end := r.head
	if limit > 0 {
		end = min(end, r.scan+limit)
	}
	n := s.Split(r.buf[r.scan:end])
	sp = &span{start: r.scan, end: r.scan + n, gen: r.gen}
	r.mu.Lock()
	r.spans = append(r.spans, sp)
	r.mu.Unlock()
	data = r.buf[r.scan : r.scan+n : r.scan+n]
	r.scan += n
	return data, sp, true
}
