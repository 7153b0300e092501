package client

import (
	"context"
	"io"
)

// contextReader makes reads of a reader that may block indefinitely
// (standard input, a pipe) end when a context is cancelled: each Read runs
// in a goroutine into a buffer of its own, and a cancelled context returns
// at once, abandoning a read in progress. The abandoned goroutine ends
// when its read does (or with the process); its buffer is never handed
// out again, as every Read after the cancellation fails.
type contextReader struct {
	ctx context.Context
	r   io.Reader
	buf []byte
	res chan readResult
}

type readResult struct {
	n   int
	err error
}

// maxContextRead bounds one read of a contextReader, and so its buffer: a
// pipe yields at most 64 KiB per read anyway.
const maxContextRead = 256 << 10

func newContextReader(ctx context.Context, r io.Reader) *contextReader {
	return &contextReader{ctx: ctx, r: r, res: make(chan readResult, 1)}
}

func (c *contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// A short read is a valid read: the buffer stays small whatever the
	// caller asks for (the push ring asks for megabytes at once, and a
	// buffer that size would be a second ring).
	if len(p) > maxContextRead {
		p = p[:maxContextRead]
	}
	// Each read completes before the next starts: a Read that returns
	// early does so only for a cancelled context, after which no read
	// starts again.
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	buf := c.buf[:len(p)]
	go func() {
		n, err := c.r.Read(buf)
		c.res <- readResult{n, err}
	}()
	select {
	case res := <-c.res:
		return copy(p, buf[:res.n]), res.err
	case <-c.ctx.Done():
		return 0, c.ctx.Err()
	}
}
