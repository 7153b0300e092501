// Package browse implements `artstore browse`, the terminal provenance
// browser (internal/tui).
package browse

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/tui"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore browse`.
type Options struct {
	IO     *iostreams.IOStreams
	Client func(context.Context) (client.Store, error)
	// Run runs the browser (tui.Run).
	Run func(ctx context.Context, store client.Store, opts tui.Options) error

	Ref string
}

// NewCmdBrowse returns the command. runF, if not nil, replaces the run function.
func NewCmdBrowse(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Client: f.Client, Run: tui.Run}
	return &cobra.Command{
		Use:               "browse [REF]",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Short:             "Explore artifacts and their provenance in a terminal UI",
		Long: `Open an interactive browser: a filterable list of artifacts, newest
first, the details of the selected one, and its lineage, up to its inputs
and down to what was made from it. With REF it opens on that artifact.
Press ? for the keys.

It needs a terminal; in scripts use "artstore ls" and "artstore lineage
REF --json" (exit status 2 otherwise). NO_COLOR turns colours off.`,
		Example: `  $ artstore browse
  $ artstore browse releases/app:2.4.0`,
		Args: cmdutil.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Ref = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return browseRun(cmd.Context(), opts)
		},
	}
}

func browseRun(ctx context.Context, opts *Options) error {
	// Say what to do instead before opening a store a pipe cannot browse.
	if !opts.IO.IsStdoutTTY() {
		return cmdutil.FlagErrorWrap(tui.ErrNotTerminal)
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	err = opts.Run(ctx, store, tui.Options{
		In: opts.IO.In, Out: opts.IO.Out, InitialRef: opts.Ref, NoColor: !opts.IO.ColorEnabled(),
	})
	if errors.Is(err, tui.ErrNotTerminal) {
		return cmdutil.FlagErrorWrap(err)
	}
	return err
}
