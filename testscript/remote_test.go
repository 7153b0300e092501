package testscript_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/postgres/pgtest"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/server"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/storeid"
)

// EnvRemote is the one switch of remote mode: with ARTSTORE_TEST_REMOTE=1
// the harness starts a daemon per script (in this process, on 127.0.0.1
// port 0, with a local backend in the script's $WORK) and points the
// script's artstore at it with ARTSTORE_SERVER and an admin ARTSTORE_TOKEN;
// the [remote] condition is true. TestScriptsRemote runs the whole suite
// that way, so `go test ./testscript/...` runs both modes.
//
// The daemon's log is PostgreSQL when ARTSTORE_TEST_POSTGRES is set (a
// throwaway schema per script, dropped when it ends: how CI runs it), else
// a SQLite file in $WORK.
const EnvRemote = "ARTSTORE_TEST_REMOTE"

// remoteMode reports whether the environment asks for remote mode.
func remoteMode() bool { return os.Getenv(EnvRemote) == "1" }

func TestScriptsRemote(t *testing.T) {
	if remoteMode() {
		t.Skip("TestScripts already runs in remote mode (" + EnvRemote + "=1)")
	}
	testscript.Run(t, remoteParams(Params(t)))
}

// remoteParams turns the local-mode parameters into remote mode.
func remoteParams(p testscript.Params) testscript.Params {
	localSetup, localCond := p.Setup, p.Condition
	p.Setup = func(env *testscript.Env) error {
		if err := localSetup(env); err != nil {
			return err
		}
		return startDaemon(env)
	}
	p.Condition = func(cond string) (bool, error) {
		switch cond {
		case "remote":
			return true, nil
		case "pglog": // the script daemon's log is PostgreSQL
			return os.Getenv(pgtest.EnvDSN) != "", nil
		}
		return localCond(cond)
	}
	return p
}

// daemonStartTimeout bounds a script daemon's start.
const daemonStartTimeout = 30 * time.Second

// daemonProtectedTags reads tags.protected from the script's config file,
// as `artstore serve` reads its own: a script that protects tags gets the
// same behaviour in both modes. A config the CLI refuses (config_errors)
// leaves the daemon without protected tags; the CLI reports it.
func daemonProtectedTags(env *testscript.Env) []string {
	cfg, err := config.Load(config.LoadOptions{WorkDir: env.WorkDir, LookupEnv: func(k string) (string, bool) {
		v := env.Getenv(k)
		return v, v != ""
	}})
	if err != nil {
		return nil
	}
	return cfg.Tags.Protected
}

// startDaemon starts the script's daemon and stops it when the script ends.
// Its log and blobs live in $WORK/daemon, apart from the script's own store
// directory, so a script cannot reach them by accident.
func startDaemon(env *testscript.Env) error {
	ctx, cancel := context.WithTimeout(context.Background(), daemonStartTimeout)
	defer cancel()
	dir := filepath.Join(env.WorkDir, "daemon")
	dsn := filepath.Join(dir, "artstore.db")
	if pg := os.Getenv(pgtest.EnvDSN); pg != "" {
		var err error
		if dsn, err = scriptSchema(ctx, env, pg); err != nil {
			return err
		}
	}
	log, err := app.OpenLog(ctx, dsn, eventlog.Options{})
	if err != nil {
		return fmt.Errorf("script daemon: %w", err)
	}
	be, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		log.Close()
		return fmt.Errorf("script daemon: %w", err)
	}
	// The token lives in a log of its own, so the script's log holds
	// exactly the events it holds in local mode.
	tokLog, err := app.OpenLog(ctx, filepath.Join(dir, "tokens.db"), eventlog.Options{})
	if err != nil {
		log.Close()
		return fmt.Errorf("script daemon: %w", err)
	}
	closeLogs := func() { log.Close(); tokLog.Close() }
	book := auth.NewBook(tokLog, nil, 0)
	secret, _, err := book.Create(ctx, "testscript", auth.Spec{Name: "script", Scope: auth.ScopeAdmin})
	if err != nil {
		closeLogs()
		return fmt.Errorf("script daemon: %w", err)
	}
	kind := storeid.KindSQLite
	if app.IsPostgres(dsn) {
		kind = storeid.KindPostgres
	}
	reg := registry.New(log, app.Checker(be), clockOf(env).Now)
	if err := reg.ProtectTags(daemonProtectedTags(env)); err != nil {
		closeLogs()
		return fmt.Errorf("script daemon: %w", err)
	}
	srv, err := server.New(server.Options{Registry: reg, Log: log, Backend: be, BackendType: "local",
		LogKind: kind, LogLocation: "of the script daemon",
		Tokens: book, Logger: slog.New(slog.DiscardHandler), CheckpointKey: filepath.Join(dir, "checkpoint.key")})
	if err != nil {
		closeLogs()
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		closeLogs()
		return fmt.Errorf("script daemon: %w", err)
	}
	g := &gate{Listener: ln}
	env.Values[gateKey{}] = g
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, g, server.ServeOptions{}) }()
	env.Defer(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			env.T().Log("script daemon:", err)
		}
		closeLogs()
	})
	env.Setenv("ARTSTORE_SERVER", "http://"+ln.Addr().String())
	env.Setenv("ARTSTORE_TOKEN", secret)
	env.Setenv("ARTSTORE_DAEMON_DIR", dir)
	return nil
}

// waitfileTimeout bounds waitfile.
const waitfileTimeout = 30 * time.Second

// waitfile FILE VAR: wait (up to 30s, polling) until FILE exists and is not
// empty, then set VAR to its content without surrounding space. Scripts use
// it for a daemon's --ready-file; it never sleeps a fixed time.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfile FILE VAR")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(waitfileTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			ts.Setenv(args[1], strings.TrimSpace(string(b)))
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitfile: %s did not appear within %s", args[0], waitfileTimeout)
		}
		<-tick.C
	}
}

// scriptSchema creates a PostgreSQL schema for one script, drops it when
// the script ends, and returns a DSN whose search_path selects it.
func scriptSchema(ctx context.Context, env *testscript.Env, dsn string) (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	schema := "ts_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", fmt.Errorf("script daemon: connect to %s: %w", pgtest.EnvDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", fmt.Errorf("script daemon: %w", err)
	}
	// Deferred before the daemon's own cleanup, so it runs after it.
	env.Defer(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			env.T().Log("drop schema:", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			env.T().Log("drop schema:", err)
		}
	})
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("script daemon: %s: %w", pgtest.EnvDSN, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " search_path=" + schema, nil
}
