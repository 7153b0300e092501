// Package ls implements `artstore ls`.
package ls

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/artfmt"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// DefaultLimit is how many artifacts ls prints unless told otherwise.
const DefaultLimit = 100

// pageSize bounds each List call.
const pageSize = 500

// Options are the inputs of `artstore ls`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)
	Now    func() time.Time

	Pattern   string
	Selectors []string
	Since     string
	Limit     int
	// LimitGiven: --limit was on the command line (with --json and -q
	// the default is no limit).
	LimitGiven bool
	All        bool
	Newest     bool
}

// NewCmdLs returns the command. runF, if not nil, replaces the run function.
func NewCmdLs(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client, Now: f.Now}
	cmd := &cobra.Command{
		Use:     "ls [PATTERN]",
		Aliases: []string{"list"},
		Short:   "List artifacts in the order they were pushed",
		Long: `List artifact versions in the order they were pushed (newest first with
--newest), optionally only those whose name matches PATTERN (a glob with * and ?, where * also matches '/';
without those characters, names starting with PATTERN), that carry labels
(--label), or that were created since a time (--since).

Label selectors: KEY=VALUE, KEY!=VALUE, KEY (has the label), !KEY (lacks
it); several must all hold. --since takes a date (2026-01-02), an RFC 3339
time, or an age such as 30m, 24h, 7d or 2w.

At most --limit versions are printed (default 100; 0 means no limit); when
there are more, a note on stderr says so: --newest then shows the latest
ones instead of the first. With --json or -q (one reference per line, for
scripts) every match is printed unless --limit is given; the JSON array is
written as the pages arrive. Removed artifacts are listed only with --all.`,
		Example: `  $ artstore ls
  REF                  SIZE     CREATED               TAGS
  reports/q3.pdf:1     1.1 MiB  2026-11-20T09:14:55Z
  reports/q3.pdf:2     1.2 MiB  2026-11-27T10:02:11Z  latest

  $ artstore ls 'reports/*' --label env=prod --since 7d
  $ artstore ls --newest --limit 10     # the ten latest pushes
  $ artstore ls --all --limit 0

  # JSON: an array of artifacts, each as in "artstore show --json"
  $ artstore ls --json
  $ artstore ls 'logs/*' --jq '.[] | select(.size > 1000000) | .ref'
  $ artstore ls -q 'tmp/*' | xargs -n1 artstore rm`,
		Args: cmdutil.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Pattern = args[0]
			}
			opts.LimitGiven = cmd.Flags().Changed("limit")
			if opts.Limit < 0 {
				return cmdutil.FlagErrorf("--limit %d: want 0 (no limit) or more", opts.Limit)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return lsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVarP(&opts.Selectors, "label", "l", nil, "only artifacts matching label `SELECTOR` (k=v, k!=v, k, !k; repeatable; at most 16 in all)")
	cmd.Flags().StringVar(&opts.Since, "since", "", "only artifacts created since `TIME` (2026-01-02, RFC 3339, or an age like 24h or 7d)")
	cmd.Flags().IntVarP(&opts.Limit, "limit", "n", DefaultLimit, "print at most `N` artifacts (0: no limit)")
	cmd.Flags().BoolVarP(&opts.All, "all", "a", false, "include removed artifacts")
	cmd.Flags().BoolVar(&opts.Newest, "newest", false, "list newest first")
	return cmd
}

func lsRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	q := client.Query{Pattern: opts.Pattern, Selectors: opts.Selectors, IncludeDeleted: opts.All, Newest: opts.Newest}
	if opts.Since != "" {
		t, err := artfmt.ParseSince(opts.Since, opts.Now())
		if err != nil {
			return cmdutil.FlagErrorf("--since: %w", err)
		}
		q.Since = t
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()

	// Scripts (--json, -q) get every match unless they ask for fewer: a
	// listing cut short without a word would lose data.
	limit := opts.Limit
	if !opts.LimitGiven && (cfg.Output.JSON || cfg.Output.Quiet) {
		limit = 0
	}
	out := newSink(opts.IO, cfg.Output)
	n, more, err := listPages(ctx, store, q, limit, out.add)
	if err != nil {
		return err
	}
	if err := out.close(); err != nil {
		return err
	}
	if n == 0 && !cfg.Output.JSON {
		opts.IO.Infof("no artifacts match")
	}
	if more {
		if opts.Newest {
			opts.IO.Infof("showing the latest %d; use --limit N or --limit 0 for more", n)
		} else {
			opts.IO.Infof("showing the first %d; use --newest for the latest, --limit N or --limit 0 for more", n)
		}
	}
	return nil
}

// listPages hands each artifact q selects to add, page by page, stopping
// after limit (0: no limit). It returns how many it handed over and
// whether more were left.
func listPages(ctx context.Context, store client.Store, q client.Query, limit int, add func(client.Artifact) error) (n int, more bool, err error) {
	for {
		q.Limit = pageSize
		if limit > 0 && limit-n < pageSize {
			q.Limit = limit - n
		}
		page, err := store.List(ctx, q)
		if err != nil {
			return n, false, err
		}
		for _, a := range page.Artifacts {
			if err := add(a); err != nil {
				return n, false, err
			}
			n++
		}
		if page.NextCursor == "" {
			return n, false, nil
		}
		if limit > 0 && n >= limit {
			return n, true, nil
		}
		q.Cursor = page.NextCursor
	}
}

// sink prints artifacts as they come: a streamed JSON array, one
// reference per line (-q), or a table.
type sink struct {
	io    *iostreams.IOStreams
	json  *cmdutil.JSONArray
	table *cmdutil.Table
	quiet bool
}

func newSink(ios *iostreams.IOStreams, out config.Output) *sink {
	switch {
	case out.JSON:
		return &sink{io: ios, json: cmdutil.NewJSONArray(ios.Out, out)}
	case out.Quiet:
		return &sink{io: ios, quiet: true}
	}
	return &sink{io: ios}
}

func (s *sink) add(a client.Artifact) error {
	switch {
	case s.json != nil:
		return s.json.Add(a)
	case s.quiet:
		if _, err := fmt.Fprintln(s.io.Out, textfmt.Sanitize(a.Ref)); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	if s.table == nil {
		s.table = cmdutil.NewTable(s.io.Out, "ref", "size", "created", "tags")
	}
	tags := strings.Join(a.Tags, ",")
	if a.Deleted {
		tags = "(removed)"
	}
	s.table.Row(textfmt.Sanitize(a.Ref), textfmt.Bytes(a.Size), artfmt.Time(a.CreatedAt), textfmt.Sanitize(tags))
	return nil
}

func (s *sink) close() error {
	switch {
	case s.json != nil:
		return s.json.Close()
	case s.table != nil:
		return s.table.Flush()
	}
	return nil
}
