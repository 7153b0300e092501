// Package rm implements `artstore rm`.
package rm

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore rm`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	Ref    string
	DryRun bool
}

// Result is the JSON output of rm.
type Result struct {
	DryRun  bool            `json:"dry_run"`
	Removed client.Artifact `json:"removed"`
}

// NewCmdRm returns the command. runF, if not nil, replaces the run function.
func NewCmdRm(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "rm REF",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Aliases:           []string{"remove"},
		Short:             "Remove an artifact version",
		Long: `Remove one artifact version and say exactly which. The removal is recorded
in the event log (a tombstone): from then on the version does not resolve, is not
listed (except by "artstore ls --all") and cannot be pulled. Its bytes are
reclaimed later by garbage collection, unless another version shares them.
Its tags go with it, and rm names them: after removing the version latest
names, a bare name resolves to nothing until a push or "artstore tag" moves
latest again.

A legal hold or an immutability period refuses the removal (exit status 7).
--dry-run says what would be removed and changes nothing.`,
		Example: `  $ artstore rm reports/q3.pdf:1 --dry-run
  would remove reports/q3.pdf:1 (id 01JDQ..., 1.1 MiB, sha256:1e4a...)
  $ artstore rm reports/q3.pdf:2
  removed reports/q3.pdf:2 (id 01JDR..., 1.2 MiB, sha256:9b07...)
    its tags went with it: latest (artstore tag reports/q3.pdf:VERSION TAG points one at another version)

  # JSON: {"dry_run": false, "removed": {artifact}}
  $ artstore rm reports/q3.pdf:1 --json`,
		Args: cmdutil.ExactArgs(1, "the artifact version to remove, like reports/q3.pdf:1"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return rmRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.DryRun, "dry-run", "n", false, "say what would be removed, remove nothing")
	return cmd
}

func rmRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	var (
		art  *client.Artifact
		tags []string // the tags the version held just before its removal
	)
	if opts.DryRun {
		art, err = store.Get(ctx, opts.Ref)
		if err == nil && art.Deleted {
			err = cmdutil.Mark(fmt.Errorf("%s was already removed", art.Ref), client.ErrNotFound)
		}
		if err == nil {
			tags = art.Tags
		}
	} else {
		// A removed version has no tags any more: look first, to say
		// which went with it. The removal decides the outcome; the look
		// only adds to the message, for the artifact it names.
		var before *client.Artifact
		if !cfg.Output.JSON && !cfg.Output.Quiet {
			if b, err := store.Get(ctx, opts.Ref); err == nil {
				before = b
			}
		}
		art, err = store.Delete(ctx, opts.Ref)
		if err == nil && before != nil && before.ID == art.ID {
			tags = before.Tags
		}
	}
	if err != nil {
		return err
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, Result{DryRun: opts.DryRun, Removed: *art})
	}
	verb, goes := "removed", "went"
	switch {
	case opts.DryRun:
		verb, goes = "would remove", "would go" // what was asked for: printed under -q too
	case cfg.Output.Quiet:
		return nil
	}
	if _, err := fmt.Fprintf(opts.IO.Out, "%s %s (id %s, %s, %s)\n", verb, art.Ref, art.ID, textfmt.Bytes(art.Size), art.ContentDigest); err != nil {
		return err
	}
	if len(tags) == 0 || cfg.Output.Quiet {
		return nil
	}
	_, err = fmt.Fprintf(opts.IO.Out, "  its tags %s with it: %s (artstore tag %s:VERSION TAG points one at another version)\n",
		goes, strings.Join(tags, ", "), art.Name)
	return err
}
