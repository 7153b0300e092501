package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
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

// Config says what Open opens.
type Config struct {
	// Log is the event log: a PostgreSQL DSN or a SQLite file path.
	Log string
	// Backend holds the blobs; nil for commands that touch only the log
	// (tokens): their Service refuses to register or collect.
	Backend storage.Backend
	// ProtectedTags are tag patterns Tag never moves (tags.protected).
	ProtectedTags []string
	// Now is the clock of events and token expiry; nil means time.Now.
	Now func() time.Time
	// CheckpointKey is the path of the checkpoint signing key (see
	// Options.CheckpointKey).
	CheckpointKey string
}

// Open opens the event log cfg names and returns the Service over it and
// cfg.Backend; the daemon and the token command build everything below the
// HTTP layer with it. Close the Service when done.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	log, err := OpenLog(ctx, cfg.Log, eventlog.Options{Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	var blobs registry.BlobChecker = noBackend{}
	if cfg.Backend != nil {
		blobs = Checker(cfg.Backend)
	}
	reg := registry.New(log, blobs, cfg.Now)
	if err := reg.ProtectTags(cfg.ProtectedTags); err != nil {
		log.Close()
		return nil, err
	}
	s := New(reg, Options{Log: log, Backend: cfg.Backend, Now: cfg.Now, CheckpointKey: cfg.CheckpointKey})
	s.closeLog = log.Close
	return s, nil
}

// Checker returns the registry.BlobChecker of a Service over b: a
// parallel Head per digest on b.
func Checker(b storage.Backend) registry.BlobChecker { return checker{b} }

type checker struct{ b storage.Backend }

func (c checker) Missing(ctx context.Context, ds []content.Digest) ([]content.Digest, error) {
	return storage.Missing(ctx, c.b, ds)
}

func (c checker) Get(ctx context.Context, d content.Digest, rng *content.Range) (io.ReadCloser, error) {
	return c.b.Get(ctx, d, rng)
}

// noBackend is the blob checker of a Service opened without a backend.
type noBackend struct{}

func (noBackend) Missing(context.Context, []content.Digest) ([]content.Digest, error) {
	return nil, errNoBackend
}

func (noBackend) Get(context.Context, content.Digest, *content.Range) (io.ReadCloser, error) {
	return nil, errNoBackend
}

var errNoBackend = fmt.Errorf("%w: no blob backend was opened for this command", storage.ErrUnavailable)

// Close closes the event log Open opened (nothing for a Service from New).
func (s *Service) Close() error {
	if s.closeLog == nil {
		return nil
	}
	return s.closeLog()
}
