// Package sqlite is the embedded event log store: one SQLite database file
// (pure-Go driver modernc.org/sqlite, no cgo) in WAL mode.
//
// Several processes may open the same file. Appends take SQLite's write lock
// with BEGIN IMMEDIATE, so they are serialised across processes; a writer
// waits up to the busy timeout (10 s) for another to finish before failing
// with eventlog.ErrBusy. Readers never block writers (WAL).
//
// Within a process, writes go through a pool of one connection and reads
// through a separate read-only pool.
package sqlite

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlstore"
)

//go:embed migrations/*.up.sql
var migrations embed.FS

// busyTimeoutMS is how long a writer waits for another process's write
// transaction before giving up.
const busyTimeoutMS = 10000

// cacheKiB is each connection's page cache size limit (SQLite's default
// is 2 MiB, too small to keep the indexes of a large registry hot).
const cacheKiB = -32768

// Store is a SQLite event log store.
type Store struct {
	*sqlstore.Store
	drv *driver
}

var _ eventlog.Store = (*Store)(nil)

// Open opens (creating if needed) the store in the database file at path
// and applies pending migrations.
func Open(ctx context.Context, path string, opts eventlog.Options) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open event log: database path %q must be non-empty and contain no '?' or '#'", path)
	}
	// temp_store(MEMORY) on the write connection keeps statement journals
	// (the undo log of one multi-row statement inside a transaction) in
	// memory instead of temporary files: they are never needed after a
	// crash (the whole transaction is then rolled back from the WAL), and
	// writing them cost a write(2) per page.
	params := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=cache_size(%d)", busyTimeoutMS, cacheKiB)
	w, err := sql.Open("sqlite", path+"?"+params+"&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open event log %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", path+"?"+params+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open event log %s: %w", path, err)
	}
	n := max(2, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	d := &driver{w: w, r: r, idle: make(chan *readConn, n), slots: make(chan struct{}, n)}
	for range n {
		d.slots <- struct{}{}
	}
	if err := w.PingContext(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("open event log %s: %w", path, d.WrapError(err))
	}
	s, err := sqlstore.New(ctx, d, opts)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("open event log %s: %w", path, err)
	}
	return &Store{Store: s, drv: d}, nil
}

type driver struct {
	w, r *sql.DB

	// Read connections are checked out of r for good and kept, each with
	// its own prepared statements, in idle; slots holds a token for each
	// connection that may still be opened.
	idle  chan *readConn
	slots chan struct{}
}

// readConn is a read connection and the statements prepared on it.
type readConn struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

// maxStmtsPerConn bounds each read connection's statement cache (queries
// with IN lists differ by their number of placeholders).
const maxStmtsPerConn = 256

func (d *driver) Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return sub
}

func (d *driver) EmptyTable(table string) string { return "DELETE FROM " + table }

// MergesIntersect implements sqlstore.IntersectMerger: SQLite runs an
// INTERSECT with ORDER BY as a merge of co-routines, and an outer query
// ordered the same way reads it without sorting.
func (d *driver) MergesIntersect() bool { return true }

func (d *driver) IndexesQuery(n int) string {
	return `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (` +
		sqlstore.Placeholders(1, n) + `) ORDER BY name`
}

func (d *driver) Close() error {
	var errs []error
	for len(d.idle) > 0 {
		errs = append(errs, (<-d.idle).close())
	}
	return errors.Join(append(errs, d.w.Close(), d.r.Close())...)
}

func (rc *readConn) close() error {
	for _, st := range rc.stmts {
		st.Close()
	}
	return rc.conn.Close()
}

// discard closes rc and makes database/sql drop the underlying connection
// rather than pool it with a transaction possibly still open.
func (rc *readConn) discard() {
	for _, st := range rc.stmts {
		st.Close()
	}
	rc.stmts = nil
	_ = rc.conn.Raw(func(any) error { return sqldriver.ErrBadConn })
	rc.conn.Close()
}

func (d *driver) BeginWrite(ctx context.Context) (sqlstore.Tx, error) {
	tx, err := d.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return nil, err
	}
	return &sqlTx{tx: tx, stmts: map[string]*sql.Stmt{}}, nil
}

// BeginRead takes an idle read connection (or opens one while fewer than
// the pool size exist) and starts a deferred transaction on it: a WAL
// snapshot. Statements are prepared on that connection and kept, so each
// reader only ever uses its own connection (it never waits for a second
// one while holding the first).
func (d *driver) BeginRead(ctx context.Context) (sqlstore.Tx, error) {
	var rc *readConn
	select {
	case rc = <-d.idle:
	default:
		select {
		case rc = <-d.idle:
		case <-d.slots:
			c, err := d.r.Conn(ctx)
			if err != nil {
				d.slots <- struct{}{}
				return nil, err
			}
			rc = &readConn{conn: c, stmts: map[string]*sql.Stmt{}}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	t := &readTx{d: d, rc: rc}
	if _, err := rc.conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.end(err)
		return nil, err
	}
	return t, nil
}

// readTx is a read transaction on a readConn.
type readTx struct {
	d    *driver
	rc   *readConn
	done bool
}

// end returns the connection to the idle set, or discards it after an
// error (it may be in an unknown state).
func (t *readTx) end(err error) {
	if t.done {
		return
	}
	t.done = true
	if err != nil {
		t.rc.discard()
		t.d.slots <- struct{}{}
		return
	}
	t.d.idle <- t.rc
}

func (t *readTx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	st, ok := t.rc.stmts[q]
	if !ok {
		if len(t.rc.stmts) >= maxStmtsPerConn {
			return t.rc.conn.QueryContext(ctx, positional(q), args...)
		}
		var err error
		if st, err = t.rc.conn.PrepareContext(ctx, positional(q)); err != nil {
			return nil, err
		}
		t.rc.stmts[q] = st
	}
	return st.QueryContext(ctx, args...)
}

func (t *readTx) Exec(context.Context, string, ...any) error {
	return errors.New("sqlite: write in a read transaction")
}

func (t *readTx) ExecOne(context.Context, string, string, ...any) error {
	return errors.New("sqlite: write in a read transaction")
}

func (t *readTx) Script(context.Context, string) error {
	return errors.New("sqlite: write in a read transaction")
}

func (t *readTx) Commit(ctx context.Context) error {
	if t.done {
		return sql.ErrTxDone
	}
	_, err := t.rc.conn.ExecContext(ctx, "COMMIT")
	t.end(err)
	return err
}

func (t *readTx) Rollback(ctx context.Context) error {
	if t.done {
		return nil
	}
	// Roll back even when ctx is done: this is the cleanup path.
	_, err := t.rc.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	t.end(err)
	return err
}

// WrapError maps SQLite result codes to eventlog sentinels.
func (d *driver) WrapError(err error) error { return WrapError(err) }

// WrapError maps SQLite result codes to eventlog sentinels: unique and
// primary-key violations to ErrConflict, the append-only triggers to
// ErrAppendOnly, BUSY/LOCKED to ErrBusy. Other errors are returned as they
// are; nil stays nil.
func WrapError(err error) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	switch code := se.Code(); {
	case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", eventlog.ErrConflict, err)
	case code == sqlite3.SQLITE_CONSTRAINT_TRIGGER:
		return fmt.Errorf("%w: %w", eventlog.ErrAppendOnly, err)
	case code&0xff == sqlite3.SQLITE_BUSY || code&0xff == sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: %w", eventlog.ErrBusy, err)
	}
	return err
}

// sqlTx adapts *sql.Tx, caching prepared statements for the transaction
// (appends and rebuilds run the same few statements many times).
type sqlTx struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (t *sqlTx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.stmts[q]; ok {
		return st, nil
	}
	st, err := t.tx.PrepareContext(ctx, positional(q))
	if err != nil {
		return nil, err
	}
	t.stmts[q] = st
	return st, nil
}

func (t *sqlTx) exec(ctx context.Context, q string, args []any) (sql.Result, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *sqlTx) Exec(ctx context.Context, q string, args ...any) error {
	_, err := t.exec(ctx, q, args)
	return err
}

func (t *sqlTx) ExecOne(ctx context.Context, what, q string, args ...any) error {
	res, err := t.exec(ctx, q, args)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("%w: %s", eventlog.ErrProjection, what)
	}
	return nil
}

func (t *sqlTx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (t *sqlTx) Script(ctx context.Context, q string) error {
	_, err := t.tx.ExecContext(ctx, q)
	return err
}

func (t *sqlTx) Commit(context.Context) error { return t.tx.Commit() }

func (t *sqlTx) Rollback(context.Context) error {
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}

// positional returns q with its parameters $1, $2, ... written as plain
// "?" when they appear exactly in that order, each once, and q unchanged
// otherwise. SQLite treats "$1" as a named parameter, and binding the n
// named parameters of a statement costs time quadratic in n (each
// sqlite3_bind_parameter_name call scans the statement's list of names);
// "?" parameters have no names. Quoted strings and identifiers are skipped.
func positional(q string) string {
	var b strings.Builder
	next := 1
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 {
				return q
			}
			b.WriteString(q[i : i+end+2])
			i += end + 1
		case c == '$' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if q[i+1:j] != strconv.Itoa(next) {
				return q
			}
			next++
			b.WriteByte('?')
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
