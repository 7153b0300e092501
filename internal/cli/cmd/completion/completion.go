// Package completion implements `artstore completion`.
package completion

import (
	"fmt"
	"io"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/spf13/cobra"
)

// Shells lists the shells completion scripts are generated for.
func Shells() []string { return []string{"bash", "zsh", "fish", "powershell"} }

// Options are the inputs of `artstore completion`.
type Options struct {
	IO    *iostreams.IOStreams
	Shell string
	// Root is the command tree to complete.
	Root *cobra.Command
}

// NewCmdCompletion returns the command. runF, if not nil, replaces the run function.
func NewCmdCompletion(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print the script that makes your shell complete artstore's commands, flags
and arguments. Load it once per session, or install it where your shell looks
for completions. The same scripts ship in the completions/ directory.`,
		Example: `  # bash, in the current shell
  $ source <(artstore completion bash)
  # bash, permanently
  $ artstore completion bash > ~/.local/share/bash-completion/completions/artstore

  # zsh (a directory in $fpath)
  $ artstore completion zsh > "${fpath[1]}/_artstore"

  # fish
  $ artstore completion fish > ~/.config/fish/completions/artstore.fish

  # PowerShell
  PS> artstore completion powershell | Out-String | Invoke-Expression`,
		ValidArgs: Shells(),
		Args:      cmdutil.OneOf,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Shell = args[0]
			opts.Root = cmd.Root()
			if runF != nil {
				return runF(opts)
			}
			return completionRun(opts)
		},
	}
	cmdutil.SkipConfig(cmd)
	return cmd
}

func completionRun(opts *Options) error {
	return Generate(opts.Root, opts.Shell, opts.IO.Out)
}

// Generate writes the completion script for shell to w. tools/gendocs uses
// it to write completions/.
func Generate(root *cobra.Command, shell string, w io.Writer) error {
	var err error
	switch shell {
	case "bash":
		err = root.GenBashCompletionV2(w, true)
	case "zsh":
		err = root.GenZshCompletion(w)
	case "fish":
		err = root.GenFishCompletion(w, true)
	case "powershell":
		err = root.GenPowerShellCompletionWithDesc(w)
	default:
		return cmdutil.FlagErrorf("no completion for shell %q (want bash, zsh, fish or powershell)", shell)
	}
	if err != nil {
		return fmt.Errorf("write %s completion: %w", shell, err)
	}
	return nil
}
