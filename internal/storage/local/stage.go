package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// stageSyncs bounds the fsyncs a Commit runs at once. The filesystem's
// journal folds concurrent syncs into few commits; more parallelism than
// this gains nothing measurable.
const stageSyncs = 8

var _ storage.Stager = (*Backend)(nil)

// NewStage starts a group of writes made durable together (storage.Stager).
//
// A staged blob is written to a temporary file, as by Put, and the kernel
// is asked to start writing it out at once (sync_file_range on Linux), but
// it is neither synced nor renamed. Commit then fsyncs every staged file,
// renames each into place (shard directories created as needed, a blob
// completed meanwhile by someone else kept and touched instead), and fsyncs
// every directory whose entries changed. The order is Put's, so a blob is
// still visible under its key only once complete, verified and durable;
// what is saved is the per-blob wait for the disk: one group of syncs per
// Commit instead of a file sync and a directory sync per blob (a 1 GiB push
// has ~430 chunks).
//
// A crash before Commit leaves only temporary files, which New removes once
// they are StaleTempAge old.
func (b *Backend) NewStage() storage.Stage { return &stage{b: b} }

type stage struct {
	b      *Backend
	commit sync.Mutex // one Commit at a time

	mu      sync.Mutex
	pending []staged
}

// staged is a complete, verified temporary file waiting for Commit.
type staged struct {
	d        content.Digest
	size     int64
	tmp, key string
}

func (s *stage) PutVerified(ctx context.Context, d content.Digest, size int64, r io.Reader) (created bool, err error) {
	return s.b.put(ctx, d, size, r, false, s)
}

// add writes a new blob to a temporary file and stages it.
func (s *stage) add(ctx context.Context, root opRoot, key string, d content.Digest, size int64, r io.Reader) error {
	f, tmp, err := s.b.writeTemp(ctx, root, d, size, r, false)
	if err != nil {
		return err
	}
	startWriteback(f)
	if err := f.Close(); err != nil {
		root.Remove(tmp)
		return s.b.errf("put", d, "close %s: %w", filepath.Join(s.b.root, tmp), err)
	}
	s.mu.Lock()
	s.pending = append(s.pending, staged{d: d, size: size, tmp: tmp, key: key})
	s.mu.Unlock()
	return nil
}

// take removes and returns the staged blobs.
func (s *stage) take() []staged {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending
	s.pending = nil
	return p
}

// putBack returns blobs a failed Commit did not publish to the stage.
func (s *stage) putBack(p []staged) {
	s.mu.Lock()
	s.pending = append(p, s.pending...)
	s.mu.Unlock()
}

func (s *stage) Commit(ctx context.Context) error {
	s.commit.Lock()
	defer s.commit.Unlock()
	batch := s.take()
	if len(batch) == 0 {
		return nil
	}
	done, err := s.publish(ctx, batch)
	if err != nil {
		s.putBack(batch[done:])
		return fmt.Errorf("local backend %q: commit %d staged blobs: %w", s.b.id, len(batch), err)
	}
	return nil
}

// publish makes batch durable and visible and returns how many of its
// blobs it published (all of them when err is nil; the rest are still
// temporary files).
func (s *stage) publish(ctx context.Context, batch []staged) (published int, err error) {
	osRoot, err := s.b.openRoot()
	if err != nil {
		return 0, err
	}
	defer osRoot.Close()
	root := opRoot{osRoot, s.b.dirs.use(osRoot)}

	// 1. Every file's bytes and size reach the disk before any rename.
	err = parallel(ctx, len(batch), func(i int) error {
		if ok, err := root.dirs.syncFile(batch[i].tmp); ok {
			if err != nil {
				return fmt.Errorf("fsync %s: %w", filepath.Join(s.b.root, batch[i].tmp), err)
			}
			return nil
		}
		f, err := root.Open(batch[i].tmp)
		if err != nil {
			return err
		}
		err = f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("fsync %s: %w", filepath.Join(s.b.root, batch[i].tmp), err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}

	// 2. Rename into place, noting the directories whose entries changed.
	dirs := map[string]bool{}
	for i, e := range batch {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		// Someone else may have completed the same blob meanwhile: keep
		// theirs, as Put does.
		if exists, err := touchIfComplete(root, e.key, e.size); err == nil && exists {
			root.Remove(e.tmp)
			continue
		}
		changed, err := s.b.publish(root, e.d, e.tmp, e.key)
		if err != nil {
			return i, err
		}
		for _, d := range changed {
			dirs[d] = true
		}
	}

	// 3. The renames reach the disk.
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	err = parallel(ctx, len(list), func(i int) error {
		if err := root.syncDir(list[i]); err != nil {
			return fmt.Errorf("blobs stored, but fsync of directory %s failed (they may not survive a crash): %w", filepath.Join(s.b.root, list[i]), err)
		}
		return nil
	})
	// The renames are done: on a failed directory sync, retrying cannot
	// help, and nothing is left staged.
	return len(batch), err
}

func (s *stage) Abort() {
	batch := s.take()
	if len(batch) == 0 {
		return
	}
	root, err := s.b.openRoot()
	if err != nil {
		return // the root is gone, and the temporary files with it
	}
	defer root.Close()
	for _, e := range batch {
		root.Remove(e.tmp)
	}
}

// parallel runs fn(0..n-1), at most stageSyncs at a time, and returns
// their errors joined; it stops starting new calls once ctx ends.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	errs := make([]error, n+1)
	sem := make(chan struct{}, stageSyncs)
	var wg sync.WaitGroup
	for i := range n {
		if errs[n] = ctx.Err(); errs[n] != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
