package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/eventlogtest"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
)

type db struct{ path string }

func newDB(t testing.TB) eventlogtest.DB {
	return &db{path: filepath.Join(t.TempDir(), "log.db")}
}

func (d *db) Open(t testing.TB, opts eventlog.Options) eventlog.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), d.path, opts)
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

// raw runs statements on a plain connection, with the append-only
// triggers dropped for the duration when bypass is set.
func (d *db) raw(t testing.TB, bypass bool, stmts ...string) error {
	t.Helper()
	conn, err := sql.Open("sqlite", d.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if bypass {
		stmts = append(append([]string{"DROP TRIGGER events_no_update", "DROP TRIGGER events_no_delete"}, stmts...),
			"CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'append-only'); END",
			"CREATE TRIGGER events_no_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'append-only'); END")
	}
	for _, s := range stmts {
		if _, err := conn.Exec(s); err != nil {
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
	// Flip the byte after `"actor":"` (a letter) to another letter.
	d.must(t, fmt.Sprintf(`UPDATE events SET body = CAST(replace(CAST(body AS TEXT), '"actor":"a', '"actor":"b') AS BLOB) WHERE seq = %d`, seq))
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
	return sqlite.WrapError(d.raw(t, false, fmt.Sprintf(`UPDATE events SET actor = 'mallory' WHERE seq = %d`, seq)))
}

func (d *db) TryDelete(t testing.TB, seq int64) error {
	return sqlite.WrapError(d.raw(t, false, fmt.Sprintf(`DELETE FROM events WHERE seq = %d`, seq)))
}

func TestConformance(t *testing.T) { eventlogtest.Run(t, newDB) }

func TestTriggersMapToErrAppendOnly(t *testing.T) {
	d := newDB(t).(*db)
	s := d.Open(t, eventlog.Options{})
	if _, err := s.Append(context.Background(), []eventlog.NewEvent{eventlogtest.Registered(t, "A", "x", "1", nil)}); err != nil {
		t.Fatal(err)
	}
	if err := d.TryUpdate(t, 1); !errors.Is(err, eventlog.ErrAppendOnly) {
		t.Errorf("update: %v, want ErrAppendOnly", err)
	}
	if err := d.TryDelete(t, 1); !errors.Is(err, eventlog.ErrAppendOnly) {
		t.Errorf("delete: %v, want ErrAppendOnly", err)
	}
}

func TestOpenRefusesBadPath(t *testing.T) {
	for _, p := range []string{"", "a?b", "a#b"} {
		if _, err := sqlite.Open(context.Background(), p, eventlog.Options{}); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestMigrationsAreRecordedOnce(t *testing.T) {
	d := newDB(t).(*db)
	d.Open(t, eventlog.Options{})
	d.Open(t, eventlog.Options{}) // reopening applies nothing twice
	conn, err := sql.Open("sqlite", d.path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	files, err := filepath.Glob("migrations/*.up.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	var n int
	if err := conn.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(files) {
		t.Errorf("schema_migrations rows = %d, %v; want %d", n, err, len(files))
	}
	var mode string
	if err := conn.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode = %q, %v", mode, err)
	}
}

// The multi-process test re-executes the test binary as child appenders.
const (
	childEnv   = "ARTSTORE_EVENTLOG_CHILD_DB"
	childIDEnv = "ARTSTORE_EVENTLOG_CHILD_ID"
	childN     = 25
)

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(child(path, os.Getenv(childIDEnv)))
	}
	os.Exit(m.Run())
}

// child appends childN two-event batches, each computing the next version
// number inside AppendFunc.
func child(path, id string) int {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, eventlog.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	for i := 0; i < childN; i++ {
		aid := fmt.Sprintf("P%sI%d", id, i)
		_, err := s.AppendFunc(ctx, func(ctx context.Context, v eventlog.Views) ([]eventlog.NewEvent, error) {
			n, err := v.MaxVersionNumber(ctx, "mp")
			if err != nil {
				return nil, err
			}
			reg, err := eventlog.New("proc"+id, aid, &eventlog.ArtifactRegistered{ID: aid, Name: "mp", Version: strconv.FormatInt(n+1, 10),
				ContentDigest: eventlogtest.Digest(aid), ManifestDigest: eventlogtest.Digest(aid), Tags: []string{"latest"}})
			if err != nil {
				return nil, err
			}
			ret, err := eventlog.New("proc"+id, aid, &eventlog.ArtifactRetrieved{ArtifactID: aid, Bytes: 1})
			return []eventlog.NewEvent{reg, ret}, err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func TestSeveralProcessesAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes; skipped with -short")
	}
	d := newDB(t).(*db)
	s := d.Open(t, eventlog.Options{}) // creates the schema first
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^$")
		cmds[i].Env = append(os.Environ(), childEnv+"="+d.path, childIDEnv+"="+strconv.Itoa(i))
		cmds[i].Stderr = os.Stderr
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("child %d: %v", i, err)
		}
	}
	ctx := context.Background()
	rep, err := s.Verify(ctx, 1)
	if err != nil || rep.Checked != procs*childN*2 {
		t.Fatalf("verify = %+v, %v; want %d events", rep, err, procs*childN*2)
	}
	var prev eventlog.Event
	if err := s.Read(ctx, 0, func(e eventlog.Event) error {
		if e.Seq%2 == 0 && (e.Subject != prev.Subject || e.Type != eventlog.TypeArtifactRetrieved) {
			return fmt.Errorf("batch split at seq %d", e.Seq)
		}
		prev = e
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.MaxVersionNumber(ctx, "mp"); err != nil || n != procs*childN {
		t.Errorf("versions up to %d, %v; want %d", n, err, procs*childN)
	}
	var live, rebuilt strings.Builder
	if err := s.ViewDump(ctx, &live); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.ViewDump(ctx, &rebuilt); err != nil {
		t.Fatal(err)
	}
	if live.String() != rebuilt.String() {
		t.Error("rebuilt views differ after multi-process appends")
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
	indexes := func() string {
		conn, err := sql.Open("sqlite", d.path)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var got string
		if err := conn.QueryRow(`SELECT group_concat(name || ':' || sql, ';') FROM (SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name)`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	before := indexes()
	if !strings.Contains(before, "labels_kv") || !strings.Contains(before, "lineage_parent") {
		t.Fatalf("indexes before rebuild: %s", before)
	}
	if _, err := s.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := indexes(); after != before {
		t.Errorf("indexes after rebuild:\n%s\nbefore:\n%s", after, before)
	}
}

// TestReadPool checks the read connections: more concurrent readers than
// connections all get served, and a reader whose context is cancelled
// leaves the pool usable.
func TestReadPool(t *testing.T) {
	s := newDB(t).Open(t, eventlog.Options{})
	ctx := context.Background()
	eventlogtest.History(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 30 {
				if a, err := s.ArtifactByVersion(ctx, "build/app", "1"); err != nil || a.ID != "BIN1" {
					errs <- fmt.Errorf("read = %s, %v", a.ID, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for range 5 {
		if _, err := s.Artifact(cancelled, "BIN1"); err == nil {
			t.Fatal("read with a cancelled context succeeded")
		}
	}
	for range 10 {
		if h, err := s.Head(ctx); err != nil || h.Seq != 20 {
			t.Fatalf("head after cancelled reads = %+v, %v", h, err)
		}
	}
}

// TestFailedRebuildEndsItsRead checks that a rebuild failing early in a log
// of several pages ends the goroutine and the read transaction it reads the
// log in: after more failures than the read pool has connections, reads
// are still served.
func TestFailedRebuildEndsItsRead(t *testing.T) {
	const probe = "test.sqlite.probe.v1"
	d := newDB(t)
	noop := func(json.RawMessage) (eventlog.Payload, error) { return &eventlog.BlobsCollected{}, nil }
	s := d.Open(t, eventlog.Options{Types: eventlog.DefaultTypes().With(probe, noop)})
	ctx := context.Background()
	if _, err := s.Append(ctx, []eventlog.NewEvent{{Actor: "a", Type: probe, Payload: json.RawMessage(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	eventlogtest.Fill(t, s, 4500, 500) // five pages after the probe's
	bad := func(json.RawMessage) (eventlog.Payload, error) {
		return &eventlog.TagMoved{Name: "x", Tag: "t", ArtifactID: "Z"}, nil
	}
	replay := d.Open(t, eventlog.Options{Types: eventlog.DefaultTypes().With(probe, bad)})
	timeout, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var before int
	for i := range 2*runtime.GOMAXPROCS(0) + 2 {
		if i == 1 {
			before = runtime.NumGoroutine() // the connections are open
		}
		if _, err := replay.Rebuild(timeout); !errors.Is(err, eventlog.ErrProjection) {
			t.Fatalf("rebuild: %v, want ErrProjection", err)
		}
	}
	if h, err := replay.Head(timeout); err != nil || h.Seq != 4501 {
		t.Fatalf("head after failed rebuilds = %+v, %v", h, err)
	}
	// database/sql ends its context watchers asynchronously.
	for wait := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(wait) {
			t.Fatalf("%d goroutines after the failed rebuilds, %d before", runtime.NumGoroutine(), before)
		}
	}
}

func (d *db) ForgetTree(t testing.TB) {
	// Later migrations go too: the database is as it was before the tree.
	d.must(t, `DROP TABLE tree_nodes`, `DROP TABLE live_names`, `DROP INDEX events_subject`, `DELETE FROM schema_migrations WHERE version >= 2`)
}

func (d *db) RevertTree(t testing.TB, nodes map[int64][]byte) {
	t.Helper()
	d.must(t, eventlogtest.RevertTreeSQL(t, os.DirFS("migrations"), func(b []byte) string { return fmt.Sprintf("X'%x'", b) }, nodes)...)
}

func (d *db) ReplaceEvents(t testing.TB, from int64, rows []eventlog.StoredRow, nodes map[int64][]byte) {
	t.Helper()
	conn, err := sql.Open("sqlite", d.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, tr := range []string{"events_no_update", "events_no_delete", "tree_nodes_no_update", "tree_nodes_no_delete"} {
		exec("DROP TRIGGER " + tr)
	}
	exec(`DELETE FROM events WHERE seq >= ?`, from)
	for _, r := range rows {
		exec(`INSERT INTO events (seq, time_ns, actor, type, subject, body, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Seq, r.TimeNS, r.Actor, r.Type, r.Subject, r.Body, r.Prev, r.Hash)
	}
	if nodes != nil {
		exec(`DELETE FROM tree_nodes`)
		for seq, hs := range nodes {
			exec(`INSERT INTO tree_nodes (seq, hashes) VALUES (?, ?)`, seq, hs)
		}
	}
	for _, tr := range []string{"events_no_update BEFORE UPDATE ON events", "events_no_delete BEFORE DELETE ON events",
		"tree_nodes_no_update BEFORE UPDATE ON tree_nodes", "tree_nodes_no_delete BEFORE DELETE ON tree_nodes"} {
		exec("CREATE TRIGGER " + tr + " BEGIN SELECT RAISE(ABORT, 'append-only'); END")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
