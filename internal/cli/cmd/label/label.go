// Package label implements `artstore label`.
package label

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/artfmt"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore label`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	Ref    string
	Set    map[string]string
	Remove []string
}

// NewCmdLabel returns the command. runF, if not nil, replaces the run function.
func NewCmdLabel(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "label REF KEY=VALUE... [--rm KEY]...",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Short:             "Set or remove an artifact's labels",
		Long: `Set labels (KEY=VALUE) on an artifact version and remove others (--rm KEY),
in one recorded change, and print the labels it has afterwards. Labels are
what "artstore ls --label" selects on.

A key is 1 to 128 characters starting with a letter or digit, of A-Z, a-z,
0-9, '.', '_', '-' and '/'; a value is printable text of at most 256 bytes
and may be empty.`,
		Example: `  $ artstore label reports/q3.pdf:2 env=prod reviewed-by=alice
  $ artstore label reports/q3.pdf:2 --rm reviewed-by
  $ artstore ls --label env=prod

  # JSON: the artifact, as in "artstore show --json"
  $ artstore label reports/q3.pdf:2 env=staging --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("%s: missing argument: the artifact to label, like reports/q3.pdf:2", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			set, err := artfmt.ParseLabels(args[1:])
			if err != nil {
				return cmdutil.FlagErrorWrap(err)
			}
			opts.Set = set
			if len(opts.Set) == 0 && len(opts.Remove) == 0 {
				return cmdutil.FlagErrorf("nothing to change: give labels as KEY=VALUE or remove them with --rm KEY")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labelRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.Remove, "rm", nil, "remove the label `KEY` (repeatable)")
	return cmd
}

func labelRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	art, err := store.Label(ctx, opts.Ref, opts.Set, opts.Remove)
	if err != nil {
		return err
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, art)
	}
	if cfg.Output.Quiet {
		return nil
	}
	keys := make([]string, 0, len(art.Labels))
	for k := range art.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		_, err = fmt.Fprintf(opts.IO.Out, "%s has no labels\n", art.Ref)
		return err
	}
	if _, err := fmt.Fprintf(opts.IO.Out, "%s labels:\n", art.Ref); err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := fmt.Fprintf(opts.IO.Out, "  %s=%s\n", k, art.Labels[k]); err != nil {
			return err
		}
	}
	return nil
}
