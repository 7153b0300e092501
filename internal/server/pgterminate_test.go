package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
	"github.com/artifact-store/artstore/internal/eventlog/postgres/pgtest"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/server"
	"github.com/artifact-store/artstore/internal/storage/local"
)

// TestPostgresConnectionsTerminated: after PostgreSQL terminates the
// daemon's connections (as a restart does), every request is answered
// 2xx or 503 "unavailable", never 500. Only the connections of this
// test's daemon are terminated (by application_name).
func TestPostgresConnectionsTerminated(t *testing.T) {
	_, dsn := pgtest.Schema(t)
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	appName := "artstore_test_" + hex.EncodeToString(b[:])
	log, err := postgres.Open(ctx, dsn+"&application_name="+appName, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	be, err := local.New("default", filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Registry: registry.New(log, app.Checker(be), nil), Log: log, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := srv.Tokens().Create(ctx, "test", auth.Spec{Name: "reader", Scope: auth.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	get := func(path string) int {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Warm the pool: several idle connections to terminate.
	for range 4 {
		if st := get("/v1/artifacts"); st != 200 {
			t.Fatalf("list before the termination: %d", st)
		}
	}
	admin, err := pgx.Connect(ctx, pgtest.ServerDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var n int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, appName).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no connection of the daemon to terminate")
	}
	for i := range 8 {
		for _, path := range []string{"/v1/artifacts", "/v1/artifacts?label=a=b", "/v1/events", "/ready"} {
			if st := get(path); st != 200 && st != http.StatusServiceUnavailable {
				t.Errorf("request %d GET %s after the termination: %d, want 200 or 503", i, path, st)
			}
		}
	}
}
