package cmdutil

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// NoArgs is cobra.NoArgs reporting a usage error.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return FlagErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// ExactArgs requires exactly n arguments; msg says which (e.g. "a
// reference, like reports/q:3"), and is shown when they are missing.
func ExactArgs(n int, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < n:
			return FlagErrorf("%s: missing argument: %s", cmd.CommandPath(), msg)
		case len(args) > n:
			return FlagErrorf("%s: too many arguments (takes %d, got %d: %s)", cmd.CommandPath(), n, len(args), strings.Join(args, " "))
		}
		return nil
	}
}

// MinimumNArgs requires n arguments or more; msg says which, and is shown
// when they are missing.
func MinimumNArgs(n int, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return FlagErrorf("%s: missing argument: %s", cmd.CommandPath(), msg)
		}
		return nil
	}
}

// MaximumNArgs allows at most n arguments.
func MaximumNArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return FlagErrorf("%s: too many arguments (takes at most %d, got %d: %s)", cmd.CommandPath(), n, len(args), strings.Join(args, " "))
		}
		return nil
	}
}

// OneOf requires exactly one argument from the command's ValidArgs.
func OneOf(cmd *cobra.Command, args []string) error {
	if err := ExactArgs(1, "one of "+strings.Join(cmd.ValidArgs, ", "))(cmd, args); err != nil {
		return err
	}
	for _, v := range cmd.ValidArgs {
		if args[0] == v {
			return nil
		}
	}
	return FlagErrorf("%s: %q is not one of %s", cmd.CommandPath(), args[0], strings.Join(cmd.ValidArgs, ", "))
}

// MakeParent configures cmd as a command that only groups subcommands
// (`artstore backend`): without arguments it prints its help; with an
// unknown subcommand it fails with a usage error suggesting the closest.
func MakeParent(cmd *cobra.Command) {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		return UnknownCommand(c, args[0])
	}
}

// UnknownCommand returns the usage error for an unknown subcommand of cmd,
// with the closest known names.
func UnknownCommand(cmd *cobra.Command, name string) error {
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return FlagErrorf("%s", msg)
}
