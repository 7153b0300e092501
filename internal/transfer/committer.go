package transfer

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/content"
)

// committer is the push pipeline's commit stage, on stores that group the
// durability of blob writes (storage.Stager): uploaders stage chunks, and
// the committer makes them durable and visible every CommitEvery bytes,
// CommitBlobs blobs or CommitInterval (whichever comes first), once more
// before the manifest, and, best effort, after a failure or cancellation,
// so a push run again resumes. A tree's files share one stage, which
// PushTree commits and aborts; a file pushed alone has its own.
type committer struct {
	sh  *sharedStage
	cfg pushConfig
}

// newCommitter returns the committer of a push of one file: over
// cfg.shared for a tree's file, over a new stage of store's when it
// stages, or nil. abort, when not nil, must be called when the push is
// over (it drops what was staged and not committed).
func newCommitter(store BlobStore, cfg pushConfig) (cm *committer, abort func()) {
	if cfg.shared != nil {
		return &committer{sh: cfg.shared, cfg: cfg}, nil
	}
	if ss, ok := store.(stagingStore); ok {
		if st := ss.newStage(); st != nil {
			return &committer{sh: newSharedStage(st), cfg: cfg}, st.abort
		}
	}
	return nil, nil
}

// staged counts a blob of size bytes just staged and commits when a commit
// is due.
func (c *committer) staged(ctx context.Context, size int64) error {
	if c.sh.staged(size, c.cfg) {
		return commitStage(ctx, c.sh.st, c.cfg.Retry)
	}
	return nil
}

// commit commits what is staged, with retries.
func (c *committer) commit(ctx context.Context) error {
	return commitStage(ctx, c.sh.st, c.cfg.Retry)
}

// interrupted commits what was staged completely after the push failed,
// so a run again resumes; also when the caller cancelled (Ctrl-C), hence
// the detached context. It is best effort: the push has failed anyway.
func (c *committer) interrupted(parent context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(parent), interruptedCommitTimeout)
	defer cancel()
	_ = c.sh.st.commit(cctx)
}

// sharedStage is a blobStage with the count of what was staged since its
// last commit, used by every push that stages into it.
type sharedStage struct {
	st blobStage
	mu sync.Mutex
	n  int   // blobs staged since the last commit
	b  int64 // bytes staged since the last commit
	// last is when the last commit was due (or the stage was made).
	last time.Time
}

// newSharedStage returns st with nothing counted.
func newSharedStage(st blobStage) *sharedStage {
	return &sharedStage{st: st, last: time.Now()}
}

// staged counts a blob of size bytes just staged and reports whether a
// commit is due (it then resets the count, so one caller commits).
func (s *sharedStage) staged(size int64, cfg pushConfig) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.b += size
	now := time.Now()
	if s.b >= cfg.CommitEvery || s.n >= cfg.CommitBlobs || now.Sub(s.last) >= cfg.CommitInterval {
		s.n, s.b, s.last = 0, 0, now
		return true
	}
	return false
}

// interruptedCommitTimeout bounds the commit of staged chunks after a push
// failed or was cancelled.
const interruptedCommitTimeout = 30 * time.Second

// stagingStore is implemented by BlobStores that can make many chunk
// writes durable together (FromBackend's adapter over a storage.Stager).
// newStage returns nil when the store cannot stage after all.
type stagingStore interface {
	newStage() blobStage
}

// blobStage is a group of chunk writes made durable and visible on commit
// (see storage.Stage).
type blobStage interface {
	putDigested(ctx context.Context, d content.Digest, size int64, r io.Reader) error
	commit(ctx context.Context) error
	abort()
}

// commitStage commits st with retries.
func commitStage(ctx context.Context, st blobStage, retry RetryPolicy) error {
	if err := retry.do(ctx, func() error { return st.commit(ctx) }); err != nil {
		return fmt.Errorf("make stored chunks durable: %w", err)
	}
	return nil
}
