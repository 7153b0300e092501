package transfer

import (
	"context"
	"fmt"
	"io"

	"github.com/artifact-store/artstore/internal/content"
)

// pullWriter is the pull pipeline's last stage: it writes the chunks in
// order, each only once it is verified (by its fetcher, or, waiting for
// the verdict, by the in-order hasher), sliced to the range if there is
// one, and releases its hold on each once written.
type pullWriter struct {
	w    io.Writer
	rng  *content.Range
	pos  int64 // content offset of the next chunk
	fq   *fifo
	prog *progress
	// written counts the bytes written to w.
	written int64
}

// run writes the chunks from writeQ until it is closed, a chunk failed or
// ctx ends.
func (pw *pullWriter) run(ctx context.Context, writeQ <-chan *pulledChunk) error {
	for c := range writeQ {
		if c.err != nil {
			return c.err
		}
		if c.verdict != nil {
			select {
			case err := <-c.verdict:
				if err != nil {
					return err
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		data := c.buf
		if pw.rng != nil {
			lo := max(pw.rng.Start-pw.pos, 0)
			hi := min(pw.rng.End+1-pw.pos, int64(len(data)))
			pw.pos += int64(len(data))
			data = data[lo:hi]
		}
		n, err := pw.w.Write(data)
		pw.written += int64(n)
		if err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		pw.prog.add(0, int64(n), 0)
		c.release(pw.fq, holdOwn)
	}
	return nil
}
