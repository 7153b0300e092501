package retention

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// SetOptions are the inputs of `artstore retention set`.
type SetOptions struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	Ref string
	Req client.RetentionRequest
}

// NewCmdSet returns `retention set`. runF, if not nil, replaces the run
// function.
func NewCmdSet(f *cmdutil.Factory, runF func(context.Context, *SetOptions) error) *cobra.Command {
	opts := &SetOptions{IO: f.IO, Config: f.Config, Client: f.Client}
	var expireAfter, expiresAt, immutableUntil string
	cmd := &cobra.Command{
		Use:               "set REF",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Short:             "Set an artifact's expiry or immutability",
		Long: `Set when one artifact expires (--expire-after, counted from its creation,
or --expires-at) and until when it is immutable (--immutable-until). After
its expiry "artstore retention apply" deletes it, unless a legal hold or
immutability protects it. Before immutable-until nobody can delete it, and
the date can be moved later but never earlier (exit status 7).

Times are dates (2027-12-31, midnight UTC) or RFC 3339 times; durations are
days (90d), weeks (2w) or hours and minutes (36h).`,
		Example: `  $ artstore retention set reports/q3.pdf:1 --expire-after 90d
  set retention of reports/q3.pdf:1: expires 2026-04-29T10:00:00Z, immutable until none
  $ artstore retention set evidence/disk.img:1 --immutable-until 2027-12-31

  # JSON: the artifact, as artstore show --json prints it
  $ artstore retention set reports/q3.pdf:1 --expires-at 2026-12-31 --json`,
		Args: cmdutil.ExactArgs(1, "the artifact, like reports/q3.pdf:1"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if expireAfter != "" && expiresAt != "" {
				return cmdutil.FlagErrorf("give --expire-after or --expires-at, not both")
			}
			if expireAfter == "" && expiresAt == "" && immutableUntil == "" {
				return cmdutil.FlagErrorf("give --expire-after, --expires-at or --immutable-until")
			}
			if expireAfter != "" {
				d, err := client.ParseRetentionDuration(expireAfter)
				if err != nil {
					return cmdutil.FlagErrorf("--expire-after %q: want days (90d), weeks (2w) or a duration (36h)", expireAfter)
				}
				opts.Req.ExpireAfter = &d
			}
			for _, f := range []struct {
				name, v string
				dst     **time.Time
			}{{"expires-at", expiresAt, &opts.Req.ExpiresAt}, {"immutable-until", immutableUntil, &opts.Req.ImmutableUntil}} {
				if f.v == "" {
					continue
				}
				t, err := parseWhen(f.name, f.v)
				if err != nil {
					return err
				}
				*f.dst = &t
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return setRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&expireAfter, "expire-after", "", "expire this `duration` after creation (90d, 2w, 36h)")
	cmd.Flags().StringVar(&expiresAt, "expires-at", "", "expire at this `time` (2026-12-31 or RFC 3339)")
	cmd.Flags().StringVar(&immutableUntil, "immutable-until", "", "forbid deletion until this `time` (WORM)")
	return cmd
}

func setRun(ctx context.Context, opts *SetOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	a, err := store.SetRetention(ctx, opts.Ref, opts.Req)
	if err != nil {
		return err // "set retention: ..."
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, a)
	}
	if cfg.Output.Quiet {
		return nil
	}
	_, err = fmt.Fprintf(opts.IO.Out, "set retention of %s: expires %s, immutable until %s\n", a.Ref, when(a.Retention.ExpiresAt), when(a.Retention.ImmutableUntil))
	return err
}
