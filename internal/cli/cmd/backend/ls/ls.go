// Package ls implements `artstore backend ls`.
package ls

import (
	"context"
	"fmt"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
	"github.com/spf13/cobra"
)

// Options are the inputs of `artstore backend ls`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	// Client is the daemon, in remote mode (Config().Server set).
	Client func(context.Context) (client.Store, error)
}

// NewCmdLs returns the command. runF, if not nil, replaces the run function.
func NewCmdLs(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: cmdutil.DaemonCheckClient(f)}
	return &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List the configured storage backends",
		Long: `List the configured storage backends: ID, type, whether it is the default,
and where it keeps blobs. Nothing is contacted; use "artstore backend health"
for that. Credentials are never printed.

With --server or ARTSTORE_SERVER, the daemon's backends are listed instead:
the daemon is asked (GET /v1/backends/health), and one that cannot be
reached exits 6 (unavailable) at once: retry_window does not apply. The
client's own configured backends play no part then.`,
		Example: `  $ artstore backend ls
  ID       TYPE   DEFAULT  LOCATION
  default  local  yes      /home/me/.local/share/artstore/blobs

  # JSON: an array of {"id", "type", "default", "implicit", "location", ...}
  $ artstore backend ls --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return lsRun(cmd.Context(), opts)
		},
	}
}

// Entry is one backend in `backend ls --json`. Field names are stable.
type Entry struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Default   bool   `json:"default"`
	Implicit  bool   `json:"implicit"`
	Location  string `json:"location"`
	Root      string `json:"root,omitempty"`
	Bucket    string `json:"bucket,omitempty"`
	Prefix    string `json:"prefix,omitempty"`
	Region    string `json:"region,omitempty"`
	Endpoint  string `json:"endpoint,omitempty"`
	PathStyle bool   `json:"path_style,omitempty"`
}

func lsRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	var entries []Entry
	if cfg.Server != "" {
		if entries, err = daemonEntries(ctx, opts, cfg); err != nil {
			return err
		}
	} else {
		entries = make([]Entry, 0, len(cfg.Backends))
		for _, id := range cfg.BackendIDs() {
			b := cfg.Backends[id]
			entries = append(entries, Entry{
				ID: id, Type: b.Type, Default: id == cfg.DefaultBackend, Implicit: b.Implicit,
				Location: b.Location(), Root: b.Root, Bucket: b.Bucket, Prefix: b.Prefix,
				Region: b.Region, Endpoint: b.Endpoint, PathStyle: b.PathStyle,
			})
		}
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, entries)
	}
	t := cmdutil.NewTable(opts.IO.Out, "id", "type", "default", "location")
	for _, e := range entries {
		def := ""
		if e.Default {
			def = "yes"
		}
		t.Row(e.ID, e.Type, def, e.Location)
	}
	return t.Flush()
}

// daemonEntries lists the daemon's backends. The daemon stores every blob
// in its one backend, so each it reports is its default; where that backend
// keeps the blobs is the daemon's own configuration.
func daemonEntries(ctx context.Context, opts *Options, cfg *config.Config) ([]Entry, error) {
	st, err := opts.Client(ctx)
	if err != nil {
		return nil, err
	}
	hs, err := cmdutil.DaemonBackends(ctx, cfg, st, 0)
	if err != nil {
		return nil, fmt.Errorf("backend ls: %w", err)
	}
	entries := make([]Entry, 0, len(hs))
	for _, h := range hs {
		entries = append(entries, Entry{ID: h.ID, Type: h.Type, Default: true, Location: "daemon " + cfg.Server})
	}
	return entries, nil
}
