// Package serve implements `artstore serve`, the daemon.
package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/outpath"
	"github.com/artifact-store/artstore/internal/server"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/internal/storeid"
	"github.com/artifact-store/artstore/pkg/client"
)

// DefaultListen is the default listen address: loopback only, so a daemon
// is never exposed by accident.
const DefaultListen = "127.0.0.1:8787"

// EnvBootstrapToken names the variable holding the first admin token.
const EnvBootstrapToken = "ARTSTORE_BOOTSTRAP_TOKEN"

// Options are the inputs of `artstore serve`.
type Options struct {
	IO        *iostreams.IOStreams
	Config    func() (*config.Config, error)
	LookupEnv func(string) (string, bool)

	Listen    string
	Log       string
	TLSCert   string
	TLSKey    string
	ReadyFile string
	MaxBody   string
	LogFormat string
	Drain     time.Duration
	// ProxyBlobs turns direct transfers off (--proxy-blobs).
	ProxyBlobs bool
	// Schedule is the periodic maintenance (--retention-interval,
	// --gc-interval, --gc-grace).
	Schedule server.Schedule
	// OCI configures /v2/ (--oci, --oci-anonymous-pull, --oci-upload-dir,
	// --oci-upload-expiry).
	OCI              bool
	OCIAnonymousPull bool
	OCIUploadDir     string
	OCIUploadExpiry  time.Duration
	// FlagChanged reports whether a flag was given on the command line;
	// settings whose flag was not given come from the config file's
	// serve: section when it has them. Nil means no flag was given.
	FlagChanged func(name string) bool
}

// NewCmdServe returns the command. runF, if not nil, replaces the run function.
func NewCmdServe(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, LookupEnv: f.LookupEnv}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the artstore daemon (HTTP API)",
		Long: `Run the daemon: the registry's HTTP API (docs/http-api.md) over one event
log and one storage backend, for clients that set --server / ARTSTORE_SERVER
and ARTSTORE_TOKEN.

The log is a SQLite file (default: artstore.db in the store directory) for a
single node, or a PostgreSQL database (--log postgres://...) that several
daemons may share, together with one S3 bucket, to scale past one machine.

Every request needs a bearer token (except /health, /ready and /metrics).
On the first start with no token in the log, an admin token is created:
from $ARTSTORE_BOOTSTRAP_TOKEN when set, else a generated one written to
bootstrap-token in the store directory (mode 0600; the path is logged, never
the secret). Create more with 'artstore token create'.

Once listening, serve prints "artstore: listening on URL" on stderr and, with
--ready-file, writes the URL to that file (atomically), so scripts can wait
for it; a named pipe there is written in place (mkfifo r; artstore serve
--ready-file r & read url < r), and a symbolic link is written through;
--listen with port 0 picks a free port. SIGINT or SIGTERM stops it
gracefully: the listener closes, in-flight requests finish (up to --drain),
and the daemon exits 0. Request logs go to stderr, one line per request.
A start that fails (a bad flag, an address in use, an unreachable log)
leaves no new store directory behind: what it created is removed.

The blob backend is the default backend of the configuration, or the one
the global --backend flag names. On start, serve records in the backend
which log its blobs belong to (the store marker artstore-store.json beside
the blobs), and refuses (exit 5) a backend that another log has claimed, or
one that holds blobs while its own log has no event. Check and collect a
daemon's store through the daemon (artstore --server URL verify --all,
artstore --server URL gc): local commands on its store directory refuse a
store whose log is in PostgreSQL. Every flag but --ready-file can also be set
in the config file's serve: section (docs/configuration.md); a flag given on
the command line wins.

Direct transfers: when the backend can presign requests (S3) and its server
proves, at start, that it refuses a presigned upload whose bytes do not match
the signed SHA-256, clients move blob bytes straight to and from the bucket
on short-lived URLs the daemon hands out after its usual checks (token,
prefix, retrieval record); the daemon moves none. --proxy-blobs turns that
off, as does a backend that cannot presign (a local directory): every byte
then goes through the daemon.

Maintenance is off by default: --retention-interval applies retention
(artstore retention apply) and --gc-interval collects garbage (artstore gc,
keeping blobs written within --gc-grace) on a schedule, each logged with
what it deleted; their events carry the actor artstore-serve.`,
		Example: `  $ artstore serve
  artstore: listening on http://127.0.0.1:8787

  # shared PostgreSQL log, all interfaces, TLS
  $ artstore serve --listen :8443 --log postgres://artstore@db/artstore \
      --backend s3main --tls-cert cert.pem --tls-key key.pem

  # apply retention hourly, collect garbage daily
  $ artstore serve --retention-interval 1h --gc-interval 24h

  # tests: a free port, its URL in a file
  $ artstore serve --listen 127.0.0.1:0 --ready-file ready.txt &`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.FlagChanged = cmd.Flags().Changed
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Listen, "listen", DefaultListen, "listen on `ADDR` (host:port; port 0 picks a free one)")
	fl.StringVar(&opts.Log, "log", "", "event log: a PostgreSQL `DSN` (postgres://...) or a SQLite file (default: artstore.db in the store)")
	fl.StringVar(&opts.TLSCert, "tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM)")
	fl.StringVar(&opts.TLSKey, "tls-key", "", "private key `FILE` (PEM) of --tls-cert")
	fl.StringVar(&opts.ReadyFile, "ready-file", "", "write the daemon's URL to `FILE` once it is listening")
	fl.StringVar(&opts.MaxBody, "max-body", "4MiB", "largest JSON request body, as a `SIZE`")
	fl.StringVar(&opts.LogFormat, "log-format", "text", "request log `FORMAT` on stderr: text or json")
	fl.DurationVar(&opts.Drain, "drain", 30*time.Second, "on shutdown, wait up to `DURATION` for in-flight requests")
	fl.BoolVar(&opts.ProxyBlobs, "proxy-blobs", false, "move every blob byte through the daemon, even when the backend can presign URLs")
	fl.DurationVar(&opts.Schedule.RetentionInterval, "retention-interval", 0, "apply retention every `DURATION` (0: never)")
	fl.DurationVar(&opts.Schedule.GCInterval, "gc-interval", 0, "collect garbage every `DURATION` (0: never)")
	fl.DurationVar(&opts.Schedule.GCGrace, "gc-grace", client.DefaultGCGrace, "scheduled gc keeps blobs written within `DURATION`")
	fl.BoolVar(&opts.OCI, "oci", true, "serve the OCI Distribution API under /v2/ (docs/oci.md)")
	fl.BoolVar(&opts.OCIAnonymousPull, "oci-anonymous-pull", false, "let /v2/ requests without credentials pull every repository")
	fl.StringVar(&opts.OCIUploadDir, "oci-upload-dir", "", "keep /v2/ upload sessions' bytes in `DIR` (default: the system's temporary directory)")
	fl.DurationVar(&opts.OCIUploadExpiry, "oci-upload-expiry", 24*time.Hour, "end /v2/ upload sessions idle for `DURATION` and delete their bytes")
	return cmd
}

// check validates the settings (flags, or flags merged with the file).
func (opts *Options) check() error {
	if opts.Schedule.RetentionInterval < 0 || opts.Schedule.GCInterval < 0 || opts.Schedule.GCGrace < 0 {
		return cmdutil.FlagErrorf("--retention-interval, --gc-interval and --gc-grace must not be negative")
	}
	if opts.OCIUploadExpiry < 0 {
		return cmdutil.FlagErrorf("--oci-upload-expiry must not be negative")
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return cmdutil.FlagErrorf("--tls-cert and --tls-key go together")
	}
	if opts.LogFormat != "text" && opts.LogFormat != "json" {
		return cmdutil.FlagErrorf("--log-format must be text or json, got %q", opts.LogFormat)
	}
	return nil
}

// applyFile takes each setting whose flag was not given from the config
// file's serve: section, where the file sets it. TLS certificate and key
// move together, so a --tls-cert flag never pairs with a file's key.
func (opts *Options) applyFile(s config.Serve) {
	given := func(field string) bool { return opts.FlagChanged != nil && opts.FlagChanged(config.ServeFlag(field)) }
	take := func(field string, apply func()) {
		if s.Has(field) && !given(field) {
			apply()
		}
	}
	take("listen", func() { opts.Listen = s.Listen })
	take("log", func() { opts.Log = s.Log })
	if !given("tls_cert") && !given("tls_key") {
		take("tls_cert", func() { opts.TLSCert, opts.TLSKey = s.TLSCert, s.TLSKey })
	}
	take("max_body", func() { opts.MaxBody = strconv.FormatInt(s.MaxBody, 10) })
	take("log_format", func() { opts.LogFormat = s.LogFormat })
	take("drain", func() { opts.Drain = s.Drain })
	take("retention_interval", func() { opts.Schedule.RetentionInterval = s.RetentionInterval })
	take("gc_interval", func() { opts.Schedule.GCInterval = s.GCInterval })
	take("gc_grace", func() { opts.Schedule.GCGrace = s.GCGrace })
	take("proxy_blobs", func() { opts.ProxyBlobs = s.ProxyBlobs })
	take("oci", func() { opts.OCI = s.OCI })
	take("oci_anonymous_pull", func() { opts.OCIAnonymousPull = s.OCIAnonymousPull })
	take("oci_upload_dir", func() { opts.OCIUploadDir = s.OCIUploadDir })
	take("oci_upload_expiry", func() { opts.OCIUploadExpiry = s.OCIUploadExpiry })
}

func serveRun(ctx context.Context, opts *Options) (err error) {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	// Everything that can be refused is checked, and the address taken,
	// before anything is created on disk.
	maxBody, tlsConf, err := opts.settings(cfg)
	if err != nil {
		return err
	}
	bc, ok := cfg.Backends[cfg.DefaultBackend]
	if !ok {
		return fmt.Errorf("%w: backend %q is not configured", config.ErrInvalid, cfg.DefaultBackend)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return cmdutil.Mark(fmt.Errorf("listen on %s: %w", opts.Listen, err), client.ErrUnavailable)
	}
	defer ln.Close() // after Serve returned, or a failed start
	logger := newLogger(opts)

	// A start that fails removes the directories and files it created, so
	// a mistake (a bad --log URL, a backend claimed by another log) leaves
	// no empty store behind for the next command to take for a real one.
	dsn := opts.Log
	if dsn == "" {
		dsn = filepath.Join(cfg.Store, client.LogFileName)
	}
	var made created
	serving := false
	defer func() {
		if !serving {
			made.undo()
		}
	}()
	if bc.Type == backends.TypeLocal {
		made.dir(bc.Root)
		made.file(filepath.Join(bc.Root, storage.MarkerName))
	}
	made.dir(cfg.Store)
	made.file(filepath.Join(cfg.Store, auth.BootstrapFile))
	if !app.IsPostgres(dsn) {
		made.dir(filepath.Dir(dsn))
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			made.file(dsn + suffix)
		}
	}
	be, err := openBackend(ctx, bc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Store, 0o755); err != nil {
		return fmt.Errorf("create store directory: %w", err)
	}
	// The first start creates the checkpoint signing key; a start that
	// cannot read it fails before it serves a checkpoint.
	keyPath := cfg.CheckpointKey
	if keyPath == "" {
		keyPath = filepath.Join(cfg.Store, app.CheckpointKeyFile)
	}
	made.file(keyPath)
	if _, _, err := app.EnsureKey(keyPath); err != nil {
		return fmt.Errorf("checkpoint key (checkpoint_key / --checkpoint-key): %w", err)
	}
	svc, err := app.Open(ctx, app.Config{Log: dsn, Backend: be, ProtectedTags: cfg.Tags.Protected, CheckpointKey: keyPath})
	if err != nil {
		return cmdutil.Mark(err, client.ErrUnavailable)
	}
	defer svc.Close() // before made.undo: deferred calls run last-in first-out
	srv, err := newServer(ctx, opts, cfg, serverParts{svc: svc, be: be, bc: bc, dsn: dsn, maxBody: maxBody, logger: logger})
	if err != nil {
		return err
	}
	serving = true
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	var readyErr error
	err = srv.Serve(ctx, ln, server.ServeOptions{TLS: tlsConf, Schedule: opts.Schedule, Ready: func(addr net.Addr) {
		u := scheme + "://" + addr.String()
		fmt.Fprintf(opts.IO.ErrOut, "artstore: listening on %s\n", u)
		logger.Info("listening", "url", u, "log", redactDSN(dsn), "backend", bc.ID, "direct_transfers", srv.Direct())
		if opts.ReadyFile != "" {
			readyErr = writeReady(ctx, opts.ReadyFile, u+"\n")
			if readyErr != nil {
				logger.Error("cannot write the ready file", "error", readyErr.Error())
			}
		}
	}})
	if err != nil {
		return err
	}
	if readyErr != nil {
		return readyErr
	}
	logger.Info("stopped")
	return nil
}

// settings takes the config file's serve: section where no flag was given
// and checks the result: the body limit and the TLS key pair.
func (opts *Options) settings(cfg *config.Config) (maxBody int64, tlsConf *tls.Config, err error) {
	opts.applyFile(cfg.Serve)
	if err := opts.check(); err != nil {
		return 0, nil, err
	}
	maxBody, err = config.ParseSize(opts.MaxBody)
	if err != nil || maxBody <= 0 {
		return 0, nil, cmdutil.FlagErrorf("--max-body: %q is not a positive size", opts.MaxBody)
	}
	if opts.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return 0, nil, cmdutil.FlagErrorf("--tls-cert/--tls-key: %v", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return maxBody, tlsConf, nil
}

func newLogger(opts *Options) *slog.Logger {
	var h slog.Handler = slog.NewTextHandler(opts.IO.ErrOut, nil)
	if opts.LogFormat == "json" {
		h = slog.NewJSONHandler(opts.IO.ErrOut, nil)
	}
	return slog.New(h)
}

// serverParts are what newServer builds the daemon from.
type serverParts struct {
	svc     *app.Service
	be      storage.Backend
	bc      config.Backend
	dsn     string
	maxBody int64
	logger  *slog.Logger
}

// newServer builds the daemon over the opened service and backend
// (claiming the backend for the log) and makes sure an admin token exists.
func newServer(ctx context.Context, opts *Options, cfg *config.Config, p serverParts) (*server.Server, error) {
	srv, err := server.New(server.Options{
		Service: p.svc, Backend: p.be, BackendType: p.bc.Type,
		LogKind: logKind(p.dsn), LogLocation: redactDSN(p.dsn),
		Logger: p.logger, Limits: server.Limits{MaxBody: p.maxBody, DrainTimeout: opts.Drain},
		Direct: !opts.ProxyBlobs,
		OCI: server.OCIOptions{Disabled: !opts.OCI, AnonymousPull: opts.OCIAnonymousPull,
			UploadDir: opts.OCIUploadDir, UploadExpiry: opts.OCIUploadExpiry},
	})
	if errors.Is(err, storeid.ErrForeignLog) || errors.Is(err, storeid.ErrUnclaimed) {
		return nil, cmdutil.Mark(fmt.Errorf("%w; give serve the event log these blobs belong to (--log), or another backend", err), client.ErrConflict)
	}
	if err != nil {
		return nil, err
	}
	secret, _ := lookup(opts.LookupEnv, EnvBootstrapToken)
	path, created, err := srv.Tokens().Bootstrap(ctx, cfg.Store, secret)
	switch {
	case err != nil:
		return nil, cmdutil.Mark(err, client.ErrUnavailable)
	case created && path != "":
		p.logger.Info("created the bootstrap admin token", "file", path)
	case created:
		p.logger.Info("created the bootstrap admin token from " + EnvBootstrapToken)
	}
	return srv, nil
}

// openBackend opens the daemon's blob backend: the configuration's default
// backend (the global --backend flag selects it), with every setting of its
// entry.
func openBackend(ctx context.Context, bc config.Backend) (storage.Backend, error) {
	be, err := backends.Open(ctx, bc.Spec)
	if err != nil {
		return nil, cmdutil.Mark(fmt.Errorf("backend %s: %w", bc.ID, err), client.ErrUnavailable)
	}
	return be, nil
}

func lookup(env func(string) (string, bool), k string) (string, bool) {
	if env == nil {
		return "", false
	}
	return env(k)
}

// redactDSN hides a PostgreSQL password in logs.
func redactDSN(dsn string) string {
	if !app.IsPostgres(dsn) {
		return dsn
	}
	return "postgres://…"
}

// writeReady writes the ready file: through a temporary file renamed into
// place, so a reader never sees a partial file; a named pipe (a script's
// `read url < pipe`) or a device is written in place, and a symbolic link
// is written through (see internal/outpath).
func writeReady(ctx context.Context, path, data string) error {
	if err := outpath.WriteFile(ctx, path, []byte(data), 0o600); err != nil {
		return fmt.Errorf("ready file: %w", err)
	}
	return nil
}

// logKind names the kind of the event log at dsn for the store marker.
func logKind(dsn string) string {
	if app.IsPostgres(dsn) {
		return storeid.KindPostgres
	}
	return storeid.KindSQLite
}
