package retention

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/artfmt"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// NewCmdRule returns the `retention rule` group.
func NewCmdRule(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rule <command>",
		Short: "Manage retention policy rules",
		Long: `A retention rule applies to every artifact whose name matches its pattern
('*' matches any characters, '/' included; '?' one character): artifacts
expire --expire-after their creation, except the --keep-last newest
versions of each name. A rule with only --keep-last expires all but the
newest versions at once. Rules are events in the log; in remote mode adding
and removing them needs an admin token. "artstore retention apply" acts on
them.`,
		Example: `  $ artstore retention rule add 'logs/*' --expire-after 30d --keep-last 10
  $ artstore retention rule ls
  $ artstore retention rule rm 01JDQ...`,
	}
	cmdutil.MakeParent(cmd)
	cmd.AddCommand(NewCmdRuleAdd(f, nil), NewCmdRuleLs(f, nil), NewCmdRuleRm(f, nil))
	return cmd
}

// RuleOptions are the inputs of `retention rule add`, `ls` and `rm`.
type RuleOptions struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	// Req is the rule to add (add); ID the rule to remove (rm).
	Req client.RetentionRuleRequest
	ID  string
}

func newRuleOptions(f *cmdutil.Factory) *RuleOptions {
	return &RuleOptions{IO: f.IO, Config: f.Config, Client: f.Client}
}

// NewCmdRuleAdd returns `retention rule add`.
func NewCmdRuleAdd(f *cmdutil.Factory, runF func(context.Context, *RuleOptions) error) *cobra.Command {
	opts := newRuleOptions(f)
	cmd := &cobra.Command{
		Use:   "add PATTERN",
		Short: "Add a retention rule",
		Long: `Add a rule: artifacts whose name matches PATTERN expire --expire-after
their creation, except the --keep-last newest versions of each name. Give
either or both. Quote the pattern so the shell leaves '*' alone.`,
		Example: `  $ artstore retention rule add 'logs/*' --expire-after 30d --keep-last 10
  added rule 01JDQ... (logs/*: expire-after 30d, keep-last 10)

  # JSON: {"id", "pattern", "expire_after", "expire_after_seconds", "keep_last", "added_at", "added_by"}
  $ artstore retention rule add 'tmp/*' --keep-last 1 --json`,
		Args: cmdutil.ExactArgs(1, "the name pattern, like 'logs/*'"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Req.Pattern = args[0]
			if opts.Req.KeepLast < 0 {
				return cmdutil.FlagErrorf("--keep-last %d: must not be negative", opts.Req.KeepLast)
			}
			if opts.Req.ExpireAfter == "" && opts.Req.KeepLast == 0 {
				return cmdutil.FlagErrorf("give --expire-after, --keep-last or both")
			}
			if opts.Req.ExpireAfter != "" {
				if _, err := client.ParseRetentionDuration(opts.Req.ExpireAfter); err != nil {
					return cmdutil.FlagErrorf("--expire-after %q: want days (30d), weeks (2w) or a duration (36h)", opts.Req.ExpireAfter)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return ruleAddRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Req.ExpireAfter, "expire-after", "", "expire artifacts this `duration` after creation (30d, 2w, 36h)")
	cmd.Flags().IntVar(&opts.Req.KeepLast, "keep-last", 0, "always keep the `N` newest versions of each name")
	return cmd
}

// describe renders a rule as "ID (pattern: expire-after X, keep-last N)".
func describe(r client.RetentionRule) string {
	s := r.ID + " (" + r.Pattern + ":"
	sep := " "
	if r.ExpireAfter != "" {
		s += sep + "expire-after " + r.ExpireAfter
		sep = ", "
	}
	if r.KeepLast > 0 {
		s += sep + "keep-last " + strconv.Itoa(r.KeepLast)
	}
	return s + ")"
}

func ruleAddRun(ctx context.Context, opts *RuleOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	r, err := store.AddRetentionRule(ctx, opts.Req)
	if err != nil {
		return fmt.Errorf("retention rule add: %w", err)
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, r)
	}
	if cfg.Output.Quiet {
		return nil
	}
	_, err = fmt.Fprintf(opts.IO.Out, "added rule %s\n", describe(*r))
	return err
}

// NewCmdRuleLs returns `retention rule ls`.
func NewCmdRuleLs(f *cmdutil.Factory, runF func(context.Context, *RuleOptions) error) *cobra.Command {
	opts := newRuleOptions(f)
	return &cobra.Command{
		Use:   "ls",
		Short: "List the retention rules",
		Long:  `List the retention rules in force, oldest first.`,
		Example: `  $ artstore retention rule ls
  ID        PATTERN  EXPIRE AFTER  KEEP LAST  ADDED                 BY
  01JDQ...  logs/*   30d           10         2026-03-01T12:00:00Z  alice

  # JSON: an array of rules, as rule add --json prints them
  $ artstore retention rule ls --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return ruleLsRun(cmd.Context(), opts)
		},
	}
}

func ruleLsRun(ctx context.Context, opts *RuleOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	rs, err := store.RetentionRules(ctx)
	if err != nil {
		return fmt.Errorf("retention rule ls: %w", err)
	}
	if cfg.Output.JSON {
		if rs == nil {
			rs = []client.RetentionRule{}
		}
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, rs)
	}
	if len(rs) == 0 {
		if !cfg.Output.Quiet {
			fmt.Fprintln(opts.IO.ErrOut, "no retention rules")
		}
		return nil
	}
	t := cmdutil.NewTable(opts.IO.Out, "ID", "PATTERN", "EXPIRE AFTER", "KEEP LAST", "ADDED", "BY")
	for _, r := range rs {
		after, keep := "-", "-"
		if r.ExpireAfter != "" {
			after = r.ExpireAfter
		}
		if r.KeepLast > 0 {
			keep = strconv.Itoa(r.KeepLast)
		}
		t.Row(r.ID, textfmt.Sanitize(r.Pattern), after, keep, artfmt.Time(r.AddedAt), textfmt.Sanitize(r.AddedBy))
	}
	return t.Flush()
}

// NewCmdRuleRm returns `retention rule rm`.
func NewCmdRuleRm(f *cmdutil.Factory, runF func(context.Context, *RuleOptions) error) *cobra.Command {
	opts := newRuleOptions(f)
	return &cobra.Command{
		Use:   "rm ID",
		Short: "Remove a retention rule",
		Long: `Remove a retention rule by its ID (artstore retention rule ls lists them).
Artifacts it already expired stay deleted; it expires nothing more.`,
		Example: `  $ artstore retention rule rm 01JDQ...
  removed rule 01JDQ... (logs/*: expire-after 30d, keep-last 10)`,
		Args: cmdutil.ExactArgs(1, "the rule ID (artstore retention rule ls)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return ruleRmRun(cmd.Context(), opts)
		},
	}
}

func ruleRmRun(ctx context.Context, opts *RuleOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	r, err := store.RemoveRetentionRule(ctx, opts.ID)
	if err != nil {
		return fmt.Errorf("retention rule rm: %w", err)
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, r)
	}
	if cfg.Output.Quiet {
		return nil
	}
	_, err = fmt.Fprintf(opts.IO.Out, "removed rule %s\n", describe(*r))
	return err
}
