package fsck

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/pkg/api"
)

// replayBatch is how many events the view check appends to its scratch log
// per transaction.
const replayBatch = 500

// chain checks the event log's hash chain.
func (c *checker) chain(ctx context.Context) error {
	rep, err := c.s.Log.Verify(ctx, 1)
	var ce *eventlog.ChainError
	if err != nil && !errors.As(err, &ce) {
		return fmt.Errorf("verify log: %w", err)
	}
	if rep.OK() {
		return nil
	}
	where := "the log"
	if c.s.LogPath != "" {
		where = c.s.LogPath
	}
	c.add(api.Problem{Kind: api.ProblemChain,
		Message: fmt.Sprintf("the event log's hash chain breaks at event %d: %s", rep.FirstBad, rep.Reason),
		Hint:    fmt.Sprintf("the log was changed outside artstore; stop writing to this store and restore %s from a backup", where)})
	return nil
}

// views compares the live views with views projected from scratch: the
// log is replayed, event by event, into a temporary SQLite store, and the
// two stores' canonical view dumps are compared line by line. The live dump
// is taken between two equal heads, so it reflects exactly the events
// replayed. Both dumps go to temporary files: memory stays bounded.
//
// The scratch space is in the system's temporary directory ($TMPDIR),
// never in the store: verify is what an operator runs on a store in
// trouble, whose disk may be full or read-only. It needs about twice the
// views' size; point TMPDIR elsewhere when /tmp is a small tmpfs.
func (c *checker) views(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "artstore-verify-*")
	if err != nil {
		return fmt.Errorf("verify views: scratch space in the temporary directory (set TMPDIR to a directory with room): %w", err)
	}
	defer os.RemoveAll(dir)

	livePath := filepath.Join(dir, "live.dump")
	head, err := c.liveDump(ctx, livePath)
	if err != nil {
		return fmt.Errorf("verify views: %w", err)
	}
	scratch, err := sqlite.Open(ctx, filepath.Join(dir, "replay.db"), eventlog.Options{})
	if err != nil {
		return fmt.Errorf("verify views: open scratch log: %w", err)
	}
	defer scratch.Close()
	if err := c.replay(ctx, scratch, head); err != nil {
		c.add(api.Problem{Kind: api.ProblemView,
			Message: fmt.Sprintf("the log does not replay cleanly: %v", err),
			Hint:    "the log holds events this artstore cannot apply; upgrade artstore, or check the log (artstore log verify)"})
		return nil
	}
	replayPath := filepath.Join(dir, "replay.dump")
	if err := dumpTo(ctx, scratch, replayPath); err != nil {
		return fmt.Errorf("verify views: %w", err)
	}
	diff, err := firstDifference(livePath, replayPath)
	if err != nil {
		return fmt.Errorf("verify views: %w", err)
	}
	if diff != "" {
		c.add(api.Problem{Kind: api.ProblemView,
			Message: fmt.Sprintf("the views differ from a replay of the %d events of the log: %s", head.Seq, diff),
			Hint:    "rebuild the views from the log: artstore admin rebuild"})
	}
	return nil
}

// liveDump writes the live views' dump to path and returns the head they
// reflect: the dump is taken between two reads of the head that agree,
// tried a few times while appends move it.
func (c *checker) liveDump(ctx context.Context, path string) (eventlog.Head, error) {
	for attempt := 0; ; attempt++ {
		h1, err := c.s.Log.Head(ctx)
		if err != nil {
			return eventlog.Head{}, err
		}
		if err := dumpTo(ctx, c.s.Log, path); err != nil {
			return eventlog.Head{}, err
		}
		h2, err := c.s.Log.Head(ctx)
		if err != nil {
			return eventlog.Head{}, err
		}
		if h1 == h2 {
			return h1, nil
		}
		if attempt == 4 {
			return eventlog.Head{}, fmt.Errorf("%w: the log kept changing while the views were read; try again when it is quieter", api.ErrUnavailable)
		}
	}
}

// replay appends the log's events up to head to scratch, in batches.
func (c *checker) replay(ctx context.Context, scratch eventlog.Store, head eventlog.Head) error {
	var batch []eventlog.NewEvent
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := scratch.Append(ctx, batch)
		batch = batch[:0]
		return err
	}
	errDone := errors.New("replayed to head")
	err := c.s.Log.Read(ctx, 0, func(e eventlog.Event) error {
		if e.Seq > head.Seq {
			return errDone
		}
		batch = append(batch, eventlog.NewEvent{Time: e.Time, Actor: e.Actor, Type: e.Type, Subject: e.Subject, Payload: e.Payload})
		if len(batch) == replayBatch {
			return flush()
		}
		return nil
	})
	if err == nil || errors.Is(err, errDone) {
		err = flush()
	}
	return err
}

// dumpTo writes s's view dump to the file at path.
func dumpTo(ctx context.Context, s eventlog.Store, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := s.ViewDump(ctx, w); err != nil {
		f.Close()
		return fmt.Errorf("dump views: %w", err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
