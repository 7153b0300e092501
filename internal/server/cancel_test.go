package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
	"github.com/artifact-store/artstore/internal/eventlog/postgres/pgtest"
)

// TestFollowStoppedIsCancelled: a client that follows the event stream
// (artstore log --follow: long-polls of GET /v1/events) and stops, at any
// moment, is logged as a cancelled request (499, INFO), never as a server
// failure (level=ERROR, status 500), over either log store.
func TestFollowStoppedIsCancelled(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { followStopped(t, newEnv(t)) })
	t.Run("postgres", func(t *testing.T) {
		_, dsn := pgtest.Schema(t)
		log, err := postgres.Open(context.Background(), dsn, eventlog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { log.Close() })
		followStopped(t, newEnvLog(t, log))
	})
}

func followStopped(t *testing.T, e *env) {
	e.register("f/a", []byte("abc"))
	ts, buf := e.logged(Limits{MaxWait: 5 * time.Second})
	// Stop the follower while its request is on its way in or its first
	// read runs (a request cancelled before it reached the daemon leaves no
	// log line), and while it waits for new events.
	for _, after := range []time.Duration{time.Millisecond, 5 * time.Millisecond, 200 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/v1/events?after=1000&wait=5s", nil)
		req.Header.Set("Authorization", "Bearer "+e.tok["read"])
		time.AfterFunc(after, cancel)
		if resp, err := ts.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("the request cancelled after %s got %d", after, resp.StatusCode)
		}
		cancel()
	}
	waitLog(t, buf, "/v1/events")
	// The handlers of the requests cancelled early may still be ending.
	time.Sleep(100 * time.Millisecond)
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !strings.Contains(line, "route=/v1/events ") {
			continue
		}
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "status=5") {
			t.Errorf("a stopped follower logged as a server failure: %s", line)
		}
		if !strings.Contains(line, "level=INFO") || !strings.Contains(line, "status=499") {
			t.Errorf("a stopped follower not logged as cancelled (499, INFO): %s", line)
		}
	}
	if strings.Contains(buf.String(), "level=ERROR") {
		t.Errorf("stopped followers logged an error:\n%s", buf)
	}
}
