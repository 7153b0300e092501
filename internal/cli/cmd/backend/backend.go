// Package backend implements `artstore backend`, the group of commands that
// inspect the configured storage backends.
package backend

import (
	"github.com/artifact-store/artstore/internal/cli/cmd/backend/health"
	"github.com/artifact-store/artstore/internal/cli/cmd/backend/ls"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdBackend returns `artstore backend` with its subcommands.
func NewCmdBackend(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backend <command>",
		Short: "Inspect the configured storage backends",
		Long: `Storage backends hold the bytes of artifacts: a local directory or an
S3-compatible bucket. They are named entries under "backends:" in the config
file; without any, artstore uses a local backend "default" in <store>/blobs.`,
		Example: `  $ artstore backend ls
  $ artstore backend health
  $ artstore backend health s3main --json`,
	}
	cmdutil.MakeParent(cmd)
	cmd.AddCommand(ls.NewCmdLs(f, nil))
	cmd.AddCommand(health.NewCmdHealth(f, nil))
	return cmd
}
