package retention

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// ApplyOptions are the inputs of `artstore retention apply`.
type ApplyOptions struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	DryRun  bool
	Explain string
}

// NewCmdApply returns `retention apply`. runF, if not nil, replaces the
// run function.
func NewCmdApply(f *cmdutil.Factory, runF func(context.Context, *ApplyOptions) error) *cobra.Command {
	opts := &ApplyOptions{IO: f.IO, Config: f.Config, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Delete the artifacts whose retention ran out",
		Long: `Delete every live artifact whose own expiry has passed or that a retention
rule expires, unless a legal hold or immutability protects it. Each line
says what was removed and why (the rule or the deadline); the deletion
events record the same reason. Nothing is printed when nothing is due.
--dry-run lists what would be removed; --explain REF says what retention
weighs for one artifact. In remote mode it needs an admin token (except
--explain). The bytes are reclaimed by artstore gc.`,
		Example: `  $ artstore retention apply --dry-run
  would remove logs/app:3 (id 01JDQ...): retention: rule 01JDQ... (logs/*: expire-after 30d, keep-last 10): created 2026-01-01T00:00:00Z, expired 2026-01-31T00:00:00Z
  $ artstore retention apply --explain logs/app:3

  # JSON: {"dry_run", "expired": [{"artifact", "rule", "deadline", "reason", "deleted", "skipped"}]};
  # with --explain: {"artifact", "due", "lines"}
  $ artstore retention apply --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Explain != "" && opts.DryRun {
				return cmdutil.FlagErrorf("--explain deletes nothing; drop --dry-run")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return applyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "list what would be removed; remove nothing")
	cmd.Flags().StringVar(&opts.Explain, "explain", "", "say what retention weighs for the artifact `REF`; remove nothing")
	return cmd
}

func applyRun(ctx context.Context, opts *ApplyOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	out := opts.IO.Out
	if opts.Explain != "" {
		v, err := store.ExplainRetention(ctx, opts.Explain)
		if err != nil {
			return fmt.Errorf("retention apply --explain: %w", err)
		}
		if cfg.Output.JSON {
			return cmdutil.WriteJSON(out, cfg.Output, v)
		}
		fmt.Fprintf(out, "%s (id %s)\n", v.Artifact.Ref, v.Artifact.ID)
		for _, l := range v.Lines {
			fmt.Fprintf(out, "  %s\n", l)
		}
		return nil
	}
	rep, err := store.ApplyRetention(ctx, opts.DryRun)
	if err != nil {
		return fmt.Errorf("retention apply: %w", err)
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(out, cfg.Output, rep)
	}
	if len(rep.Expired) == 0 {
		if rep.DryRun {
			opts.IO.Infof("nothing to remove: no artifact's retention has run out")
		} else {
			opts.IO.Infof("removed nothing: no artifact's retention has run out")
		}
		return nil
	}
	for _, e := range rep.Expired {
		switch {
		case rep.DryRun:
			fmt.Fprintf(out, "would remove %s (id %s): %s\n", e.Artifact.Ref, e.Artifact.ID, e.Reason)
		case cfg.Output.Quiet:
			// Confirmations are not printed under -q.
		case e.Deleted:
			fmt.Fprintf(out, "removed %s (id %s): %s\n", e.Artifact.Ref, e.Artifact.ID, e.Reason)
		default:
			fmt.Fprintf(out, "kept %s (id %s): %s\n", e.Artifact.Ref, e.Artifact.ID, e.Skipped)
		}
	}
	return nil
}
