package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/internal/storeid"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// Local store layout and defaults.
const (
	// LogFileName is the SQLite event log inside a local store directory.
	LogFileName = "artstore.db"
	// DefaultBlobDir is the directory, inside the store directory, of the
	// local backend used when LocalOptions.Backend is zero.
	DefaultBlobDir = "blobs"
	// DefaultBackendID is the ID of that default backend.
	DefaultBackendID = "default"
	// HoldName is the name of the legal hold Hold places and Release
	// releases (api.HoldName).
	HoldName = api.HoldName
	// TreeMediaType is the media type of every directory (tree) artifact
	// (api.TreeMediaType).
	TreeMediaType = api.TreeMediaType
	// retrievalClient names local mode in retrieval records.
	retrievalClient = "artstore (local)"
)

// BackendConfig describes one backend: its ID, its Type ("local" or "s3")
// and the settings that type uses ("local": Root; "s3": Bucket and the
// rest, see docs/configuration.md). It is the storage layer's own
// specification, so every setting artstore's configuration file accepts
// reaches the backend a Go program opens.
type BackendConfig = backends.Spec

// LocalOptions configure OpenLocal.
type LocalOptions struct {
	// Dir is the store directory; the SQLite log is Dir/artstore.db.
	// It is created if missing.
	Dir string
	// Backend holds the blobs. The zero value means a local backend
	// {ID: "default", Type: "local", Root: Dir/blobs}.
	Backend BackendConfig
	// Actor is recorded on every event; empty means "$USER@$HOSTNAME".
	Actor string
	// RetrievalRecords appends a retrieval record on every pull.
	RetrievalRecords bool
	// Concurrency is the transfer parallelism (chunk uploads and
	// downloads in flight); 0 means the pipeline's default.
	Concurrency int
	// Now is the clock for events; nil means time.Now. Tests move it.
	Now func() time.Time
	// ProtectedTags are patterns (path.Match syntax, e.g. "v*") of tags
	// that, once set, Tag never moves (ErrConflict).
	ProtectedTags []string
	// CheckpointKey is the path of the key the store signs checkpoints
	// with, created (mode 0600) at first use; empty means
	// Dir/checkpoint.key.
	CheckpointKey string
}

// Local is the local-mode Store: it runs the registry in process over the
// SQLite event log in the store directory and talks to the blob backend
// directly. It is safe for concurrent use, and several processes may open
// the same store at once (the log serialises appends).
type Local struct {
	dir         string
	log         eventlog.Store
	reg         *registry.Registry
	backend     storage.Backend
	backendType string
	blobs       transfer.BlobStore
	actor       string
	retrievals  bool
	concurrency int
	now         func() time.Time
	// retry governs the transfer pipeline's retries (zero: its defaults).
	retry transfer.RetryPolicy
	// svc runs every use case; self is the one principal local mode acts
	// as (no name prefix).
	svc  *app.Service
	self app.Principal
	// treeSchema is the tree layout pushes write (transfer.PushOptions.
	// TreeSchema; zero: the default); tests set the per-file layout to
	// check that trees stored in it keep working.
	treeSchema int
	// storeID names the store and its backend for the tree cache's key.
	storeID string
	// treeCacheNow is the tree cache's clock (transfer.TreeCache.Now;
	// nil: time.Now); tests move it ahead so just-written files count as
	// old enough to cache.
	treeCacheNow func() time.Time
}

var _ Store = (*Local)(nil)

// OpenLocal opens (creating if needed) the local store in opts.Dir. Close
// it when done.
func OpenLocal(ctx context.Context, opts LocalOptions) (*Local, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("open local store: %w: no store directory given", ErrInvalid)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, mapErr(fmt.Errorf("open local store: create %s: %w", opts.Dir, err))
	}
	bc := opts.Backend
	if bc == (BackendConfig{}) {
		bc = BackendConfig{ID: DefaultBackendID, Type: backends.TypeLocal, Root: filepath.Join(opts.Dir, DefaultBlobDir)}
	}
	if bc.ID == "" {
		bc.ID = DefaultBackendID
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	actor := opts.Actor
	if actor == "" {
		actor = DefaultActor(os.Getenv)
	}
	be, err := backends.Open(ctx, bc)
	if err != nil {
		return nil, mapErr(fmt.Errorf("open local store %s: backend %s: %w", opts.Dir, bc.ID, err))
	}
	logPath := filepath.Join(opts.Dir, LogFileName)
	if err := checkBelongs(ctx, be, logPath); err != nil {
		return nil, mapErr(fmt.Errorf("open local store %s: %w", opts.Dir, err))
	}
	log, err := sqlite.Open(ctx, logPath, eventlog.Options{Now: now})
	if err != nil {
		return nil, mapErr(fmt.Errorf("open local store %s: %w", opts.Dir, err))
	}
	if err := claim(ctx, be, log, logPath, now()); err != nil {
		log.Close()
		return nil, mapErr(fmt.Errorf("open local store %s: %w", opts.Dir, err))
	}
	keyPath := opts.CheckpointKey
	if keyPath == "" {
		keyPath = filepath.Join(opts.Dir, app.CheckpointKeyFile)
	}
	blobs := transfer.FromBackend(be)
	reg := registry.New(log, blobs, now)
	if err := reg.ProtectTags(opts.ProtectedTags); err != nil {
		log.Close()
		return nil, mapErr(err)
	}
	return &Local{
		dir:         opts.Dir,
		log:         log,
		reg:         reg,
		backend:     be,
		backendType: bc.Type,
		blobs:       blobs,
		actor:       actor,
		retrievals:  opts.RetrievalRecords,
		concurrency: opts.Concurrency,
		now:         now,
		storeID:     localStoreID(opts.Dir, bc),
		svc:         app.New(reg, app.Options{Log: log, Backend: be, CheckpointKey: keyPath}),
		self:        app.Principal{Actor: actor, Client: retrievalClient},
	}, nil
}

// localStoreID names a local store and its backend (kind and location,
// never a credential) for the tree cache's key.
func localStoreID(dir string, bc BackendConfig) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return strings.Join([]string{"local", dir, bc.ID, bc.Type, bc.Root, bc.Endpoint, bc.Bucket, bc.Prefix}, "\x00")
}

// Dir returns the store directory.
func (l *Local) Dir() string { return l.dir }

// Actor returns the name recorded as the actor of this store's events.
func (l *Local) Actor() string { return l.actor }

// Close closes the event log. The Store must not be used afterwards.
func (l *Local) Close() error {
	if err := l.log.Close(); err != nil {
		return fmt.Errorf("close local store %s: %w", l.dir, err)
	}
	return nil
}

// Backend returns the configuration the store's blob backend runs with:
// what LocalOptions.Backend asked for, with its defaults filled in
// (credentials included; never print them).
func (l *Local) Backend() BackendConfig {
	spec, _ := backends.SpecOf(l.backend)
	return spec
}

// Health reports the health of the store's backend.
func (l *Local) Health(ctx context.Context) ([]BackendHealth, error) {
	h := l.backend.Health(ctx)
	return []BackendHealth{{
		ID: l.backend.ID(), Type: l.backendType, Healthy: h.Healthy, Detail: h.Detail,
		TotalBytes: h.TotalBytes, UsedBytes: h.UsedBytes, FreeBytes: h.FreeBytes,
	}}, nil
}

// useServer is the advice for a local command on a store that belongs to
// a log it cannot open.
const useServer = "local commands use the SQLite log in the store directory; " +
	"run this command against the daemon that owns the store instead (--server URL / ARTSTORE_SERVER)"

// checkBelongs refuses, before the SQLite log at logPath is opened (and
// so created), a backend whose marker names a log of another kind (a
// daemon's PostgreSQL log), and, when there is no log file yet, a backend
// whose blobs another log claimed or no log claimed: a new, empty log
// would take every one of them for garbage.
func checkBelongs(ctx context.Context, be storage.Backend, logPath string) error {
	m, ok, err := storeid.Read(ctx, be)
	if err != nil {
		return err
	}
	if ok && m.Log.Kind != storeid.KindSQLite && m.Log.Kind != "" {
		return fmt.Errorf("backend %s belongs to %s: %s: %w", be.ID(), m.Log, useServer, storeid.ErrForeignLog)
	}
	if _, err := os.Stat(logPath); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	// Check against a log with no location: whatever the marker says, a
	// new, empty log never sees blobs it did not write.
	if err := storeid.Check(ctx, be, storeid.Log{Kind: storeid.KindSQLite}); err != nil {
		return fmt.Errorf("refusing to create an empty event log: %w; %s; if this store's own log file was moved or lost, put it back as %s (or restore it from a backup)",
			err, useServer, logPath)
	}
	return nil
}

// claim records in the backend that it belongs to the SQLite log at
// logPath (storeid.Claim). A backend claimed by another log is refused;
// failing to write the marker (a read-only store) is not an error: gc
// refuses to sweep an unmarked backend anyway.
func claim(ctx context.Context, be storage.Backend, log eventlog.Store, logPath string, now time.Time) error {
	self, err := storeid.LogOf(ctx, log, storeid.KindSQLite, logPath)
	if err != nil {
		return err
	}
	err = storeid.Claim(ctx, be, self, now)
	if errors.Is(err, storeid.ErrForeignLog) || errors.Is(err, storeid.ErrUnclaimed) {
		return fmt.Errorf("%w; %s", err, useServer)
	}
	return nil
}
