package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/pkg/client"
)

// StoreOptions tune OpenStore.
type StoreOptions struct {
	// Create makes a missing local store directory (and the root of a
	// local default backend) instead of failing.
	Create bool
	// LookupEnv reads the environment, for the actor name recorded in
	// events (USER, LOGNAME). Nil means an empty environment.
	LookupEnv func(string) (string, bool)
	// Now is the clock of the store; nil means time.Now.
	Now func() time.Time
	// Notice receives remote mode's one-line notice that the daemon is
	// unavailable and calls are being retried; nil means none is printed.
	Notice io.Writer
	// Witness, in remote mode, turns on the check that the daemon's log
	// extends the checkpoint it showed this user before (see
	// WitnessDaemon); a failure is reported to it. Nil: no check.
	Witness io.Writer
}

// OpenStore opens the store cfg describes: the daemon at cfg.Server, or the
// local store in cfg.Store using the backend cfg.DefaultBackend.
//
// A local store is never created by accident: without opts.Create a
// missing store directory is an error matching client.ErrUnavailable that
// says how to create one, and a missing local backend root inside an
// existing store is one too (an unmounted disk or a deleted directory must
// not silently become a new, empty store).
func OpenStore(ctx context.Context, cfg *config.Config, opts StoreOptions) (client.Store, error) {
	if cfg.Server != "" {
		st, err := openRemote(ctx, cfg, opts.Notice)
		if err != nil || opts.Witness == nil {
			return st, err
		}
		if err := WitnessDaemon(ctx, cfg, opts.Witness); err != nil {
			st.Close()
			return nil, err
		}
		return st, nil
	}
	b, ok := cfg.Backends[cfg.DefaultBackend]
	if !ok {
		return nil, fmt.Errorf("%w: backend %q is not configured", config.ErrInvalid, cfg.DefaultBackend)
	}
	if err := checkStoreDirs(cfg, b, opts.Create); err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return openLocal(ctx, cfg, b, Actor(opts.LookupEnv), now)
}

// checkStoreDirs makes sure the store directory and a local backend's root
// exist, creating them when create is set.
func checkStoreDirs(cfg *config.Config, b config.Backend, create bool) error {
	dirs := []string{cfg.Store}
	if b.Type == backends.TypeLocal {
		dirs = append(dirs, b.Root)
	}
	for i, dir := range dirs {
		_, err := os.Stat(dir)
		switch {
		case err == nil:
			continue
		case !errors.Is(err, fs.ErrNotExist):
			return Mark(fmt.Errorf("store: %w", err), client.ErrUnavailable)
		case create:
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create store: %w", err)
			}
		case i == 0:
			return Mark(fmt.Errorf("no store at %s: create one with `artstore init` (or push something: the first push creates it), "+
				"or point --store / ARTSTORE_STORE at an existing store; if the store is on a disk that is not mounted, mount it", dir),
				client.ErrUnavailable)
		default:
			return Mark(fmt.Errorf("backend %s: root directory %s does not exist (is the disk holding it mounted? "+
				"if the blobs are really gone, recreate it with: mkdir -p %s; then run artstore verify --all)", b.ID, dir, dir),
				client.ErrUnavailable)
		}
	}
	return nil
}

// Actor names the user recorded as the actor of local-mode events (see
// client.DefaultActor), reading the environment through lookupEnv.
func Actor(lookupEnv func(string) (string, bool)) string {
	return client.DefaultActor(func(k string) string {
		if lookupEnv == nil {
			return ""
		}
		v, _ := lookupEnv(k)
		return v
	})
}

// openRemote opens remote mode (--server / ARTSTORE_SERVER) with the
// token from ARTSTORE_TOKEN (or the config key token), retrying for
// cfg.RetryWindow and printing the notice of a wait to notice.
func openRemote(ctx context.Context, cfg *config.Config, notice io.Writer) (client.Store, error) {
	r, err := client.OpenRemote(ctx, RemoteOptions(cfg, notice))
	if err != nil {
		return nil, fmt.Errorf("--server / ARTSTORE_SERVER: %w", err)
	}
	return r, nil
}

// RemoteOptions are the client options of remote mode under cfg: its
// server, token and retry window (0 there: no retries), with the notice of
// a wait written as one "artstore: ..." line to notice (nil: none).
func RemoteOptions(cfg *config.Config, notice io.Writer) client.RemoteOptions {
	opts := client.RemoteOptions{URL: cfg.Server, Token: cfg.Token, UserAgent: "artstore-cli", RetryWindow: cfg.RetryWindow,
		URLSource: cfg.ServerSource}
	if cfg.RetryWindow == 0 {
		opts.RetryWindow = -1
	}
	if notice != nil {
		opts.OnUnavailable = func(msg string) { fmt.Fprintf(notice, "artstore: %s\n", msg) }
	}
	return opts
}

// DaemonBackends asks the daemon at cfg.Server (through st, a remote store)
// for its backends and their health, waiting at most timeout (0: no bound
// beyond the client's own). A daemon that cannot be reached, or does not
// answer in time, is an error matching client.ErrUnavailable that says so;
// an error the daemon answered with (a rejected token, say) keeps its kind.
func DaemonBackends(ctx context.Context, cfg *config.Config, st client.Store, timeout time.Duration) ([]client.BackendHealth, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	hs, err := st.Health(ctx)
	var answered *client.RemoteError
	switch {
	case err == nil:
		return hs, nil
	case errors.As(err, &answered):
		return nil, fmt.Errorf("the daemon at %s refused to report its backends: %w", cfg.Server, err)
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil && timeout > 0:
		return nil, Mark(fmt.Errorf("the daemon at %s did not answer within %s", cfg.Server, timeout), client.ErrUnavailable)
	case errors.Is(err, client.ErrUnavailable):
		return nil, Mark(fmt.Errorf("cannot reach the daemon at %s (is it running? check --server / ARTSTORE_SERVER): %w", cfg.Server, err), client.ErrUnavailable)
	}
	return nil, fmt.Errorf("ask the daemon at %s for its backends: %w", cfg.Server, err)
}

// OpenDaemonCheck opens the daemon at cfg.Server for a command that reports
// its state (backend health, backend ls): each call is tried once, never
// retried while the daemon is unavailable. retry_window is for work that
// can wait for a restart; a check must say now that the daemon is down.
func OpenDaemonCheck(ctx context.Context, cfg *config.Config) (client.Store, error) {
	opts := RemoteOptions(cfg, nil)
	opts.RetryWindow = -1
	r, err := client.OpenRemote(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("--server / ARTSTORE_SERVER: %w", err)
	}
	return r, nil
}

// DaemonCheckClient is Factory.Client for those commands: the daemon opened
// with OpenDaemonCheck.
func DaemonCheckClient(f *Factory) func(context.Context) (client.Store, error) {
	return func(ctx context.Context) (client.Store, error) {
		cfg, err := f.Config()
		if err != nil {
			return nil, err
		}
		return OpenDaemonCheck(ctx, cfg)
	}
}

// WitnessDaemon checks, once per command, that the log of the daemon at
// cfg.Server extends the last checkpoint it showed this user, which
// the CLI remembers in cfg.StateDir, and remembers the newer one (see
// client.WitnessCheckpoint). A daemon whose log was rolled back,
// rewritten or forked, or that signs with another key, is reported on w
// in a few loud lines; with cfg.StrictCheckpoints the command then fails
// with exit status 4. A check that cannot be made (the daemon is down, the
// token may not read the log, no state directory) is left to the command
// itself and says nothing: the check is made once, never retried.
func WitnessDaemon(ctx context.Context, cfg *config.Config, w io.Writer) error {
	if cfg.StateDir == "" {
		return nil
	}
	st, err := OpenDaemonCheck(ctx, cfg)
	if err != nil {
		return nil
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(ctx, witnessTimeout)
	defer cancel()
	res, err := client.WitnessCheckpoint(ctx, st, cfg.Server, cfg.StateDir)
	if err != nil || res.First || res.Report.OK {
		return nil
	}
	rep := res.Report
	msg := fmt.Sprintf("the event log of the daemon at %s is not an extension of the log it showed before "+
		"(%d events, root %s, remembered in %s): %s", cfg.Server, rep.SavedSize, rep.SavedRoot, res.StateFile, rep.Problem)
	if cfg.StrictCheckpoints {
		return Mark(errors.New(msg+"; a rolled-back, rewritten or replaced log; if the daemon's store was replaced on purpose, remove that file"), client.ErrIntegrity)
	}
	fmt.Fprintf(w, "artstore: WARNING: %s\n", msg)
	fmt.Fprintf(w, "artstore: WARNING: the daemon's history was rolled back, rewritten or replaced; if its store was replaced on purpose, remove %s (--strict makes this an error)\n", res.StateFile)
	return nil
}

// witnessTimeout bounds WitnessDaemon's two requests: a slow check must
// not hold a command up.
const witnessTimeout = 10 * time.Second
