// Package postgres is the shared event log store for daemons: PostgreSQL
// through a pgx/v5 connection pool.
//
// Several daemons may share one database. Appends are serialised by a
// transaction-scoped advisory lock (pg_advisory_xact_lock) keyed by the
// schema the log lives in; statements after the lock run at READ COMMITTED
// and so see every earlier append. Reads use REPEATABLE READ, READ ONLY
// transactions: one snapshot, never blocking writers.
//
// The schema is the first one of the connection's search_path; put
// "search_path=myschema" in the DSN to keep a log in its own schema.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlstore"
)

//go:embed migrations/*.up.sql
var migrations embed.FS

// maxQueued is how many statements an append queues before sending them.
const maxQueued = 512

// Store is a PostgreSQL event log store.
type Store struct {
	*sqlstore.Store
}

var _ eventlog.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string; pool settings such as pool_max_conns are accepted), applies
// pending migrations and returns the store. Listings are bounded by
// opts.QueryTimeout (default DefaultQueryTimeout).
func Open(ctx context.Context, dsn string, opts eventlog.Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open event log: parse PostgreSQL DSN: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open event log: connect to PostgreSQL %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, WrapError(err))
	}
	d := &driver{pool: pool, queryTimeout: DefaultQueryTimeout}
	if opts.QueryTimeout > 0 {
		d.queryTimeout = max(opts.QueryTimeout, time.Millisecond) // 0 would mean no timeout
	}
	s, err := sqlstore.New(ctx, d, opts)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open event log: %w", err)
	}
	return &Store{Store: s}, nil
}

type driver struct {
	pool *pgxpool.Pool
	// queryTimeout bounds a listing query (LimitQuery).
	queryTimeout time.Duration
}

// DefaultQueryTimeout is how long a listing query may run on the server.
// A listing a person asks for takes milliseconds even over millions of
// artifacts; one that runs this long is refused rather than left holding
// a connection of the pool.
const DefaultQueryTimeout = 15 * time.Second

func (d *driver) Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return sub
}

func (d *driver) EmptyTable(table string) string { return "TRUNCATE " + table }

// ByteOrder implements sqlstore.ByteOrderer: the "C" collation compares
// bytes; migration 0003 indexes artifacts (name COLLATE "C") for it.
func (d *driver) ByteOrder(column string) string { return column + ` COLLATE "C"` }

func (d *driver) IndexesQuery(n int) string {
	return `SELECT i.indexname, i.indexdef FROM pg_indexes i
		WHERE i.schemaname = current_schema() AND i.tablename IN (` + sqlstore.Placeholders(1, n) + `)
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.connamespace = current_schema()::regnamespace)
		ORDER BY i.indexname`
}

func (d *driver) Close() error {
	d.pool.Close()
	return nil
}

func (d *driver) BeginWrite(ctx context.Context) (sqlstore.Tx, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('artstore.eventlog.' || current_schema()))`); err != nil {
		_ = tx.Rollback(ctx)
		return nil, fmt.Errorf("lock the log: %w", err)
	}
	return &pgTx{tx: tx}, nil
}

func (d *driver) BeginRead(ctx context.Context) (sqlstore.Tx, error) {
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	return &pgTx{tx: tx}, nil
}

func (d *driver) WrapError(err error) error { return WrapError(err) }

// LimitQuery bounds a listing query with a statement timeout local to its
// read transaction. Cancelling the request's context does not stop a
// statement PostgreSQL is already running; the timeout does.
func (d *driver) LimitQuery(ctx context.Context, tx sqlstore.Tx) error {
	return tx.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", d.queryTimeout.Milliseconds()))
}

// QueryTimedOut reports whether err is a statement cancelled by its
// timeout (57014; in a read-only transaction no lock wait raises it).
func (d *driver) QueryTimedOut(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == codeQueryCanceledByLock
}

// PostgreSQL error codes WrapError maps.
const (
	codeUniqueViolation     = "23505"
	codeIntegrityViolation  = "23000" // raised by the append-only trigger
	codeSerialization       = "40001"
	codeDeadlock            = "40P01"
	codeLockNotAvailable    = "55P03"
	codeQueryCanceledByLock = "57014"
	codeAdminShutdown       = "57P01"
	codeCrashShutdown       = "57P02"
	codeCannotConnectNow    = "57P03"
	classConnection         = "08"
)

// connectionLost reports whether err, not a server error response, says
// the connection to the server failed or was never made. A cancelled
// context is the caller's doing and is not one.
func connectionLost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) || pgconn.SafeToRetry(err)
}

// WrapError maps PostgreSQL error codes to eventlog sentinels: unique
// violations to ErrConflict, the append-only trigger to ErrAppendOnly,
// serialisation failures, deadlocks and lock timeouts to ErrBusy, and a
// lost or refused connection (SQLSTATE class 08, 57P01-57P03 sent when the
// server shuts down or restarts, a connection cut mid-statement) to
// ErrUnavailable. Other errors are returned as they are; nil stays nil.
func WrapError(err error) error {
	if err == nil || errors.Is(err, eventlog.ErrUnavailable) {
		return err
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		if connectionLost(err) {
			return fmt.Errorf("%w: %w", eventlog.ErrUnavailable, err)
		}
		return err
	}
	if strings.HasPrefix(pe.Code, classConnection) {
		return fmt.Errorf("%w: %w", eventlog.ErrUnavailable, err)
	}
	switch pe.Code {
	case codeAdminShutdown, codeCrashShutdown, codeCannotConnectNow:
		return fmt.Errorf("%w: %w", eventlog.ErrUnavailable, err)
	case codeUniqueViolation:
		return fmt.Errorf("%w: %w", eventlog.ErrConflict, err)
	case codeIntegrityViolation:
		return fmt.Errorf("%w: %w", eventlog.ErrAppendOnly, err)
	case codeSerialization, codeDeadlock, codeLockNotAvailable, codeQueryCanceledByLock:
		return fmt.Errorf("%w: %w", eventlog.ErrBusy, err)
	}
	return err
}

// pgTx adapts pgx.Tx. Exec and ExecOne statements are queued and sent as one
// pipelined batch before the next Query, Script or Commit, so an append of
// many events costs a few round trips, not one per statement.
type pgTx struct {
	tx    pgx.Tx
	batch pgx.Batch
	whats []string // per queued statement: "" or the ExecOne description
}

func (t *pgTx) Exec(ctx context.Context, q string, args ...any) error {
	return t.ExecOne(ctx, "", q, args...)
}

func (t *pgTx) ExecOne(ctx context.Context, what, q string, args ...any) error {
	t.batch.Queue(q, args...)
	t.whats = append(t.whats, what)
	if len(t.whats) >= maxQueued {
		return t.flush(ctx)
	}
	return nil
}

func (t *pgTx) flush(ctx context.Context) (err error) {
	if len(t.whats) == 0 {
		return nil
	}
	whats, batch := t.whats, t.batch
	t.batch, t.whats = pgx.Batch{}, nil
	br := t.tx.SendBatch(ctx, &batch)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	for _, what := range whats {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if what != "" && tag.RowsAffected() != 1 {
			return fmt.Errorf("%w: %s", eventlog.ErrProjection, what)
		}
	}
	return nil
}

func (t *pgTx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rows}, nil
}

func (t *pgTx) Script(ctx context.Context, q string) error {
	if err := t.flush(ctx); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, q) // no arguments: simple protocol, several statements allowed
	return err
}

func (t *pgTx) Commit(ctx context.Context) error {
	if err := t.flush(ctx); err != nil {
		return err
	}
	return t.tx.Commit(ctx)
}

func (t *pgTx) Rollback(ctx context.Context) error {
	if err := t.tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return err
	}
	return nil
}

type pgRows struct{ pgx.Rows }

func (r pgRows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}
