package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/artifact-store/artstore/internal/content"
)

// checker is the push pipeline's presence-check stage, one goroutine: it
// takes digested chunks in any order, writes their references to the
// manifest's chunk list (in chunk order), asks the store in batches which
// ones it lacks (BlobStore.Missing) and passes those to the uploaders with
// the store path's hold; it releases the hold on the others. It is the
// only goroutine that touches list and seen.
type checker struct {
	store BlobStore
	cfg   pushConfig
	rg    *ring
	prog  *progress
	list  *chunkList
	seen  *digestSet
	// dedup counts the chunk bytes not uploaded; read it once run has
	// returned.
	dedup int64
}

// run checks the chunks from checkQ, in batches of what has accumulated
// while the previous call ran (at most cfg.MissingBatch), and closes
// uploadQ when it returns. On error it keeps draining checkQ, releasing
// each chunk, so the hashers finish.
func (k *checker) run(ctx context.Context, checkQ <-chan *pushChunk, uploadQ chan<- *pushChunk) error {
	defer close(uploadQ)
	var batch []*pushChunk
	for c := range checkQ {
		batch = append(batch[:0], c)
	drain:
		for len(batch) < k.cfg.MissingBatch {
			select {
			case c, ok := <-checkQ:
				if !ok {
					break drain
				}
				batch = append(batch, c)
			default:
				break drain
			}
		}
		if err := k.checkBatch(ctx, batch, uploadQ); err != nil {
			for c := range checkQ {
				c.release(k.rg, holdOwn)
			}
			return err
		}
	}
	return nil
}

// releaseAll releases the store path's hold on every chunk of batch.
func (k *checker) releaseAll(batch []*pushChunk) {
	for _, c := range batch {
		c.release(k.rg, holdOwn)
	}
}

// checkBatch records the batch's chunk references, asks the store which
// chunks it lacks, queues those for upload and releases the rest. Every
// chunk of the batch is passed on or released, also on error.
func (k *checker) checkBatch(ctx context.Context, batch []*pushChunk, uploadQ chan<- *pushChunk) error {
	var ask []content.Digest
	var refs []content.ChunkRef
	for _, c := range batch {
		if err := k.list.add(c.index, content.ChunkRef{Digest: c.digest, Size: int64(len(c.data))}); err != nil {
			k.releaseAll(batch)
			return err
		}
		if k.seen.addNew(c.digest) {
			ask = append(ask, c.digest)
			refs = append(refs, content.ChunkRef{Digest: c.digest, Size: int64(len(c.data))})
		}
	}
	var missing []content.Digest
	if len(ask) > 0 {
		sized, _ := k.store.(SizedChecker)
		err := k.cfg.Retry.do(ctx, func() error {
			var err error
			if sized != nil {
				missing, err = sized.MissingSized(ctx, refs)
			} else {
				missing, err = k.store.Missing(ctx, ask)
			}
			return err
		})
		if err != nil {
			k.releaseAll(batch)
			return fmt.Errorf("check which chunks the store holds: %w", err)
		}
	}
	upload := make(map[content.Digest]bool, len(missing))
	for _, d := range missing {
		upload[d] = true
	}
	for i, c := range batch {
		if upload[c.digest] {
			delete(upload, c.digest) // a repeat within the batch is uploaded once
			if err := send(ctx, uploadQ, c); err != nil {
				k.releaseAll(batch[i:])
				return err
			}
			continue
		}
		k.dedup += int64(len(c.data))
		k.prog.add(0, 0, int64(len(c.data)))
		c.release(k.rg, holdOwn)
	}
	return nil
}

// seenLimit bounds each of digestSet's two generations: about 10 GiB of
// distinct chunks at the default chunk size, in about 1 MiB of memory.
const seenLimit = 4096

// digestSet remembers the chunk digests a push has asked the store about,
// so that a chunk repeated within the push is neither asked about nor
// uploaded twice. Its memory is bounded: it keeps two generations of at
// most limit digests and forgets the older when the newer is full. A
// repeat it has forgotten is asked about again, and the store (which holds
// it by then, or soon) deduplicates it; at worst it is uploaded twice,
// which content addressing makes harmless.
type digestSet struct {
	cur, old map[content.Digest]struct{}
	limit    int
}

// addNew adds d and reports whether it was not (remembered as) there.
func (s *digestSet) addNew(d content.Digest) bool {
	if _, ok := s.cur[d]; ok {
		return false
	}
	if _, ok := s.old[d]; ok {
		return false
	}
	if s.cur == nil || len(s.cur) >= s.limit {
		s.old, s.cur = s.cur, make(map[content.Digest]struct{}, min(s.limit, 256))
	}
	s.cur[d] = struct{}{}
	return true
}

// uploader is the push pipeline's upload stage, run by cfg.Concurrency
// goroutines: each stores the chunks it takes from the checker, with
// retries, and releases the store path's hold on each once its put has
// returned. On a store that stages, it tells the committer of each chunk
// staged. After its first error an uploader only releases what it
// receives.
type uploader struct {
	put    putFunc
	cfg    pushConfig
	rg     *ring
	prog   *progress
	commit *committer // nil: the store does not stage
	// uploaded counts the chunk bytes stored.
	uploaded atomic.Int64
}

// run uploads the chunks from uploadQ until it is closed.
func (u *uploader) run(ctx context.Context, uploadQ <-chan *pushChunk) error {
	var err error
	for c := range uploadQ {
		if err == nil {
			err = putChunk(ctx, u.put, u.cfg, c)
			if err == nil {
				u.uploaded.Add(int64(len(c.data)))
				u.prog.add(0, int64(len(c.data)), 0)
			}
		}
		c.release(u.rg, holdOwn)
		if err == nil && u.commit != nil {
			err = u.commit.staged(ctx, int64(len(c.data)))
		}
	}
	return err
}

// putFunc stores caller-digested bytes: putDigested, or a stage's put.
type putFunc func(ctx context.Context, d content.Digest, size int64, r io.Reader) error

// putChunk uploads one chunk with retries.
func putChunk(ctx context.Context, put putFunc, cfg pushConfig, c *pushChunk) error {
	err := cfg.Retry.do(ctx, func() error {
		r := &guardedReader{}
		r.r.Reset(c.data)
		defer r.close()
		return put(ctx, c.digest, int64(len(c.data)), r)
	})
	if err != nil {
		return fmt.Errorf("upload chunk %d (%s, %d bytes): %w", c.index, c.digest.Short(), len(c.data), err)
	}
	return nil
}

// digestedPutter is implemented by BlobStores that can store bytes the
// pipeline has just digested itself without hashing them again (see
// storage.VerifiedPutter); FromBackend's adapter does.
type digestedPutter interface {
	putDigested(ctx context.Context, d content.Digest, size int64, r io.Reader) error
}

// putDigested stores bytes whose digest d the pipeline computed itself, in
// this process, from the very buffer r reads; only Push's chunk and
// manifest uploads may call it.
func putDigested(ctx context.Context, store BlobStore, d content.Digest, size int64, r io.Reader) error {
	if dp, ok := store.(digestedPutter); ok {
		return dp.putDigested(ctx, d, size, r)
	}
	return store.Put(ctx, d, size, r)
}

// errReaderClosed is returned by a chunk reader used after its Put
// returned, against the BlobStore contract.
var errReaderClosed = errors.New("transfer: chunk reader used after Put returned")

// guardedReader reads a chunk's bytes from the ring until closed. Closing
// waits for a Read in progress, so once Put has returned and the reader is
// closed, a BlobStore that (wrongly) keeps reading in the background gets
// an error instead of bytes of a reused or unmapped buffer.
type guardedReader struct {
	mu     sync.Mutex
	r      bytes.Reader
	closed bool
}

func (g *guardedReader) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errReaderClosed
	}
	return g.r.Read(p)
}

// WriteTo writes the rest of the chunk to w in one call, so a store that
// writes to a file needs no copy through a buffer of its own.
func (g *guardedReader) WriteTo(w io.Writer) (int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errReaderClosed
	}
	return g.r.WriteTo(w)
}

func (g *guardedReader) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
