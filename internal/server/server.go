// Package server is the daemon's HTTP API (`artstore serve`): the registry,
// the event log and one blob backend behind JSON routes under /v1, bearer
// tokens with scopes and name prefixes, Prometheus metrics, structured
// request logs, and a Serve loop with timeouts and graceful shutdown.
//
// The route table, the wire format and the authorisation rules are
// documented in docs/http-api.md; routes() in routes.go is their single
// source, and the auth table test walks it.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storeid"
	"github.com/artifact-store/artstore/pkg/api"
)

// Limits bound what one request may cost. Zero fields take the defaults.
type Limits struct {
	// MaxBody caps JSON request bodies (default 4 MiB). Each route reads
	// at most what its largest request needs (64 KiB for most, 1 MiB for
	// label changes and blob lists, MaxBody for a register), and no more
	// than MaxBody.
	MaxBody int64
	// MaxRegister caps the whole body of a register (default 64 MiB, at
	// least MaxBody). Current clients send a small one; older clients
	// list every blob of the artifact (about 75 bytes each), which the
	// daemon ignores: it streams past that list without keeping it, so
	// only MaxBody of a register is held in memory.
	MaxRegister int64
	// MaxLargeBodies bounds how many JSON bodies larger than 64 KiB are
	// read at once (default 4); SlotWait is how long a request waits for
	// its turn before it is refused 503 "busy" (default 10s).
	MaxLargeBodies int
	SlotWait       time.Duration
	// MaxBlob caps a blob PUT (default 1 GiB; chunks are at most a few MiB,
	// tree manifests can be large).
	MaxBlob int64
	// MaxWait caps the long-poll wait of GET /v1/events (default 60s).
	MaxWait time.Duration
	// ReadHeaderTimeout bounds reading a request's headers (default 10s).
	ReadHeaderTimeout time.Duration
	// IOTimeout bounds each read of a request body and each write of a
	// response without progress; streaming routes extend it as bytes
	// flow, so large transfers are not cut off (default 2m).
	IOTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections (default 2m).
	IdleTimeout time.Duration
	// DrainTimeout bounds graceful shutdown: in-flight requests get this
	// long to finish after the listener closes (default 30s).
	DrainTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxBody, 4<<20)
	def(&l.MaxBlob, 1<<30)
	def(&l.MaxRegister, 64<<20)
	l.MaxRegister = max(l.MaxRegister, l.MaxBody)
	if l.MaxLargeBodies <= 0 {
		l.MaxLargeBodies = 4
	}
	defd(&l.SlotWait, 10*time.Second)
	defd(&l.MaxWait, 60*time.Second)
	defd(&l.ReadHeaderTimeout, 10*time.Second)
	defd(&l.IOTimeout, 2*time.Minute)
	defd(&l.IdleTimeout, 2*time.Minute)
	defd(&l.DrainTimeout, 30*time.Second)
	return l
}

// Options configure a Server. Registry, Log and Backend are required.
type Options struct {
	// Service runs the use cases (app.Open builds it). Without it, one is
	// built over Registry, Log and Tokens.
	Service *app.Service
	// Registry is the service over Log whose blob checker is Backend.
	Registry *registry.Registry
	// Log is the event log (for tokens, events, head, readiness).
	Log eventlog.Store
	// Backend holds the blobs.
	Backend storage.Backend
	// BackendType is reported by GET /v1/backends/health ("local", "s3").
	BackendType string
	// Tokens is the token table; nil builds one over Log.
	Tokens *auth.Book
	// CheckpointKey is the path of the checkpoint signing key of the
	// Service New builds (app.Options.CheckpointKey); with Service set,
	// the Service's own key is used.
	CheckpointKey string
	// Logger receives one structured line per request; nil discards.
	Logger *slog.Logger
	Limits Limits
	// Now is the clock (token expiry, retention); nil means time.Now.
	Now func() time.Time
	// PollInterval is how often a long-poll re-reads the log head for
	// events appended by other daemons (default 250ms).
	PollInterval time.Duration
	// LogKind (storeid.KindSQLite or storeid.KindPostgres) and
	// LogLocation (a SQLite path, a DSN without password) describe Log in
	// the store marker New records in Backend (see internal/storeid); ""
	// leaves them unknown.
	LogKind, LogLocation string
	// Direct asks for direct transfers: clients move blob bytes straight
	// to and from the backend on presigned requests the daemon hands out.
	// They are on only for a backend that implements storage.Presigner
	// and passes its CheckPresign; otherwise every byte goes through the
	// daemon, as with Direct false.
	Direct bool
	// DirectURLTTL is how long a presigned URL is valid (0: the default,
	// app.DefaultURLTTL).
	DirectURLTTL time.Duration
	// OCI configures the OCI Distribution API under /v2/ (docs/oci.md).
	OCI OCIOptions
}

// OCIOptions configure the /v2/ API.
type OCIOptions struct {
	// Disabled turns /v2/ off: its paths answer 404 like any unknown path.
	Disabled bool
	// AnonymousPull lets requests without credentials pull (never push or
	// delete) every repository.
	AnonymousPull bool
	// UploadDir holds the temporary files of upload sessions (unlinked at
	// once, so a killed daemon leaves nothing); "" is the system's
	// temporary directory.
	UploadDir string
	// UploadExpiry is how long an upload session lives without a request
	// (default 24h); its file is then deleted.
	UploadExpiry time.Duration
	// MaxUploads bounds the open upload sessions (default 1024): each
	// holds an open file.
	MaxUploads int
	// MaxBlob caps one blob's size (default 64 GiB).
	MaxBlob int64
}

// claimTimeout bounds the store marker's check and write in New.
const claimTimeout = 30 * time.Second

// Server is the daemon's HTTP handler. It is safe for concurrent use.
type Server struct {
	svc *app.Service
	// direct is nil when every byte goes through the daemon.
	direct  *app.Direct
	reg     *registry.Registry
	log     eventlog.Store
	backend storage.Backend
	// backendType is Options.BackendType.
	backendType string
	logger      *slog.Logger
	limits      Limits
	now         func() time.Time
	poll        time.Duration
	mux         *http.ServeMux
	metrics     *metrics
	routes      []route
	// ociRoutes are the /v2 routes; ociUnmatched answers /v2 paths no
	// route has.
	ociRoutes        []route
	ociUnmatched     *route
	ociAnonymousPull bool
	ociMaxBlob       int64
	uploads          *ociUploads
	// finishing bounds the uploads being stored at once (each push of a
	// completed upload holds a chunking ring of tens of MiB).
	finishing chan struct{}

	// copyBufs are the 64 KiB buffers blob GETs copy through.
	copyBufs sync.Pool
	// largeBodies holds a token per JSON body larger than 64 KiB being
	// read (call.bodySlot).
	largeBodies chan struct{}
	// stop is closed when Serve starts shutting down, ending long-polls.
	stopOnce sync.Once
	stop     chan struct{}
}

// New returns a Server over opts.
func New(opts Options) (*Server, error) {
	if opts.Service != nil {
		opts.Registry, opts.Log = opts.Service.Registry(), opts.Service.Log()
	}
	if opts.Registry == nil || opts.Log == nil || opts.Backend == nil {
		return nil, errors.New("server: Service (or Registry and Log) and Backend are required")
	}
	if err := claimBackend(opts); err != nil {
		return nil, err
	}
	s := &Server{
		svc: opts.Service, reg: opts.Registry, log: opts.Log, backend: opts.Backend,
		logger: opts.Logger, limits: opts.Limits.withDefaults(), now: opts.Now, poll: opts.PollInterval,
		stop: make(chan struct{}), backendType: opts.BackendType,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.svc == nil {
		s.svc = app.New(s.reg, app.Options{Log: s.log, Backend: s.backend, Tokens: opts.Tokens, Now: s.now, CheckpointKey: opts.CheckpointKey})
	}
	s.largeBodies = make(chan struct{}, s.limits.MaxLargeBodies)
	s.copyBufs.New = func() any { b := make([]byte, 64<<10); return &b }
	if s.logger == nil {
		s.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.poll <= 0 {
		s.poll = 250 * time.Millisecond
	}
	s.routes = s.routeTable()
	s.ociRoutes = s.ociRouteTable()
	s.ociUnmatched = &s.ociRoutes[len(s.ociRoutes)-1]
	s.metrics = newMetrics(s.routes, s.ociRoutes)
	if opts.Direct {
		s.direct = s.checkDirect(opts)
	}
	if s.direct != nil {
		s.metrics.direct.Store(1)
	}
	s.mux = http.NewServeMux()
	for i := range s.routes {
		rt := &s.routes[i]
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	if !opts.OCI.Disabled {
		if err := s.initOCI(opts.OCI); err != nil {
			return nil, err
		}
		s.mux.Handle("/v2/", http.HandlerFunc(s.handleOCI))
	}
	// Anything else is a JSON 404 (or 405 for a known path).
	s.mux.Handle("/", s.wrap(&route{Method: "", Pattern: "/", Public: true, h: func(w http.ResponseWriter, r *http.Request, _ *call) error {
		return codeErr(api.CodeNotFound, fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	}}))
	return s, nil
}

// checkDirect returns the daemon's direct transfer settings, or nil (with
// the reason logged) when the backend cannot presign or its server does
// not enforce the checksum of presigned uploads.
func (s *Server) checkDirect(opts Options) *app.Direct {
	p, ok := s.backend.(storage.Presigner)
	if !ok {
		s.logger.Info("direct transfers off: the backend cannot presign requests; blob bytes go through the daemon", "backend", s.backend.ID())
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), claimTimeout)
	defer cancel()
	if err := p.CheckPresign(ctx); err != nil {
		s.logger.Warn("direct transfers off: blob bytes go through the daemon", "backend", s.backend.ID(), "err", err)
		return nil
	}
	return &app.Direct{Presigner: p, URLTTL: opts.DirectURLTTL, MaxBlob: s.limits.MaxBlob}
}

// Direct reports whether clients move blob bytes straight to and from the
// backend.
func (s *Server) Direct() bool { return s.direct != nil }

// Tokens returns the server's token table.
func (s *Server) Tokens() *auth.Book { return s.svc.Tokens() }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// stopping is closed once the server is shutting down.
func (s *Server) stopping() <-chan struct{} { return s.stop }

// ServeOptions tune Serve.
type ServeOptions struct {
	// TLS, if set, serves HTTPS with this configuration (certificates
	// included).
	TLS *tls.Config
	// Ready, if set, is called once the server accepts connections.
	Ready func(addr net.Addr)
	// Schedule is periodic maintenance (retention, garbage collection)
	// run while serving; the zero value runs none.
	Schedule Schedule
}

// Serve serves HTTP on ln until ctx is cancelled, then shuts down
// gracefully: the listener closes first (new connections are refused),
// in-flight requests run to completion for up to Limits.DrainTimeout, and
// then remaining connections are closed. It returns nil after a clean
// shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener, opts ServeOptions) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.limits.ReadHeaderTimeout,
		IdleTimeout:       s.limits.IdleTimeout,
		// Per-request read and write deadlines are set and extended by the
		// handlers (see call.extendDeadlines); these are the defaults for
		// handlers that do not.
		ReadTimeout:  s.limits.IOTimeout,
		WriteTimeout: s.limits.IOTimeout + s.limits.MaxWait,
		ErrorLog:     slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		BaseContext:  func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		TLSConfig:    opts.TLS,
	}
	errc := make(chan error, 1)
	go func() {
		if opts.TLS != nil {
			errc <- hs.ServeTLS(ln, "", "")
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	if opts.Ready != nil {
		opts.Ready(ln.Addr())
	}
	mctx, stopMaintenance := context.WithCancel(ctx)
	maintained := make(chan struct{})
	go func() { defer close(maintained); s.RunSchedule(mctx, opts.Schedule) }()
	defer func() { stopMaintenance(); <-maintained }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.logger.Info("shutting down", "drain_timeout", s.limits.DrainTimeout.String())
	s.stopOnce.Do(func() { close(s.stop) }) // long-polls answer now
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.limits.DrainTimeout)
	defer cancel()
	err := hs.Shutdown(dctx) // closes the listener first, then waits
	if err != nil {
		_ = hs.Close()
		return fmt.Errorf("graceful shutdown: %w (connections closed)", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// claimBackend records in the backend's store marker that its blobs belong
// to opts.Log, and refuses a backend that another log claimed, or that
// holds blobs no log claimed while opts.Log has no event: the daemon's gc
// would take them all for garbage.
func claimBackend(opts Options) error {
	ctx, cancel := context.WithTimeout(context.Background(), claimTimeout)
	defer cancel()
	self, err := storeid.LogOf(ctx, opts.Log, opts.LogKind, opts.LogLocation)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := storeid.Claim(ctx, opts.Backend, self, time.Now()); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}
