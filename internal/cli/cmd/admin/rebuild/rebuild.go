// Package rebuild implements `artstore admin rebuild`.
package rebuild

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore admin rebuild`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)
}

// Result is the JSON output of admin rebuild.
type Result struct {
	Events int64  `json:"events"`
	Head   string `json:"head"`
}

// NewCmdRebuild returns the command. runF, if not nil, replaces the run function.
func NewCmdRebuild(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	return &cobra.Command{
		Use:   "rebuild",
		Short: "Recompute every view from the event log",
		Long: `Throw away the views (the tables of artifacts, tags, labels, lineage,
retention and retrievals) and replay every event of the log into them, in
one transaction: readers see the old views until the new ones are complete.
The event log is the truth and the views are derived from it, so a rebuild
changes nothing a command shows unless a view had gone wrong. The hash
chain is verified afterwards, and the number of events replayed printed.`,
		Example: `  $ artstore admin rebuild
  rebuilt the views from 1284 events (head 5d1c0e7a...)

  # JSON: {"events", "head"}
  $ artstore admin rebuild --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return rebuildRun(cmd.Context(), opts)
		},
	}
}

func rebuildRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Rebuild(ctx); err != nil {
		return fmt.Errorf("admin rebuild: %w", err)
	}
	rep, err := store.VerifyLog(ctx)
	if err != nil {
		return fmt.Errorf("admin rebuild: views rebuilt, but verifying the log failed: %w", err)
	}
	if !rep.OK {
		return cmdutil.Mark(fmt.Errorf("admin rebuild: views rebuilt, but the log's hash chain is broken at event %d: %s (run artstore log verify)", rep.FirstBad, rep.Problem), client.ErrIntegrity)
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, Result{Events: rep.Events, Head: rep.Head})
	}
	if cfg.Output.Quiet {
		return nil
	}
	head := rep.Head
	if head == "" {
		head = "empty log"
	}
	_, err = fmt.Fprintf(opts.IO.Out, "rebuilt the views from %d events (head %s)\n", rep.Events, head)
	return err
}
