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
		Use:               "tag REF TAG",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Short:             "Point a tag at an artifact version",
		Long: `Point TAG (for example prod or stable) at the version REF resolves to,
moving it from the version it pointed at before. Tags belong to a name:
"artstore pull reports/q3.pdf:prod" then fetches that version.

Tags are 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' and '-', starting
with a letter or digit, and not all digits (those are version numbers).

Tags matching a pattern of the config key tags.protected (for example v*
or release-*) are never moved once set: tagging another version with one
fails with exit status 5. A daemon applies its own configuration.`,
		Example: `  $ artstore tag reports/q3.pdf:1 prod
  tagged reports/q3.pdf:1 as prod
  $ artstore tag reports/q3.pdf:2 prod
  moved prod from reports/q3.pdf:1 to reports/q3.pdf:2

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
	var before *client.Artifact
	if !cfg.Output.JSON && !cfg.Output.Quiet {
		before = tagged(ctx, store, opts.Ref, opts.Tag)
	}
	art, err := store.Tag(ctx, opts.Ref, opts.Tag)
	if err != nil {
		return err
	}
	switch {
	case cfg.Output.JSON:
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, art)
	case cfg.Output.Quiet:
		return nil
	case before != nil && before.ID == art.ID:
		_, err = fmt.Fprintf(opts.IO.Out, "%s already points at %s\n", opts.Tag, art.Ref)
	case before != nil:
		_, err = fmt.Fprintf(opts.IO.Out, "moved %s from %s to %s\n", opts.Tag, before.Ref, art.Ref)
	default:
		_, err = fmt.Fprintf(opts.IO.Out, "tagged %s as %s\n", art.Ref, opts.Tag)
	}
	return err
}

// tagged returns the version tag points at among ref's versions before the
// change, or nil when it is not set (or that cannot be told: the message
// then says "tagged"; the Tag call reports real failures).
func tagged(ctx context.Context, store client.Store, ref, tag string) *client.Artifact {
	target, err := store.Get(ctx, ref)
	if err != nil {
		return nil
	}
	prev, err := store.Get(ctx, target.Name+":"+tag)
	if err != nil {
		return nil
	}
	return prev
}
