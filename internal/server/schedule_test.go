package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/pkg/api"
)

// TestSchedule: the daemon's schedule applies retention and collects
// garbage on its own, recording both in the log under its actor.
func TestSchedule(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	expired := e.register("logs/old", []byte("expired content"))
	gone := e.register("logs/gone", []byte("deleted content"))
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	e.doJSON("PUT", "/v1/artifact/retention?ref="+url.QueryEscape(expired.Ref), "admin",
		api.RetentionBody{ExpiresAt: &past}, http.StatusOK, nil)
	e.doJSON("DELETE", "/v1/artifact?ref="+url.QueryEscape(gone.Ref), "admin", nil, http.StatusOK, nil)

	sctx, cancel := context.WithCancel(ctx)
	runs := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.srv.RunSchedule(sctx, Schedule{RetentionInterval: time.Millisecond, GCInterval: time.Millisecond,
			Done: func(task string, err error) {
				if err != nil {
					t.Errorf("%s: %v", task, err)
				}
				select {
				case runs <- task:
				default: // the test has seen enough
				}
			}})
	}()
	seen := map[string]bool{}
	for !seen["retention"] || !seen["gc"] {
		seen[<-runs] = true
	}
	cancel()
	<-done

	a, err := e.srv.reg.Get(ctx, expired.ID)
	if err != nil || a.Deleted == nil || a.Deleted.By != DefaultScheduleActor || !strings.Contains(a.Deleted.Reason, "expires_at 2020-01-01") {
		t.Fatalf("expired artifact after the schedule: %+v, %v", a.Deleted, err)
	}
	var collected bool
	err = e.log.Read(ctx, 0, func(ev eventlog.Event) error {
		if ev.Type == eventlog.TypeBlobsCollected && ev.Actor == DefaultScheduleActor {
			collected = true
		}
		return nil
	})
	if err != nil || !collected {
		t.Fatalf("no blobs.collected event by %s (%v)", DefaultScheduleActor, err)
	}
}

// TestScheduleOff: a zero schedule starts nothing and returns at once
// when its context ends.
func TestScheduleOff(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e.srv.RunSchedule(ctx, Schedule{Done: func(task string, err error) { t.Errorf("%s ran", task) }})
}
