package transfer

import (
	"context"
	"fmt"
	"io"

	"github.com/artifact-store/artstore/internal/content"
)

// Stream is a file's content (or a range of it) arriving as one byte
// stream from a source that verified each chunk itself (the daemon's
// content route), rather than as chunks fetched by digest.
type Stream struct {
	// Body yields the bytes; the caller closes it.
	Body io.Reader
	// Digest and Size describe the whole file.
	Digest content.Digest
	Size   int64
	// Range, if set, is the part of the file Body holds.
	Range *content.Range
}

// PullStream copies s to w and checks it: the length always, and for a
// whole file the content digest, at the end (failures match
// content.ErrMismatch). Bytes reach w as they arrive, so w may hold a
// prefix of the content when PullStream fails; use PullStreamToFile for
// all-or-nothing. A range cannot be checked against the whole-content
// digest: its bytes are as verified as the source made them.
func PullStream(ctx context.Context, s Stream, w io.Writer, opts PullOptions) (PullResult, error) {
	want := s.Size
	if s.Range != nil {
		want = s.Range.Length()
	}
	res := PullResult{Manifest: content.Manifest{Kind: content.KindFile, Digest: s.Digest, Size: s.Size}}
	var h *content.Digester
	if s.Range == nil {
		h = content.NewDigester(s.Digest.Algorithm())
		w = io.MultiWriter(w, h)
	}
	p := &progress{fn: opts.Progress, cur: Progress{Total: want}}
	n, err := io.Copy(&streamWriter{ctx: ctx, w: w, p: p}, io.LimitReader(s.Body, want+1))
	res.Written = min(n, want)
	if err != nil {
		return res, fmt.Errorf("pull %s: %w", s.Digest.Short(), err)
	}
	if n != want {
		return res, fmt.Errorf("pull %s: %w: the content stream held %d bytes, want %d", s.Digest.Short(), content.ErrMismatch, n, want)
	}
	if h != nil {
		if got := h.Digest(); got != s.Digest {
			return res, fmt.Errorf("pull %s: %w: the content stream has digest %s", s.Digest.Short(), content.ErrMismatch, got)
		}
	}
	return res, nil
}

// streamWriter reports progress and stops on cancellation.
type streamWriter struct {
	ctx context.Context
	w   io.Writer
	p   *progress
}

func (sw *streamWriter) Write(b []byte) (int, error) {
	if err := sw.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := sw.w.Write(b)
	sw.p.add(0, int64(n), 0)
	return n, err
}

// PullStreamToFile is PullStream into path, written as PullToFile writes:
// atomically through a temporary file renamed over a regular file only
// once every check passed, in place into a device or named pipe, through a
// symbolic link to its target.
func PullStreamToFile(ctx context.Context, s Stream, path string, opts PullOptions) (PullResult, error) {
	opts = opts.withDefaults()
	return writeFile(ctx, s.Digest, path, opts, func(w io.Writer) (PullResult, error) {
		return PullStream(ctx, s, w, opts)
	})
}
