package transfer

import (
	"context"
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
