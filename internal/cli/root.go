// Package cli is artstore's command line: Main runs one invocation on a
// fresh command tree, and NewRootCmd builds that tree. Commands live one
// package per verb under internal/cli/cmd; they reach their dependencies
// through a cmdutil.Factory.
//
// # Adding a command
//
//  1. Make a package internal/cli/cmd/<verb> (or cmd/<noun>/<verb>) with an
//     Options struct holding what the command needs (IO, the Factory
//     functions it uses, its flags and arguments), NewCmdX(f, runF) that
//     fills Options from the factory and the parsed flags and then calls
//     runF (tests) or xRun, and xRun(opts) that does the work.
//  2. Give the cobra.Command Use, Short, Long and an Example; Args from
//     cmdutil (NoArgs, ExactArgs, MaximumNArgs, OneOf) so mistakes are usage
//     errors; usage text on every flag. TestCommandTreeDocumented enforces it.
//  3. Print data to opts.IO.Out: cmdutil.WriteJSON when cfg.Output.JSON,
//     otherwise text or a cmdutil.Table. Diagnostics go to opts.IO.ErrOut
//     (IO.Infof, IO.Debugf). Never print the error you return: Run prints it
//     once as "artstore: <message>".
//  4. Return errors wrapping the sentinels of the layer below (client,
//     storage, content, config) or cmdutil.FlagErrorf; cmdutil.ExitCodeOf
//     maps them to exit statuses. cmdutil.Mark attaches a status to an error
//     of your own without changing its message.
//  5. Register it in NewRootCmd (or its noun's NewCmd), write the two table
//     tests (argv -> options with runF; options + fakes -> output), add a
//     testscript in testscript/testdata, and run `make docs`.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/artifact-store/artstore/internal/cli/build"
	"github.com/artifact-store/artstore/internal/cli/cmd/admin"
	"github.com/artifact-store/artstore/internal/cli/cmd/audit"
	"github.com/artifact-store/artstore/internal/cli/cmd/backend"
	"github.com/artifact-store/artstore/internal/cli/cmd/browse"
	"github.com/artifact-store/artstore/internal/cli/cmd/completion"
	"github.com/artifact-store/artstore/internal/cli/cmd/export"
	gccmd "github.com/artifact-store/artstore/internal/cli/cmd/gc"
	"github.com/artifact-store/artstore/internal/cli/cmd/hold"
	"github.com/artifact-store/artstore/internal/cli/cmd/importcmd"
	"github.com/artifact-store/artstore/internal/cli/cmd/initcmd"
	"github.com/artifact-store/artstore/internal/cli/cmd/label"
	"github.com/artifact-store/artstore/internal/cli/cmd/lineage"
	eventlogcmd "github.com/artifact-store/artstore/internal/cli/cmd/log"
	"github.com/artifact-store/artstore/internal/cli/cmd/ls"
	"github.com/artifact-store/artstore/internal/cli/cmd/pull"
	"github.com/artifact-store/artstore/internal/cli/cmd/push"
	"github.com/artifact-store/artstore/internal/cli/cmd/repair"
	"github.com/artifact-store/artstore/internal/cli/cmd/retention"
	"github.com/artifact-store/artstore/internal/cli/cmd/rm"
	"github.com/artifact-store/artstore/internal/cli/cmd/serve"
	"github.com/artifact-store/artstore/internal/cli/cmd/show"
	"github.com/artifact-store/artstore/internal/cli/cmd/tag"
	"github.com/artifact-store/artstore/internal/cli/cmd/token"
	"github.com/artifact-store/artstore/internal/cli/cmd/verify"
	"github.com/artifact-store/artstore/internal/cli/cmd/verifybundle"
	"github.com/artifact-store/artstore/internal/cli/cmd/version"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/spf13/cobra"
)

// Main runs artstore with the arguments (without the program name) and
// streams, and returns the exit status. cmd/artstore calls it and nothing
// else; SIGINT and SIGTERM cancel the command's context.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first signal cancels the context, restore the default
	// handling so a second Ctrl-C kills a command that is slow to stop.
	go func() { <-ctx.Done(); stop() }()
	ios := iostreams.New(stdin, stdout, stderr, os.LookupEnv)
	return Run(ctx, cmdutil.New(ios, os.LookupEnv), args)
}

// Run executes one invocation with the given factory: it builds a fresh
// command tree, runs it, prints an error (once, as "artstore: message" on
// stderr) and returns the exit status.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	code := cmdutil.ExitCodeOf(err)
	var silent *cmdutil.SilentError
	if errors.As(err, &silent) {
		return code
	}
	if code == cmdutil.ExitInterrupted {
		fmt.Fprintln(f.IO.ErrOut, "artstore: interrupted")
		return code
	}
	fmt.Fprintf(f.IO.ErrOut, "artstore: %s\n", err)
	var flagErr *cmdutil.FlagError
	if errors.As(err, &flagErr) && cmd != nil {
		fmt.Fprintf(f.IO.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// NewRootCmd builds the whole command tree on f. If f.Config is nil it is
// bound to the global flags and the environment.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "artstore <command>",
		Short: "Store, find and retrieve build artifacts, reports and evidence",
		Long: `artstore is an artifact registry and storage gateway for generated outputs:
build and release artifacts, reports, logs, snapshots, exports and evidence
packages. It records each artifact's identity, metadata, provenance and
retention in an append-only, tamper-evident event log, and keeps the bytes,
content-addressed, in local directories or S3-compatible buckets.

Configuration comes from flags, ARTSTORE_* environment variables and
$XDG_CONFIG_HOME/artstore/config.yaml, in that order of precedence; see
docs/configuration.md.

` + ExitStatusText(),
		Example: `  $ artstore push ./report.pdf
  $ artstore ls
  $ artstore pull report.pdf:1 -o copy.pdf
  $ artstore show report.pdf
  $ artstore backend health
  $ source <(artstore completion bash)`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.FlagErrorWrap(err) })
	cmdutil.MakeParent(root)
	// The help command's own flags need usage text too.
	root.SetHelpCommand(newHelpCmd())
	cmdutil.SkipConfig(root) // `artstore` alone prints help

	config.RegisterFlags(root.PersistentFlags())
	if f.Config == nil {
		f.Config = cmdutil.ConfigFromFlags(root.PersistentFlags(), f.LookupEnv)
		if f.Output == nil {
			f.Output = cmdutil.OutputFromFlags(root.PersistentFlags(), f.LookupEnv)
		}
	}
	if f.Output == nil {
		loadConfig := f.Config
		f.Output = func() (config.Output, error) {
			cfg, err := loadConfig()
			if err != nil {
				return config.Output{}, err
			}
			return cfg.Output, nil
		}
	}
	// --version, handled by cobra before any pre-run: it reads no config.
	buildInfo := f.BuildInfo
	if buildInfo == nil {
		buildInfo = build.Read
	}
	root.Version = version.Line(buildInfo())
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().Bool("version", false, "print artstore's version (as artstore version does)")
	root.PersistentPreRunE = preRun(f)

	root.AddCommand(
		initcmd.NewCmdInit(f, nil),
		push.NewCmdPush(f, nil),
		pull.NewCmdPull(f, nil),
		ls.NewCmdLs(f, nil),
		show.NewCmdShow(f, nil),
		tag.NewCmdTag(f, nil),
		label.NewCmdLabel(f, nil),
		lineage.NewCmdLineage(f, nil),
		rm.NewCmdRm(f, nil),
		eventlogcmd.NewCmdLog(f, nil),
		verify.NewCmdVerify(f, nil),
		export.NewCmdExport(f, nil),
		verifybundle.NewCmdVerifyBundle(f, nil),
		importcmd.NewCmdImport(f, nil),
		repair.NewCmdRepair(f, nil),
		gccmd.NewCmdGC(f, nil),
		retention.NewCmdRetention(f),
		hold.NewCmdHold(f, nil),
		audit.NewCmdAudit(f, nil),
		browse.NewCmdBrowse(f, nil),
		admin.NewCmdAdmin(f),
		serve.NewCmdServe(f, nil),
		token.NewCmdToken(f),
		version.NewCmdVersion(f, nil),
		backend.NewCmdBackend(f),
		completion.NewCmdCompletion(f, nil),
	)
	cmdutil.PlainBoolFlags(root)
	return root
}

// preRun is the single PersistentPreRunE of the tree (cobra does not chain
// them): it loads and validates the configuration once (only the output
// switches for the commands marked output-only) and applies the output
// switches.
func preRun(f *cmdutil.Factory) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case cmdutil.SkipsConfig(cmd), cmd.Name() == "help",
			// Shell completion requests: completion functions that need the
			// configuration load it themselves; a broken config file must
			// not break the shell.
			cmd.Name() == cobra.ShellCompRequestCmd, cmd.Name() == cobra.ShellCompNoDescRequestCmd:
			return nil
		}
		var out config.Output
		if cmdutil.IsOutputOnly(cmd) {
			o, err := f.Output()
			if err != nil {
				return err
			}
			out = o
		} else {
			cfg, err := f.Config()
			if err != nil {
				return err
			}
			out = cfg.Output
			defer func() {
				if cfg.ConfigFile != "" {
					f.IO.Debugf("config file: %s", cfg.ConfigFile)
				} else {
					f.IO.Debugf("config file: none (looked for %s)", cfg.ConfigPath)
				}
				f.IO.Debugf("store: %s", cfg.Store)
			}()
		}
		if err := cmdutil.CheckJSONFlags(out); err != nil {
			return err
		}
		f.IO.SetQuiet(out.Quiet)
		f.IO.SetVerbose(out.Verbose)
		return nil
	}
}

// newHelpCmd is the help command: artstore help [command].
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Print the help of any command, e.g. artstore help backend health.",
		Example: `  $ artstore help
  $ artstore help backend health`,
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, e := c.Root().Find(args)
			if e != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				name := strings.Join(args, " ")
				if len(rest) > 0 {
					name = rest[0]
				}
				return cmdutil.UnknownCommand(cmdParent(cmd, c.Root()), name)
			}
			return cmd.Help()
		},
	}
}

func cmdParent(cmd, root *cobra.Command) *cobra.Command {
	if cmd == nil {
		return root
	}
	return cmd
}

// ExitStatusText is the EXIT STATUS section of the root help and the man
// pages.
func ExitStatusText() string {
	var b strings.Builder
	b.WriteString("EXIT STATUS\n")
	for _, s := range cmdutil.ExitCodes() {
		fmt.Fprintf(&b, "  %-3d  %s\n", s.Code, s.Meaning)
	}
	return strings.TrimRight(b.String(), "\n")
}
