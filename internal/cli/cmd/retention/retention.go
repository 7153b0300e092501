// Package retention implements `artstore retention`: per-artifact
// retention (set), policy rules (rule add, ls, rm) and applying them
// (apply).
package retention

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
)

// NewCmdRetention returns the `artstore retention` group.
func NewCmdRetention(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "retention <command>",
		Short: "Decide how long artifacts live",
		Long: `Retention decides when artifacts are deleted, and when they may not be.

Per artifact, "retention set" gives an expiry (--expire-after, --expires-at)
and an immutability period (--immutable-until: nobody may delete the
artifact or shorten that period before the date, WORM). Per name pattern,
"retention rule add" expires artifacts some time after creation while
keeping the newest versions of each name. "retention apply" deletes what is
due, saying which rule or deadline made it due; a legal hold (artstore hold)
or immutability always wins. Deleted artifacts' bytes are reclaimed by
artstore gc.`,
		Example: `  $ artstore retention set reports/q3.pdf:1 --expire-after 90d
  $ artstore retention rule add 'logs/*' --expire-after 30d --keep-last 10
  $ artstore retention apply --dry-run`,
	}
	cmdutil.MakeParent(cmd)
	cmd.AddCommand(NewCmdSet(f, nil), NewCmdRule(f), NewCmdApply(f, nil))
	return cmd
}

// parseWhen reads an absolute time: an RFC 3339 time or a date (midnight
// UTC).
func parseWhen(flag, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1970 || t.Year() > 2261 {
				break
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, cmdutil.FlagErrorf("--%s %q: want a date (2027-12-31) or an RFC 3339 time (2027-12-31T23:59:59Z) between 1970 and 2261", flag, s)
}

// when renders an optional time.
func when(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}
