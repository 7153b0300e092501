package postgres_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
)

// TestWrapErrorUnavailable: a connection the server terminated (a restart:
// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now),
// any class 08 connection exception and a connection cut mid-statement map
// to ErrUnavailable, which callers may retry; other errors do not.
func TestWrapErrorUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{
		{&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, eventlog.ErrUnavailable},
		{&pgconn.PgError{Code: "57P02"}, eventlog.ErrUnavailable},
		{&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, eventlog.ErrUnavailable},
		{&pgconn.PgError{Code: "08006"}, eventlog.ErrUnavailable},
		{&pgconn.PgError{Code: "08000"}, eventlog.ErrUnavailable},
		{fmt.Errorf("query: %w", io.ErrUnexpectedEOF), eventlog.ErrUnavailable},
		{&pgconn.PgError{Code: "23505"}, eventlog.ErrConflict},
		{&pgconn.PgError{Code: "40001"}, eventlog.ErrBusy},
	} {
		got := postgres.WrapError(fmt.Errorf("list: %w", c.err))
		if !errors.Is(got, c.want) {
			t.Errorf("WrapError(%v) = %v, want %v", c.err, got, c.want)
		}
		if !errors.Is(got, c.err) {
			t.Errorf("WrapError(%v) = %v lost the original error", c.err, got)
		}
	}
	for _, err := range []error{&pgconn.PgError{Code: "42601"}, errors.New("plain"), &pgconn.PgError{Code: "57014"}} {
		if got := postgres.WrapError(err); errors.Is(got, eventlog.ErrUnavailable) {
			t.Errorf("WrapError(%v) = %v, want not ErrUnavailable", err, got)
		}
	}
}
