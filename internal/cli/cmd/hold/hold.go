// Package hold implements `artstore hold` and `artstore hold release`.
package hold

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore hold` and `artstore hold release`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	Ref    string
	Reason string
	// Release releases the hold instead of placing it.
	Release bool
}

// NewCmdHold returns `artstore hold` with its `release` subcommand. runF,
// if not nil, replaces the run function of both.
func NewCmdHold(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "hold REF --reason TEXT",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Short:             "Place a legal hold on an artifact",
		Long: `Place a legal hold on an artifact: while it is held, nothing deletes it,
neither artstore rm nor retention (exit status 7 for rm). The hold and
its reason are recorded in the event log with who placed it. Release it
with "artstore hold release REF".`,
		Example: `  $ artstore hold evidence/disk.img:1 --reason "case 2026-17"
  held evidence/disk.img:1 (legal hold: case 2026-17)
  $ artstore hold release evidence/disk.img:1
  released the legal hold on evidence/disk.img:1

  # JSON: the artifact, as artstore show --json prints it
  $ artstore hold evidence/disk.img:1 --reason audit --json`,
		Args: cmdutil.ExactArgs(1, "the artifact to hold, like evidence/disk.img:1"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if opts.Reason == "" {
				return cmdutil.FlagErrorf("--reason is required: say why the artifact is held (it is recorded)")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return holdRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why the artifact is held (`TEXT`, recorded in the log)")

	ropts := &Options{IO: f.IO, Config: f.Config, Client: f.Client, Release: true}
	release := &cobra.Command{
		Use:               "release REF",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Short:             "Release the legal hold on an artifact",
		Long: `Release the legal hold on an artifact, recorded in the event log. The
artifact can then be deleted again, by artstore rm or by retention.`,
		Example: `  $ artstore hold release evidence/disk.img:1`,
		Args:    cmdutil.ExactArgs(1, "the held artifact, like evidence/disk.img:1"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ropts.Ref = args[0]
			if runF != nil {
				return runF(cmd.Context(), ropts)
			}
			return holdRun(cmd.Context(), ropts)
		},
	}
	cmd.AddCommand(release)
	return cmd
}

func holdRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	var a *client.Artifact
	if opts.Release {
		a, err = store.Release(ctx, opts.Ref)
		if err != nil {
			return err // "release hold on REF: ..."
		}
	} else if a, err = store.Hold(ctx, opts.Ref, opts.Reason); err != nil {
		return err // "hold REF: ..."
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, a)
	}
	if cfg.Output.Quiet {
		return nil
	}
	if opts.Release {
		_, err = fmt.Fprintf(opts.IO.Out, "released the legal hold on %s\n", a.Ref)
	} else {
		_, err = fmt.Fprintf(opts.IO.Out, "held %s (legal hold: %s)\n", a.Ref, opts.Reason)
	}
	return err
}
