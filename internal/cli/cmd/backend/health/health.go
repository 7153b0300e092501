// Package health implements `artstore backend health`.
package health

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
	"github.com/spf13/cobra"
)

// DefaultTimeout bounds each backend's health check.
const DefaultTimeout = 10 * time.Second

// Options are the inputs of `artstore backend health`.
type Options struct {
	IO       *iostreams.IOStreams
	Config   func() (*config.Config, error)
	Backends func(context.Context) (*storage.Registry, error)
	// Client is the daemon, in remote mode (Config().Server set).
	Client func(context.Context) (client.Store, error)

	// ID is the one backend to check; empty checks all.
	ID string
	// Timeout bounds each backend's check.
	Timeout time.Duration
}

// NewCmdHealth returns the command. runF, if not nil, replaces the run function.
func NewCmdHealth(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Backends: f.Backends, Client: cmdutil.DaemonCheckClient(f)}
	cmd := &cobra.Command{
		Use:   "health [ID]",
		Short: "Check that storage backends are usable",
		Long: `Check every configured storage backend, or only the one named, and report
whether it is usable, with free and total space where the backend knows them.

A local backend is healthy when its root directory exists and is writable
and its filesystem has free space; artstore never recreates a missing root,
so an unmounted disk is reported rather than silently replaced by an empty
directory. The checks run in parallel, each bounded by --timeout.

With --server or ARTSTORE_SERVER, the daemon's backend is checked instead,
by the daemon (GET /v1/backends/health); a daemon that cannot be reached
or does not answer within --timeout exits 6 (unavailable) too, at once:
retry_window does not apply to a check. The client's own configured
backends play no part then.

Exits 6 (unavailable) when any checked backend is unhealthy, with a message
on stderr for each saying what is wrong and what to do. With --quiet nothing
is printed on success.`,
		Example: `  $ artstore backend health
  ID       STATUS   FREE      TOTAL     DETAIL
  default  healthy  41.2 GiB  97.9 GiB  local directory /home/me/.local/share/artstore/blobs: ...

  # one backend, for scripts
  $ artstore backend health s3main --quiet || echo "S3 is down"

  # JSON: an array of {"id", "type", "healthy", "detail", "total_bytes", "used_bytes", "free_bytes"}
  $ artstore backend health --json`,
		Args: cmdutil.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.ID = args[0]
			}
			if opts.Timeout <= 0 {
				return cmdutil.FlagErrorf("--timeout must be positive, got %s", opts.Timeout)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return healthRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", DefaultTimeout, "give up on a backend that has not answered after `DURATION`")
	return cmd
}

// Result is one backend in `backend health --json`. Field names are stable.
type Result struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Healthy bool   `json:"healthy"`
	Detail  string `json:"detail"`
	// Capacity in bytes; -1 when the backend does not know.
	TotalBytes int64 `json:"total_bytes"`
	UsedBytes  int64 `json:"used_bytes"`
	FreeBytes  int64 `json:"free_bytes"`
}

func healthRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	var results []Result
	if cfg.Server != "" {
		results, err = daemonResults(ctx, opts, cfg)
	} else {
		results, err = localResults(ctx, opts, cfg)
	}
	if err != nil {
		return err
	}

	if cfg.Output.JSON {
		if err := cmdutil.WriteJSON(opts.IO.Out, cfg.Output, results); err != nil {
			return err
		}
	} else if !opts.IO.Quiet() {
		t := cmdutil.NewTable(opts.IO.Out, "id", "status", "free", "total", "detail")
		for _, r := range results {
			status := "healthy"
			if !r.Healthy {
				status = "UNHEALTHY"
			}
			t.Row(r.ID, status, textfmt.Bytes(r.FreeBytes), textfmt.Bytes(r.TotalBytes), r.Detail)
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}

	var bad []string
	for _, r := range results {
		if !r.Healthy {
			bad = append(bad, fmt.Sprintf("backend %s: %s (%s)", r.ID, r.Detail, hint(cfg, r.ID)))
		}
	}
	switch len(bad) {
	case 0:
		return nil
	case 1:
		return cmdutil.Mark(errors.New(bad[0]), storage.ErrUnavailable)
	default:
		return cmdutil.Mark(fmt.Errorf("%d backends are unhealthy:\n  %s", len(bad), strings.Join(bad, "\n  ")), storage.ErrUnavailable)
	}
}

// localResults checks the configured backends, in parallel.
func localResults(ctx context.Context, opts *Options, cfg *config.Config) ([]Result, error) {
	reg, err := opts.Backends(ctx)
	if err != nil {
		return nil, err
	}
	var list []storage.Backend
	if opts.ID != "" {
		b, err := reg.Get(opts.ID)
		if err != nil {
			return nil, fmt.Errorf("backend health: %w", err)
		}
		list = []storage.Backend{b}
	} else {
		list = reg.List()
	}
	results := make([]Result, len(list))
	var wg sync.WaitGroup
	for i, b := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = check(ctx, b, cfg.Backends[b.ID()].Type, opts.Timeout)
		}()
	}
	wg.Wait()
	return results, ctx.Err()
}

// daemonResults asks the daemon for its backends' health.
func daemonResults(ctx context.Context, opts *Options, cfg *config.Config) ([]Result, error) {
	st, err := opts.Client(ctx)
	if err != nil {
		return nil, err
	}
	hs, err := cmdutil.DaemonBackends(ctx, cfg, st, opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("backend health: %w", err)
	}
	var results []Result
	var ids []string
	for _, h := range hs {
		ids = append(ids, h.ID)
		if opts.ID == "" || h.ID == opts.ID {
			results = append(results, Result(h))
		}
	}
	if len(results) == 0 && opts.ID != "" {
		return nil, cmdutil.FlagErrorf("backend health: the daemon at %s has no backend %q (it has: %s)", cfg.Server, opts.ID, strings.Join(ids, ", "))
	}
	return results, nil
}

// check runs one backend's health check within the timeout. Health never
// returns an error, but a hung network call must not hang the command.
func check(ctx context.Context, b storage.Backend, typ string, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan storage.Health, 1)
	go func() { done <- b.Health(ctx) }()
	var h storage.Health
	select {
	case h = <-done:
	case <-ctx.Done():
		h = storage.Health{Detail: fmt.Sprintf("no answer within %s", timeout), TotalBytes: -1, UsedBytes: -1, FreeBytes: -1}
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			h.Detail = "check cancelled"
		}
	}
	return Result{ID: b.ID(), Type: typ, Healthy: h.Healthy, Detail: h.Detail,
		TotalBytes: h.TotalBytes, UsedBytes: h.UsedBytes, FreeBytes: h.FreeBytes}
}

// hint says what the user can do about an unhealthy backend.
func hint(cfg *config.Config, id string) string {
	if cfg.Server != "" {
		return fmt.Sprintf("it is the backend of the daemon at %s: check the daemon's configuration and log", cfg.Server)
	}
	b := cfg.Backends[id]
	where := "the config file " + cfg.ConfigPath
	if cfg.ConfigFile == "" {
		where = "a config file at " + cfg.ConfigPath
	}
	switch {
	case b.Type == backends.TypeLocal && b.Implicit:
		return fmt.Sprintf("is the disk holding the store mounted? if the store lives elsewhere, set --store, ARTSTORE_STORE or store in %s; to start a new, empty store here: mkdir -p %s", where, b.Root)
	case b.Type == backends.TypeLocal:
		return fmt.Sprintf("is the disk mounted? check backends.%s.root in %s", id, where)
	case b.Type == backends.TypeS3:
		return fmt.Sprintf("check that the service is up and the endpoint, bucket and credentials of backends.%s in %s are right", id, where)
	}
	return fmt.Sprintf("check backends.%s in %s", id, where)
}
