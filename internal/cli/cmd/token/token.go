// Package token implements `artstore token create|ls|revoke`.
package token

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// Tokens is what the token commands need: the daemon's API (with --server)
// or the token table of a log opened directly (with --log).
type Tokens interface {
	Create(ctx context.Context, req client.TokenRequest) (*client.TokenCreated, error)
	List(ctx context.Context) ([]client.TokenInfo, error)
	Revoke(ctx context.Context, id string) (*client.TokenInfo, error)
	Close() error
}

// Options are the inputs of the token commands.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	// Open returns the token store; tests replace it.
	Open func(ctx context.Context, log string) (Tokens, error)

	Log     string
	Request client.TokenRequest
	ID      string
}

// NewCmdToken returns the `token` parent command.
func NewCmdToken(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token <command>",
		Short: "Manage the daemon's API tokens",
		Long: `Create, list and revoke the bearer tokens that clients of 'artstore serve'
present (ARTSTORE_TOKEN).

A token has a scope: read (get, list, pull, lineage, events, log
verification), write (also push, tag, label, retention, holds, delete) or
admin (also tokens and rebuild); and optionally a name prefix that limits the
artifacts it may touch. Its name is recorded as the actor of everything it
does. Secrets are shown once, at creation, and stored only as a SHA-256 hash.

The commands work through the daemon with --server / ARTSTORE_SERVER and an
admin token, or directly on the daemon's event log with --log (a PostgreSQL
DSN or a SQLite file; without --server the store's own log): use that to
create the first tokens before the daemon runs, or to recover access.`,
		Example: `  $ artstore token create --scope write --prefix reports/ --name ci-reports --expires 2160h
  $ artstore token ls
  $ artstore token revoke 7q3xk2m4c5d6e7f8`,
	}
	cmdutil.MakeParent(cmd)
	cmd.AddCommand(NewCmdCreate(f, nil), NewCmdList(f, nil), NewCmdRevoke(f, nil))
	return cmd
}

func newOptions(f *cmdutil.Factory) *Options {
	opts := &Options{IO: f.IO, Config: f.Config}
	opts.Open = func(ctx context.Context, log string) (Tokens, error) { return open(ctx, f, opts.Config, log) }
	return opts
}

func addLogFlag(cmd *cobra.Command, opts *Options) {
	cmd.Flags().StringVar(&opts.Log, "log", "", "work on this event log `DSN` (postgres://... or a SQLite file) instead of through a daemon")
}

// NewCmdCreate returns `token create`.
func NewCmdCreate(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	cmd := &cobra.Command{
		Use:   "create --scope SCOPE",
		Short: "Create an API token and print its secret once",
		Long: `Create an API token and print it on stdout; it is never shown again.
With --json, print {"token", "id", "name", "scope", "prefix", "expires_at", ...}.`,
		Example: `  $ artstore token create --scope read
  $ TOKEN=$(artstore token create --scope write --prefix builds/ --name ci --expires 720h)`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Request.Scope == "" {
				return cmdutil.FlagErrorf("--scope is required: read, write or admin")
			}
			if _, err := app.TokenSpec(opts.Request); err != nil {
				return cmdutil.FlagErrorf("%v", err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return createRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Request.Scope, "scope", "", "`SCOPE` of the token: read, write or admin (required)")
	fl.StringVar(&opts.Request.Prefix, "prefix", "", "limit the token to artifact names starting with `PREFIX`")
	fl.StringVar(&opts.Request.Expires, "expires", "", "expire the token after `DURATION` (e.g. 720h; default never)")
	fl.StringVar(&opts.Request.Name, "name", "", "`NAME` recorded as the actor of what the token does (default token-<id>)")
	addLogFlag(cmd, opts)
	return cmd
}

func createRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	ts, err := opts.Open(ctx, opts.Log)
	if err != nil {
		return err
	}
	defer ts.Close()
	t, err := ts.Create(ctx, opts.Request)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, t)
	}
	opts.IO.Infof("created token %s (%s, scope %s%s); it is shown only this once:", t.ID, t.Name, t.Scope, prefixText(t.Prefix))
	_, err = fmt.Fprintln(opts.IO.Out, t.Token)
	return err
}

func prefixText(p string) string {
	if p == "" {
		return ""
	}
	return ", names " + p + "*"
}

// NewCmdList returns `token ls`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List API tokens (never their secrets)",
		Long: `List every API token, active, expired or revoked, oldest first. Secrets are
never shown. With --json, print an array of {"id", "name", "scope", "prefix",
"expires_at", "created_at", "created_by", "revoked_at", "revoked_by", "status"}.`,
		Example: `  $ artstore token ls
  ID                NAME       SCOPE  PREFIX    STATUS   EXPIRES               CREATED
  7q3xk2m4c5d6e7f8  bootstrap  admin            active   never                 2026-01-02T10:00:00Z`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	addLogFlag(cmd, opts)
	return cmd
}

func listRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	ts, err := opts.Open(ctx, opts.Log)
	if err != nil {
		return err
	}
	defer ts.Close()
	list, err := ts.List(ctx)
	if err != nil {
		return fmt.Errorf("list tokens: %w", err)
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, list)
	}
	return writeTable(opts.IO.Out, list)
}

func writeTable(w io.Writer, list []client.TokenInfo) error {
	t := cmdutil.NewTable(w, "ID", "NAME", "SCOPE", "PREFIX", "STATUS", "EXPIRES", "CREATED")
	for _, tk := range list {
		exp := "never"
		if tk.ExpiresAt != nil {
			exp = tk.ExpiresAt.UTC().Format(time.RFC3339)
		}
		t.Row(tk.ID, tk.Name, tk.Scope, tk.Prefix, tk.Status, exp, tk.CreatedAt.UTC().Format(time.RFC3339))
	}
	return t.Flush()
}

// NewCmdRevoke returns `token revoke`.
func NewCmdRevoke(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token",
		Long: `Revoke the token with the ID (see 'artstore token ls'): requests bearing it
are refused from then on (by other daemons sharing the log within a second).
Revoking a revoked token changes nothing.`,
		Example: `  $ artstore token revoke 7q3xk2m4c5d6e7f8`,
		Args:    cmdutil.ExactArgs(1, "a token ID (see artstore token ls)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return revokeRun(cmd.Context(), opts)
		},
	}
	addLogFlag(cmd, opts)
	return cmd
}

func revokeRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	ts, err := opts.Open(ctx, opts.Log)
	if err != nil {
		return err
	}
	defer ts.Close()
	t, err := ts.Revoke(ctx, opts.ID)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, t)
	}
	opts.IO.Infof("revoked token %s (%s)", t.ID, t.Name)
	return nil
}

// open returns the daemon's token API with --server (and no --log), else
// the token table of the log at logDSN (default: the store's SQLite log).
func open(ctx context.Context, f *cmdutil.Factory, cfgFn func() (*config.Config, error), logDSN string) (Tokens, error) {
	cfg, err := cfgFn()
	if err != nil {
		return nil, err
	}
	if logDSN == "" && cfg.Server != "" {
		r, err := client.OpenRemote(ctx, cmdutil.RemoteOptions(cfg, f.Notice(cfg)))
		if err != nil {
			return nil, err
		}
		return remoteTokens{r}, nil
	}
	if logDSN == "" {
		logDSN = filepath.Join(cfg.Store, client.LogFileName)
	}
	svc, err := app.Open(ctx, app.Config{Log: logDSN})
	if err != nil {
		return nil, cmdutil.Mark(err, client.ErrUnavailable)
	}
	return &logTokens{svc: svc, self: app.Principal{Actor: cmdutil.Actor(f.LookupEnv)}}, nil
}

type remoteTokens struct{ r *client.Remote }

func (t remoteTokens) Create(ctx context.Context, req client.TokenRequest) (*client.TokenCreated, error) {
	return t.r.CreateToken(ctx, req)
}
func (t remoteTokens) List(ctx context.Context) ([]client.TokenInfo, error) {
	return t.r.ListTokens(ctx)
}
func (t remoteTokens) Revoke(ctx context.Context, id string) (*client.TokenInfo, error) {
	return t.r.RevokeToken(ctx, id)
}
func (t remoteTokens) Close() error { return t.r.Close() }

// logTokens works on a log directly; the actor is the local user.
type logTokens struct {
	svc  *app.Service
	self app.Principal
}

func (t *logTokens) Create(ctx context.Context, req client.TokenRequest) (*client.TokenCreated, error) {
	tc, err := t.svc.CreateToken(ctx, t.self, req)
	if err != nil {
		return nil, app.Sentinel(err)
	}
	return &tc, nil
}

func (t *logTokens) List(ctx context.Context) ([]client.TokenInfo, error) {
	ts, err := t.svc.ListTokens(ctx)
	return ts, app.Sentinel(err)
}

func (t *logTokens) Revoke(ctx context.Context, id string) (*client.TokenInfo, error) {
	ti, err := t.svc.RevokeToken(ctx, t.self, id)
	if err != nil {
		return nil, app.Sentinel(err)
	}
	return &ti, nil
}

func (t *logTokens) Close() error { return t.svc.Close() }
