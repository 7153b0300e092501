package server

import (
	"context"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/pkg/api"
)

// DefaultScheduleActor is the actor of the events scheduled maintenance
// appends.
const DefaultScheduleActor = "artstore-serve"

// Schedule turns on periodic maintenance in the daemon. A zero interval
// turns its task off; both are off by default.
type Schedule struct {
	// RetentionInterval: apply retention (delete what expired) this often.
	RetentionInterval time.Duration
	// GCInterval: collect garbage this often, keeping blobs written
	// within GCGrace.
	GCInterval time.Duration
	GCGrace    time.Duration
	// Actor is recorded on the events; "" means DefaultScheduleActor.
	Actor string
	// Done, if set, is called after each run with the task ("retention"
	// or "gc") and its error (tests wait on it).
	Done func(task string, err error)
}

// RunSchedule runs the schedule's tasks until ctx is done: each one
// interval after the start and then every interval, never two runs of a
// task at once. Failures are logged and the task runs again at its next
// tick. It returns when ctx is done and no task is running.
func (s *Server) RunSchedule(ctx context.Context, sch Schedule) {
	if sch.Actor == "" {
		sch.Actor = DefaultScheduleActor
	}
	var wg sync.WaitGroup
	every := func(task string, d time.Duration, run func(context.Context) error) {
		if d <= 0 {
			return
		}
		s.logger.Info("scheduled", "task", task, "interval", d.String())
		wg.Go(func() {
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				err := run(ctx)
				if ctx.Err() != nil {
					return // stopped mid-run: not a failure
				}
				if err != nil {
					s.logger.Error("scheduled task failed; it runs again at its next tick", "task", task, "error", err.Error())
				}
				if sch.Done != nil {
					sch.Done(task, err)
				}
			}
		})
	}
	every("retention", sch.RetentionInterval, func(ctx context.Context) error { return s.applyRetention(ctx, sch.Actor) })
	every("gc", sch.GCInterval, func(ctx context.Context) error { return s.collect(ctx, sch.Actor, sch.GCGrace) })
	wg.Wait()
}

// applyRetention deletes what retention says is due, logging each deletion.
func (s *Server) applyRetention(ctx context.Context, actor string) error {
	rep, err := s.svc.ApplyRetention(ctx, app.Principal{Actor: actor}, false)
	deleted := 0
	if rep != nil {
		for _, e := range rep.Expired {
			switch {
			case e.Deleted:
				deleted++
				s.logger.Info("retention deleted an artifact", "ref", e.Artifact.Ref, "id", e.Artifact.ID, "reason", e.Reason)
			case e.Skipped != "":
				s.logger.Info("retention kept an artifact", "ref", e.Artifact.Ref, "id", e.Artifact.ID, "why", e.Skipped)
			}
		}
	}
	s.logger.Info("retention applied", "deleted", deleted)
	return err
}

// collect runs garbage collection and logs what it deleted.
func (s *Server) collect(ctx context.Context, actor string, grace time.Duration) error {
	_, res, err := s.svc.GC(ctx, app.Principal{Actor: actor}, api.GCOptions{Grace: grace})
	s.logger.Info("garbage collected", "backend", res.Backend, "blobs", len(res.Collected), "bytes", res.Bytes,
		"scanned", res.Scanned, "spared", res.Spared)
	return err
}
