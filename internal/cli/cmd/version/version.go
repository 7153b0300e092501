// Package version implements `artstore version`.
package version

import (
	"fmt"

	"github.com/artifact-store/artstore/internal/cli/build"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/spf13/cobra"
)

// Options are the inputs of `artstore version`.
type Options struct {
	IO *iostreams.IOStreams
	// Output gives the output switches; version reads nothing else, so it
	// works while the config file is broken.
	Output    func() (config.Output, error)
	BuildInfo func() build.Info
}

// NewCmdVersion returns the version command. runF, if not nil, replaces the
// run function (tests capture the options with it).
func NewCmdVersion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Output: f.Output, BuildInfo: f.BuildInfo}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print artstore's version",
		Long: `Print the version of artstore, the commit it was built from, the Go
version that built it and the platform it runs on. Include this in bug reports.
It reads no config file, so it works while that file is broken; artstore
--version prints the same line.`,
		Example: `  $ artstore version
  artstore v0.1.0 (1a2b3c4d5e6f, go1.26.8, linux/amd64)

  # machine-readable: {"version", "commit", "go", "platform"}
  $ artstore version --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
	cmdutil.OutputOnly(cmd)
	return cmd
}

// Line is the text version prints, without the newline.
func Line(info build.Info) string {
	return fmt.Sprintf("artstore %s (%s, %s, %s)", info.Version, info.Commit, info.Go, info.Platform)
}

func versionRun(opts *Options) error {
	out, err := opts.Output()
	if err != nil {
		return err
	}
	info := opts.BuildInfo()
	if out.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, out, info)
	}
	_, err = fmt.Fprintln(opts.IO.Out, Line(info))
	return err
}
