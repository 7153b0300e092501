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
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
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
	params := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=cache_size(%d)", busyTimeoutMS, cacheKiB)
	w, err := sql.Open("sqlite", path+"?"+params+"&_txlock=immediate")
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
	d := &driver{w: w, r: r}
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
}

func (d *driver) Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return sub
}

func (d *driver) EmptyTable(table string) string { return "DELETE FROM " + table }

func (d *driver) IndexesQuery(n int) string {
	return `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (` +
		sqlstore.Placeholders(1, n) + `) ORDER BY name`
}

func (d *driver) Close() error {
	return errors.Join(d.w.Close(), d.r.Close())
}

func (d *driver) BeginWrite(ctx context.Context) (sqlstore.Tx, error) {
	tx, err := d.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return nil, err
	}
	return &sqlTx{tx: tx, stmts: map[string]*sql.Stmt{}}, nil
}

func (d *driver) BeginRead(ctx context.Context) (sqlstore.Tx, error) {
	tx, err := d.r.BeginTx(ctx, nil) // deferred BEGIN: a WAL snapshot
	if err != nil {
		return nil, err
	}
	return &sqlTx{tx: tx}, nil
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
//
// Read transactions do not prepare: a statement cache shared across the read
// pool would have to prepare on a connection other than the transaction's,
// which deadlocks once every pool connection is held by a reader waiting to
// prepare.
type sqlTx struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // nil: do not prepare (read transactions)
}

func (t *sqlTx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.stmts[q]; ok {
		return st, nil
	}
	st, err := t.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	t.stmts[q] = st
	return st, nil
}

func (t *sqlTx) exec(ctx context.Context, q string, args []any) (sql.Result, error) {
	if t.stmts == nil {
		return t.tx.ExecContext(ctx, q, args...)
	}
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
	if t.stmts == nil {
		return t.tx.QueryContext(ctx, q, args...)
	}
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
