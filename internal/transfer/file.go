package transfer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"

	"github.com/artifact-store/artstore/internal/content"
)

// File is a file manifest fetched, verified and accepted by
// PullOptions.Check, from which the whole content or any range of it can
// be written, verified chunk by chunk, as Pull writes it. It serves
// callers that must look at the manifest before they decide what to send,
// such as the daemon's content route, which sets its response headers from
// it. The chunk list stays in a spool, not in memory. A File is not safe
// for concurrent use; Close it when done.
type File struct {
	md    content.Digest
	mf    *manifestFile
	store BlobStore
	opts  PullOptions
}

// OpenFile fetches and verifies the manifest md and passes it to
// opts.Check. opts.Range is ignored: WriteRange takes the range.
func OpenFile(ctx context.Context, md content.Digest, store BlobStore, opts PullOptions) (*File, error) {
	opts = opts.withDefaults()
	mf, err := openChecked(ctx, store, md, opts)
	if err != nil {
		return nil, err
	}
	return &File{md: md, mf: mf, store: store, opts: opts}, nil
}

// Manifest returns the verified manifest without its chunk list.
func (f *File) Manifest() content.Manifest { return f.mf.m }

// WriteRange writes rng of the content (all of it when rng is nil) to w,
// as Pull does: every chunk is verified before any of its bytes reach w,
// and a whole-content write also checks the content digest at the end.
// A tree manifest fails with ErrWrongKind.
func (f *File) WriteRange(ctx context.Context, w io.Writer, rng *content.Range) (PullResult, error) {
	opts := f.opts
	opts.Range = rng
	return pullFile(ctx, f.md, f.mf, f.store, w, opts)
}

// Close releases the spooled chunk list.
func (f *File) Close() { f.mf.close() }

// WriteSection serves a file of a stream-layout tree: the size bytes that
// start at off in the tree's stream (content.TreeEntry's Offset and Size).
// It writes rng of that section (all of it when rng is nil), every chunk
// verified as WriteRange verifies it; a whole section is also hashed and
// checked against digest, so a tree manifest whose entry does not match
// its bytes fails with content.ErrMismatch (after the bytes were written:
// the section is streamed). A file manifest fails with ErrWrongKind.
func (f *File) WriteSection(ctx context.Context, w io.Writer, off, size int64, digest content.Digest, rng *content.Range) (PullResult, error) {
	m := f.mf.m
	if !m.Stream() {
		return PullResult{}, fmt.Errorf("section of %s: %w: it is a %s, not a stream-layout tree", f.md.Short(), ErrWrongKind, m.Kind)
	}
	if off < 0 || size < 0 || off > m.Size-size {
		return PullResult{}, fmt.Errorf("section of %s: %w: %d bytes at %d, past the stream's %d bytes",
			f.md.Short(), content.ErrInvalidManifest, size, off, m.Size)
	}
	whole := rng == nil
	if whole {
		rng = &content.Range{Start: 0, End: size - 1}
	} else if err := rng.Validate(size); err != nil {
		return PullResult{}, err
	}
	if size == 0 {
		if digest != content.FromBytes(nil) {
			return PullResult{Manifest: m}, &content.MismatchError{Expected: digest, Actual: content.FromBytes(nil), ExpectedSize: size}
		}
		return PullResult{Manifest: m}, nil
	}
	opts := f.opts
	opts.Range = &content.Range{Start: off + rng.Start, End: off + rng.End}
	var h hash.Hash
	if whole {
		h = sha256.New()
		w = io.MultiWriter(w, h)
	}
	p := &progress{fn: opts.Progress, cur: Progress{Total: opts.Range.Length()}}
	n, err := pullChunks(ctx, f.mf, f.store, w, opts, p)
	if err != nil {
		return PullResult{Manifest: m, Written: n}, fmt.Errorf("section of %s: %w", f.md.Short(), err)
	}
	if whole {
		if got := content.FromSHA256([sha256.Size]byte(h.Sum(nil))); got != digest {
			return PullResult{Manifest: m, Written: n}, &content.MismatchError{Expected: digest, Actual: got, ExpectedSize: size, ActualSize: n}
		}
	}
	return PullResult{Manifest: m, Written: n}, nil
}
