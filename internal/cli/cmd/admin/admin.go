// Package admin implements `artstore admin`, the group of store
// maintenance commands.
package admin

import (
	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmd/admin/rebuild"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
)

// NewCmdAdmin returns the `artstore admin` group.
func NewCmdAdmin(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin <command>",
		Short: "Maintain the store",
		Long: `Maintenance of the store itself, rarely needed: "artstore admin rebuild"
recomputes every view (artifacts, tags, labels, lineage, retention) from
the event log.`,
		Example: `  $ artstore admin rebuild`,
	}
	cmdutil.MakeParent(cmd)
	cmd.AddCommand(rebuild.NewCmdRebuild(f, nil))
	return cmd
}
