// Package sqlstore is the database-independent half of artstore's SQL event
// log stores: appending and verifying the chain, the projector that applies
// events to the view tables, the view queries, rebuild, dump and migrations.
//
// A database package (internal/eventlog/sqlite, internal/eventlog/postgres)
// supplies a Driver: transactions, the serialisation of appends and the
// mapping of its error codes. All SQL here uses $N placeholders and only
// types and syntax both SQLite and PostgreSQL accept (BIGINT/INTEGER, TEXT,
// BLOB/BYTEA; no NULLs in views: absent values are 0 or the empty string).
package sqlstore

import (
	"context"
	"io/fs"
)

// Driver is one database's half of a store.
type Driver interface {
	// BeginWrite starts a transaction that excludes every other BeginWrite
	// on the same database, in this process or any other, until it ends.
	// Statements in it see every previously committed write.
	BeginWrite(ctx context.Context) (Tx, error)
	// BeginRead starts a transaction that sees one consistent snapshot and
	// does not block writers.
	BeginRead(ctx context.Context) (Tx, error)
	// WrapError maps the database's errors to eventlog sentinels (unique
	// violations to ErrConflict, trigger refusals to ErrAppendOnly, lock
	// timeouts to ErrBusy, a lost connection to ErrUnavailable) and
	// returns other errors unchanged. nil stays nil.
	WrapError(err error) error
	// EmptyTable returns the statement that removes every row of a view
	// table inside a transaction (PostgreSQL: TRUNCATE, which leaves no
	// dead rows behind; SQLite: DELETE).
	EmptyTable(table string) string
	// IndexesQuery returns a query listing (name, CREATE INDEX statement)
	// of the plain secondary indexes (not those backing primary keys or
	// unique constraints) of the n tables named by its parameters $1..$n.
	// Rebuild drops them before replaying and creates them again after.
	IndexesQuery(n int) string
	// Migrations returns the database's embedded migrations: files named
	// NNNN_name.up.sql at the root of the FS.
	Migrations() fs.FS
	// Close closes the driver's connections.
	Close() error
}

// IntersectMerger is implemented by a Driver whose database evaluates
//
//	(SELECT seq FROM labels WHERE ... INTERSECT SELECT seq FROM labels WHERE ... ORDER BY 1)
//
// in a FROM clause as a lazy merge of the ordered index ranges, so that the
// outer query's ORDER BY seq LIMIT n stops it early (SQLite does). Query
// then intersects two or more equality label selectors that way, instead of
// walking the first one's index and probing each row for the others.
type IntersectMerger interface {
	MergesIntersect() bool
}

// ByteOrderer is implemented by a Driver whose text comparisons do not
// follow byte order by default (PostgreSQL compares in the database's
// collation, in which '/' and '-' may weigh nothing): ByteOrder returns the
// column expression compared byte by byte, as an index of the database's
// migrations on the same expression serves it. Names relies on byte order
// to step over every name under a directory in one probe. Without it,
// columns compare in byte order already (SQLite's BINARY).
type ByteOrderer interface {
	ByteOrder(column string) string
}

// QueryLimiter is implemented by a Driver that can bound the database time
// of one listing query (Store.Query), so that an expensive listing cannot
// hold a database connection and its CPU for minutes: LimitQuery sets the
// bound inside the read transaction before the query runs, and
// QueryTimedOut reports whether a failed query ran into it.
type QueryLimiter interface {
	LimitQuery(ctx context.Context, tx Tx) error
	QueryTimedOut(err error) bool
}

// Tx is a database transaction.
type Tx interface {
	// Query runs a query returning rows. The rows must be closed before the
	// next statement on the transaction.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// Exec runs a statement. An implementation may defer its execution
	// until the next Query or Commit, and report its error there; the
	// caller must not modify args afterwards.
	Exec(ctx context.Context, query string, args ...any) error
	// ExecOne is Exec for a statement that must change exactly one row;
	// otherwise the statement (or the later Query/Commit) fails with an
	// error wrapping eventlog.ErrProjection and saying what.
	ExecOne(ctx context.Context, what string, query string, args ...any) error
	// Script runs a multi-statement SQL script (a migration) immediately.
	Script(ctx context.Context, sql string) error
	// Commit commits the transaction.
	Commit(ctx context.Context) error
	// Rollback aborts the transaction; after Commit it does nothing.
	Rollback(ctx context.Context) error
}

// Rows iterates over a query's result, like database/sql.Rows.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}
