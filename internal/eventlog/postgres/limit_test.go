package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artifact-store/artstore/internal/eventlog/postgres/pgtest"
)

// TestLimitQuery: a statement in a read transaction bounded by LimitQuery
// is stopped by the server at the timeout, and QueryTimedOut recognises
// the error; a statement without the bound is not affected.
func TestLimitQuery(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.ServerDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	d := &driver{pool: pool, queryTimeout: 50 * time.Millisecond}
	tx, err := d.BeginRead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	if err := d.LimitQuery(ctx, tx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	rows, err := tx.Query(ctx, "SELECT pg_sleep(5)")
	if err == nil {
		for rows.Next() {
		}
		err = rows.Close()
	}
	if !d.QueryTimedOut(err) {
		t.Fatalf("a 5 s statement under a 50 ms bound: %v, want a timeout", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("the bounded statement ran %v", el)
	}
}
