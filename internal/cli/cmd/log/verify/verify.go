// Package verify implements `artstore log verify`.
package verify

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore log verify`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)
}

// NewCmdVerify returns the command. runF, if not nil, replaces the run function.
func NewCmdVerify(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	return &cobra.Command{
		Use:   "verify",
		Short: "Check the event log's hash chain",
		Long: `Re-read every event of the log and check that each one's hash covers its
stored bytes and the previous event's hash, from the first event to the
head. A log edited, truncated in the middle or reordered outside artstore
fails (exit status 4), naming the first bad event. The head hash printed
can be written down and compared later.`,
		Example: `  $ artstore log verify
  ok: 1284 events, head 5d1c0e7a...

  # JSON: {"ok", "events", "head", "first_bad", "problem"}
  $ artstore log verify --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return verifyRun(cmd.Context(), opts)
		},
	}
}

func verifyRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := store.VerifyLog(ctx)
	if err != nil {
		return fmt.Errorf("log verify: %w", err)
	}
	if cfg.Output.JSON {
		if err := cmdutil.WriteJSON(opts.IO.Out, cfg.Output, rep); err != nil {
			return err
		}
	} else if rep.OK {
		if _, err := fmt.Fprintf(opts.IO.Out, "ok: %d events, head %s\n", rep.Events, headOrNone(rep.Head)); err != nil {
			return err
		}
	} else {
		if _, err := fmt.Fprintf(opts.IO.Out, "BROKEN at event %d: %s\n", rep.FirstBad, rep.Problem); err != nil {
			return err
		}
	}
	if !rep.OK {
		return cmdutil.Mark(fmt.Errorf("the event log's hash chain is broken at event %d: %s (the log was changed outside artstore: restore it from a backup, and keep the damaged copy as evidence)", rep.FirstBad, rep.Problem), client.ErrIntegrity)
	}
	return nil
}

func headOrNone(h string) string {
	if h == "" {
		return "(empty log)"
	}
	return h
}
