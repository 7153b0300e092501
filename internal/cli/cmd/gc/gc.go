// Package gc implements `artstore gc`.
package gc

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore gc`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	DryRun bool
	Grace  time.Duration
}

// NewCmdGC returns the command. runF, if not nil, replaces the run function.
func NewCmdGC(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Delete blobs no live artifact references",
		Long: `Reclaim the space of deleted artifacts and interrupted pushes: delete
from the backend every blob (manifest or chunk) that no live artifact
references and that was last written before the grace window, and the
temporary upload files of a local backend (left by uploads killed hard)
last written before it too; an upload in progress, in any process, keeps
its files whatever the grace.
gc refuses a backend whose store marker names another event log, or that
holds blobs no log has claimed (docs/configuration.md): it never runs
against a log that has never seen the backend's blobs.

It is safe while others push: each batch of deletions happens inside the
event log's append transaction, after checking again that no artifact
registered meanwhile references the blobs, and registration checks its blobs
inside that same transaction. A push that deduplicated against a blob gc
then deleted has its registration refused and uploads the blob again. The
grace window (default 1h) keeps that rare. Every deletion is recorded in a
blobs.collected event. Removing a blob cannot be undone: use --dry-run to
see what would go. In remote mode it needs an admin token.`,
		Example: `  $ artstore gc --dry-run
  would collect 12 blobs (48.2 MiB) of 1034 in backend default

  $ artstore gc --grace 10m -v        # -v lists each blob
  collected 12 blobs (48.2 MiB) of 1034 in backend default

  # JSON: {"backend", "dry_run", "cutoff", "live_artifacts", "live_blobs",
  #        "scanned", "collected": [{"digest", "size", "mod_time"}],
  #        "blobs", "bytes", "spared", "events"}
  $ artstore gc --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Grace < 0 {
				return cmdutil.FlagErrorf("--grace %s: must not be negative", opts.Grace)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return gcRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list what would be collected; delete nothing")
	cmd.Flags().DurationVar(&opts.Grace, "grace", client.DefaultGCGrace, "keep blobs written within this `duration`")
	return cmd
}

func gcRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := store.GC(ctx, client.GCOptions{DryRun: opts.DryRun, Grace: opts.Grace})
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, rep)
	}
	out := opts.IO.Out
	verb := "collected"
	if rep.DryRun {
		verb = "would collect"
	}
	if cfg.Output.Verbose {
		for _, b := range rep.Collected {
			fmt.Fprintf(out, "%s %s %s\n", verb, b.Digest, textfmt.Bytes(b.Size))
		}
	}
	if cfg.Output.Quiet {
		return nil
	}
	if rep.Blobs == 0 {
		// Say that there was nothing to do, rather than "0 blobs".
		what := "nothing to collect"
		if !rep.DryRun {
			what = "collected nothing"
		}
		_, err = fmt.Fprintf(out, "%s among the %d %s in backend %s\n", what, rep.Scanned, plural(rep.Scanned, "blob", "blobs"), rep.Backend)
	} else {
		_, err = fmt.Fprintf(out, "%s %d %s (%s) of %d in backend %s\n", verb, rep.Blobs, plural(rep.Blobs, "blob", "blobs"),
			textfmt.Bytes(rep.Bytes), rep.Scanned, rep.Backend)
	}
	if err == nil && rep.TempFiles > 0 {
		verb := "removed"
		if rep.DryRun {
			verb = "would remove"
		}
		_, err = fmt.Fprintf(out, "%s %d temporary upload %s (%s) left by killed uploads\n", verb, rep.TempFiles,
			plural(rep.TempFiles, "file", "files"), textfmt.Bytes(rep.TempBytes))
	}
	if err == nil && rep.Spared > 0 {
		_, err = fmt.Fprintf(out, "kept %d %s that pushes referenced or rewrote while gc ran\n", rep.Spared, plural(rep.Spared, "blob", "blobs"))
	}
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
