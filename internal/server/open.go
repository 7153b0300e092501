package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
)

// IsPostgres reports whether a log location is a PostgreSQL DSN
// (postgres:// or postgresql://) rather than a SQLite file path.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// OpenLog opens the event log at dsn: a PostgreSQL DSN, or else the path of
// a SQLite file (its directory is created if missing).
func OpenLog(ctx context.Context, dsn string, opts eventlog.Options) (eventlog.Store, error) {
	if IsPostgres(dsn) {
		st, err := postgres.Open(ctx, dsn, opts)
		if err != nil {
			return nil, fmt.Errorf("open event log (PostgreSQL): %w", err)
		}
		return st, nil
	}
	if err := os.MkdirAll(filepath.Dir(dsn), 0o755); err != nil {
		return nil, fmt.Errorf("open event log %s: %w", dsn, err)
	}
	st, err := sqlite.Open(ctx, dsn, opts)
	if err != nil {
		return nil, fmt.Errorf("open event log %s: %w", dsn, err)
	}
	return st, nil
}
