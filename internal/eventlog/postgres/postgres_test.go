package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/eventlogtest"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
	"github.com/artifact-store/artstore/internal/eventlog/postgres/pgtest"
)

type db struct{ dsn string }

func newDB(t testing.TB) eventlogtest.DB {
	_, dsn := pgtest.Schema(t)
	return &db{dsn: dsn}
}

func (d *db) Open(t testing.TB, opts eventlog.Options) eventlog.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), d.dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// raw runs statements on one connection in a transaction, with the
// append-only trigger disabled for it when bypass is set.
func (d *db) raw(t testing.TB, bypass bool, stmts ...string) error {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if bypass {
		stmts = append(append([]string{"ALTER TABLE events DISABLE TRIGGER USER"}, stmts...), "ALTER TABLE events ENABLE TRIGGER USER")
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func (d *db) must(t testing.TB, stmts ...string) {
	t.Helper()
	if err := d.raw(t, true, stmts...); err != nil {
		t.Fatal(err)
	}
}

func (d *db) TamperBody(t testing.TB, seq int64) {
	d.must(t, fmt.Sprintf(`UPDATE events SET body = convert_to(replace(convert_from(body, 'UTF8'), '"actor":"a', '"actor":"b'), 'UTF8') WHERE seq = %d`, seq))
}

func (d *db) TamperHash(t testing.TB, seq int64) {
	d.must(t, fmt.Sprintf(`UPDATE events SET hash = '%064d' WHERE seq = %d`, 0, seq))
}

func (d *db) TamperSubject(t testing.TB, seq int64, subject string) {
	d.must(t, fmt.Sprintf(`UPDATE events SET subject = '%s' WHERE seq = %d`, subject, seq))
}

func (d *db) DeleteRow(t testing.TB, seq int64) {
	d.must(t, fmt.Sprintf(`DELETE FROM events WHERE seq = %d`, seq))
}

func (d *db) TryUpdate(t testing.TB, seq int64) error {
	return postgres.WrapError(d.raw(t, false, fmt.Sprintf(`UPDATE events SET actor = 'mallory' WHERE seq = %d`, seq)))
}

func (d *db) TryDelete(t testing.TB, seq int64) error {
	return postgres.WrapError(d.raw(t, false, fmt.Sprintf(`DELETE FROM events WHERE seq = %d`, seq)))
}

func TestConformance(t *testing.T) { eventlogtest.Run(t, newDB) }

func TestTriggersMapToErrAppendOnly(t *testing.T) {
	d := newDB(t).(*db)
	s := d.Open(t, eventlog.Options{})
	if _, err := s.Append(context.Background(), []eventlog.NewEvent{eventlogtest.Registered(t, "A", "x", "1", nil)}); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{"UPDATE events SET actor = 'm'", "DELETE FROM events", "TRUNCATE events"} {
		if err := postgres.WrapError(d.raw(t, false, stmt)); !errors.Is(err, eventlog.ErrAppendOnly) {
			t.Errorf("%s: %v, want ErrAppendOnly", stmt, err)
		}
	}
}

func TestOpenBadDSN(t *testing.T) {
	if _, err := postgres.Open(context.Background(), "postgres://nobody@127.0.0.1:1/x?connect_timeout=1", eventlog.Options{}); err == nil {
		t.Error("Open of an unreachable server succeeded")
	}
}

func BenchmarkAppendBatch1000(b *testing.B) { eventlogtest.BenchAppend(b, newDB(b), 1000) }

func BenchmarkAppendBatch100(b *testing.B) { eventlogtest.BenchAppend(b, newDB(b), 100) }

func BenchmarkRebuild100k(b *testing.B) { eventlogtest.BenchRebuild(b, newDB(b), 100_000) }

// BenchmarkNames100k: shell completion's queries over 100,000 artifacts.
func BenchmarkNames100k(b *testing.B) { eventlogtest.BenchNames(b, newDB(b)) }

func BenchmarkReadSubject(b *testing.B) { eventlogtest.BenchReadSubject(b, newDB(b)) }

// BenchmarkProofs1M builds a log of 1,000,000 events first (minutes).
func BenchmarkProofs1M(b *testing.B) { eventlogtest.BenchProofs(b, newDB(b), 1_000_000) }

func BenchmarkProofs10k(b *testing.B) { eventlogtest.BenchProofs(b, newDB(b), 10_000) }

func TestRebuildKeepsIndexes(t *testing.T) {
	d := newDB(t).(*db)
	s := d.Open(t, eventlog.Options{})
	eventlogtest.History(t, s)
	ctx := context.Background()
	indexes := func() string {
		conn, err := pgx.Connect(ctx, d.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var got string
		if err := conn.QueryRow(ctx, `SELECT string_agg(indexname || ':' || indexdef, ';' ORDER BY indexname) FROM pg_indexes WHERE schemaname = current_schema()`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	before := indexes()
	if !strings.Contains(before, "labels_kv") || !strings.Contains(before, "artifacts_pkey") {
		t.Fatalf("indexes before rebuild: %s", before)
	}
	if _, err := s.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if after := indexes(); after != before {
		t.Errorf("indexes after rebuild:\n%s\nbefore:\n%s", after, before)
	}
}

func (d *db) ForgetTree(t testing.TB) {
	// Later migrations go too: the database is as it was before the tree.
	d.must(t, `DROP TABLE tree_nodes`, `DROP TABLE live_names`, `DROP INDEX events_subject`, `DELETE FROM schema_migrations WHERE version >= 2`)
}

func (d *db) RevertTree(t testing.TB, nodes map[int64][]byte) {
	t.Helper()
	d.must(t, eventlogtest.RevertTreeSQL(t, os.DirFS("migrations"), func(b []byte) string { return fmt.Sprintf(`'\\x%x'::bytea`, b) }, nodes)...)
}

func (d *db) ReplaceEvents(t testing.TB, from int64, rows []eventlog.StoredRow, nodes map[int64][]byte) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it is a no-op
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("ALTER TABLE events DISABLE TRIGGER USER")
	exec("ALTER TABLE tree_nodes DISABLE TRIGGER USER")
	exec(`DELETE FROM events WHERE seq >= $1`, from)
	for _, r := range rows {
		exec(`INSERT INTO events (seq, time_ns, actor, type, subject, body, prev, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			r.Seq, r.TimeNS, r.Actor, r.Type, r.Subject, r.Body, r.Prev, r.Hash)
	}
	if nodes != nil {
		exec(`DELETE FROM tree_nodes`)
		for seq, hs := range nodes {
			exec(`INSERT INTO tree_nodes (seq, hashes) VALUES ($1, $2)`, seq, hs)
		}
	}
	exec("ALTER TABLE events ENABLE TRIGGER USER")
	exec("ALTER TABLE tree_nodes ENABLE TRIGGER USER")
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestConformanceICUCollation runs the conformance suite with the events'
// subject column in an ICU collation, in which ';' sorts before ':' and
// punctuation and case do not follow byte order, as a database created
// with such a locale has it: what the store reads by subject must not
// depend on the database's collation.
func TestConformanceICUCollation(t *testing.T) {
	eventlogtest.Run(t, func(t testing.TB) eventlogtest.DB {
		return &collatedDB{db: newDB(t).(*db)}
	})
}

// collatedDB is a db whose events.subject column is in the "en-US-x-icu"
// collation from the first Open on.
type collatedDB struct {
	*db
	altered bool
}

func (d *collatedDB) Open(t testing.TB, opts eventlog.Options) eventlog.Store {
	t.Helper()
	s := d.db.Open(t, opts)
	if !d.altered {
		d.altered = true
		d.must(t, `ALTER TABLE events ALTER COLUMN subject TYPE TEXT COLLATE "en-US-x-icu"`)
	}
	return s
}
