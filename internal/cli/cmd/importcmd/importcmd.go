// Package importcmd implements `artstore import`.
package importcmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore import`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	File    string
	Key     string
	KeyFile string
}

// NewCmdImport returns the command. runF, if not nil, replaces the run
// function.
func NewCmdImport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	// Like a push, an import may start a new store.
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.CreateClient}
	cmd := &cobra.Command{
		Use:   "import FILE [--key KEY | --key-file F]",
		Short: "Import another store's evidence bundle: its artifacts, with their evidence",
		Long: `Import an evidence bundle made by "artstore export" on another store. The
whole bundle is verified first, as "artstore verify-bundle" does (give the
other store's public key with --key or --key-file; without one the
bundle's own key is used, and the import records that). Nothing is
registered unless all of it verifies: a damaged bundle fails with exit
status 4 naming what failed.

Its artifacts are then registered here with the same names, versions and
digests, inputs before the artifacts made from them, and each keeps the
other store's events and proofs as foreign evidence: they stay signed by
the other store, never re-signed by this one. "artstore show" says where
an imported artifact came from and checks that evidence again; "artstore
audit" lists the import record.

An artifact this store already has (same name, version and content) is
left as it is, so importing a bundle twice is harmless; the same name and
version with other content stops the import before anything is registered
(exit status 5). Tags are not imported and "latest" does not move. The
bundle's deleted artifacts (events only) are reported, not registered.
FILE "-" reads the bundle from standard input; in remote mode it is
streamed to the daemon, which verifies it. In local mode, as with a push,
the store is created if there is none.`,
		Example: `  $ artstore import evidence.tar --key-file other-store.pub
  imported team/release:1 (01JD...), from artstore/4f1c... where it is 01HZ...
  imported team/build:1 (01JD...), from artstore/4f1c... where it is 01HY...
  2 artifacts imported, 0 already here; 12.0 MiB, 9 events verified

  # JSON: {"origin", "key", "key_given", "checkpoint_size", "events", "bytes",
  #        "artifacts": [{"ref", "id", "foreign_id", "digest", "status"}]}
  $ artstore import evidence.tar --key 'artstore/4f1c...+9a3b2c1d+AXk...' --json`,
		Args: cmdutil.ExactArgs(1, "a bundle file (or - for standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.Key != "" && opts.KeyFile != "" {
				return cmdutil.FlagErrorf("give the key with --key or --key-file, not both")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Key, "key", "", "the bundle's checkpoint must be signed by `KEY` (the other store's \"artstore log key\")")
	cmd.Flags().StringVar(&opts.KeyFile, "key-file", "", "read the other store's verifier key from `FILE`")
	return cmd
}

func run(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	key, err := cmdutil.ReadKeyFlag(opts.Key, opts.KeyFile)
	if err != nil {
		return err
	}
	r, _, done, err := cmdutil.OpenInput("import", opts.File, opts.IO.In)
	if err != nil {
		return err
	}
	defer done()
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := store.Import(ctx, r, key)
	if err != nil {
		return err
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, res)
	}
	if cfg.Output.Quiet {
		return nil
	}
	return printResult(opts.IO.Out, res)
}

func printResult(w io.Writer, res *client.ImportResult) error {
	var b strings.Builder
	counts := map[string]int{}
	for _, a := range res.Artifacts {
		counts[a.Status]++
		switch a.Status {
		case "imported":
			fmt.Fprintf(&b, "imported %s (%s), from %s where it is %s\n", a.Ref, a.ID, res.Origin, a.ForeignID)
		case "present":
			fmt.Fprintf(&b, "already here: %s (%s), same content\n", a.Ref, a.ID)
		default:
			fmt.Fprintf(&b, "not imported: %s was deleted in %s (the bundle holds its events only)\n", a.Ref, res.Origin)
		}
	}
	fmt.Fprintf(&b, "%s imported, %d already here; %s, %s verified\n",
		textfmt.Count(int64(counts["imported"]), "artifact"), counts["present"], textfmt.Bytes(res.Bytes), textfmt.Count(int64(res.Events), "event"))
	if !res.KeyGiven {
		b.WriteString("note: no key was given, so the bundle was checked with its own key; give the other store's key with --key to rule out a bundle made by someone else\n")
	}
	_, err := io.WriteString(w, sanitizeLines(b.String()))
	return err
}

// sanitizeLines makes each line of s safe for a terminal: names and
// origins come from another store.
func sanitizeLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if body, ok := strings.CutSuffix(l, "\n"); ok {
			lines[i] = textfmt.Sanitize(body) + "\n"
		}
	}
	return strings.Join(lines, "")
}
