package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
	"github.com/artifact-store/artstore/internal/registry"
)

// lostLog is an event log whose queries fail the way PostgreSQL fails a
// connection it terminates during a restart.
type lostLog struct {
	eventlog.Store
	code string
}

func (l lostLog) Query(context.Context, eventlog.Query) (eventlog.Page, error) {
	return eventlog.Page{}, postgres.WrapError(&pgconn.PgError{Severity: "FATAL", Code: l.code, Message: "terminating connection due to administrator command"})
}

// TestLogConnectionLost: a query on a connection PostgreSQL terminated
// (57P01) or refused while starting up (57P03) is answered 503
// "unavailable", which clients retry, not 500.
func TestLogConnectionLost(t *testing.T) {
	e := newEnv(t)
	for _, code := range []string{"57P01", "57P03", "08006"} {
		log := lostLog{Store: e.log, code: code}
		srv, err := New(Options{Registry: registry.New(log, Checker(e.backend), nil), Log: log, Backend: e.backend, Tokens: e.srv.Tokens()})
		if err != nil {
			t.Fatal(err)
		}
		resp := e.requestTo(srv, "GET", "/v1/artifacts", "read")
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("SQLSTATE %s: status %d, want 503", code, resp.StatusCode)
		}
		if got := errorCode(t, resp); got != "unavailable" {
			t.Errorf("SQLSTATE %s: code %q, want unavailable", code, got)
		}
	}
}
