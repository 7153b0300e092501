// Package tag implements `artstore tag`.
package tag

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore tag`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	Ref, Tag string
}

// NewCmdTag returns the command. runF, if not nil, replaces the run function.
func NewCmdTag(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	return &cobra.Command{
		Use:   "tag REF TAG",
		Short: "Point a tag at an artifact version",
		Long: `Point TAG (for example prod or stable) at the version REF resolves to,
moving it from the version it pointed at before. Tags belong to a name:
"artstore pull reports/q3.pdf:prod" then fetches that version.

Tags are 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' and '-', starting
with a letter or digit, and not all digits (those are version numbers).`,
		Example: `  $ artstore tag reports/q3.pdf:2 prod
  tagged reports/q3.pdf:2 as prod

  # JSON: the artifact, as in "artstore show --json"
  $ artstore tag releases/app:2.4.0 stable --json`,
		Args: cmdutil.ExactArgs(2, "an artifact reference and a tag, like reports/q3.pdf:2 prod"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref, opts.Tag = args[0], args[1]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return tagRun(cmd.Context(), opts)
		},
	}
}

func tagRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	art, err := store.Tag(ctx, opts.Ref, opts.Tag)
	if err != nil {
		return err
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, art)
	}
	_, err = fmt.Fprintf(opts.IO.Out, "tagged %s as %s\n", art.Ref, opts.Tag)
	return err
}
