// Package export implements `artstore export`.
package export

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/outpath"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore export`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	Refs   []string
	Output string // "-" for standard output
	// Closure is the provenance depth: 0 for none, -1 for any.
	Closure int
	// At is the checkpoint's tree size, 0 for the current one.
	At    int64
	Force bool
}

// NewCmdExport returns the command. runF, if not nil, replaces the run
// function.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	var closure bool
	var depth int
	completeRef := cmdutil.CompleteRef(f)
	cmd := &cobra.Command{
		Use: "export REF... -o FILE",
		// Every argument is a reference.
		ValidArgsFunction: func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return completeRef(cmd, nil, toComplete)
		},
		Short: "Write an evidence bundle: artifacts with their events, proofs and provenance, in one tar",
		Long: `Write the evidence bundle of the artifacts REF names to FILE: a tar holding
their bytes, every event of the log about them (registration, tags,
labels, retention, holds, retrievals, deletion), an inclusion proof of
each event against one checkpoint of the log signed with the store's key,
that key, and a README.txt saying how to check it. Someone with nothing
but the file and the store's public key (artstore log key) can check
that these bytes were registered at that point of the store's history,
by whom and from which inputs, without access to the store.

REF is name:version, name:tag, name (the latest tag), name@sha256:<hex> or
an artifact ID; an artifact ID also names a removed artifact, exported as
its events only. --closure adds the artifacts each was made from
(provenance inputs, recorded with push --input), and theirs, to any
depth; --depth N stops N levels of inputs down (--depth 0: none). An input
that was removed is in the bundle as its events only. A token limited to a
name prefix cannot export an artifact made from an artifact outside the
prefix (the bundle holds its registration as recorded, naming its
inputs): the export fails naming that input by its ID.

The bundle depends only on the log and the stored bytes: the same store
state and arguments give a byte-identical file. An export is recorded in
the log like a pull (a retrieval record per artifact whose bytes it
holds; in local mode when retrieval_records is on), so the log grows and
a later export without --at differs. --at N makes the bundle of the log's
first N events (its checkpoint of N events): exporting again with the
size an earlier export reports writes the same bytes again, since every
event after N, these records included, is left out. References name
what they named after event N: a tag (or a bare name's latest) the
artifact it pointed at then, even if it has moved or gone since; a
version removed after event N still names its artifact.

-o FILE is required; -o - writes to standard output. A file is written to
a temporary name in its directory, synced and renamed into place only
when complete, so a failed export leaves no partial bundle; an existing
file is not replaced unless --force is given. Through a daemon the
bundle streams as it is made; a daemon that fails partway cuts the
connection and the export fails.

Check a bundle with artstore verify-bundle; bring it into another store
with artstore import.`,
		Example: `  $ artstore export releases/app:12 -o app-12.evidence.tar
  $ artstore export releases/app:12 --closure -o app-12.tar     # with every input, to any depth
  $ artstore export releases/app:12 --depth 1 -o app-12.tar     # with its direct inputs only
  $ artstore export releases/app:12 reports/sbom:12 -o - | tar tf -
  $ tar tf app-12.tar | head

  # the same bundle again later: --at the size the first export printed
  $ artstore export releases/app:12 --closure --at 1234 -o again.tar
  $ cmp app-12.tar again.tar

  # JSON: {"origin", "size", "root", "closure", "artifacts", "events", "bytes", "file"}
  $ artstore export releases/app:12 -o app-12.tar --json`,
		Args: cmdutil.MinimumNArgs(1, "the artifacts to export, like releases/app:12"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Refs = args
			if opts.Output == "" {
				return cmdutil.FlagErrorf("export: -o FILE is required (-o - for standard output)")
			}
			switch {
			case cmd.Flags().Changed("depth"):
				if depth < 0 {
					return cmdutil.FlagErrorf("export: --depth %d: give 0 or more (--closure for any depth)", depth)
				}
				opts.Closure = depth
			case closure:
				opts.Closure = client.ClosureAll
			}
			if opts.At < 0 {
				return cmdutil.FlagErrorf("export: --at %d: give a tree size of 1 or more", opts.At)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return exportRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write the bundle to `FILE` (- for standard output; required)")
	cmd.Flags().BoolVar(&closure, "closure", false, "add the provenance inputs, to any depth")
	cmd.Flags().IntVar(&depth, "depth", 0, "add the provenance inputs `N` levels down (implies --closure)")
	cmd.Flags().Int64Var(&opts.At, "at", 0, "make the bundle of the log's first `N` events (default: all of them)")
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "replace an existing file")
	return cmd
}

func exportRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	toStdout := opts.Output == "-"
	if toStdout && cfg.Output.JSON {
		return cmdutil.FlagErrorf("--json and -o - both want standard output; write the bundle to a file with -o FILE")
	}
	var target outpath.Target
	if !toStdout {
		if target, err = outpath.Resolve(opts.Output); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if target.Kind == outpath.Directory {
			return cmdutil.FlagErrorf("export: %s is a directory; give the path of the file to write", target.Describe())
		}
		if target.Exists() && !opts.Force {
			return cmdutil.Mark(fmt.Errorf("export: %s already exists; use --force to replace it or -o to write elsewhere", target.Describe()), client.ErrConflict)
		}
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	req := client.ExportRequest{Refs: opts.Refs, Closure: opts.Closure, At: opts.At}
	var sum *client.ExportSummary
	switch {
	case toStdout:
		sum, err = store.Export(ctx, req, opts.IO.Out)
	case target.InPlace():
		sum, err = exportInPlace(ctx, store, req, target)
	default:
		sum, err = exportFile(ctx, store, req, target.Path, opts.Force)
	}
	if err != nil {
		return err
	}
	sum.File = opts.Output
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, sum)
	}
	printSummary(opts.IO, sum)
	return nil
}

// exportInPlace writes the bundle into a device or named pipe.
func exportInPlace(ctx context.Context, store client.Store, req client.ExportRequest, t outpath.Target) (*client.ExportSummary, error) {
	f, err := outpath.OpenInPlace(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	sum, err := store.Export(ctx, req, f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("export: write %s: %w", t.Path, cerr)
	}
	return sum, err
}

// exportFile writes the bundle to a temporary file beside path, syncs it
// and moves it to path: without force by a hard link, which fails if
// path appeared meanwhile, so an existing file is never replaced.
func exportFile(ctx context.Context, store client.Store, req client.ExportRequest, path string, force bool) (*client.ExportSummary, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".artstore-export-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename or link: gone, or a second name
	sum, err := store.Export(ctx, req, f)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, wrap(err)
	}
	if force {
		err = os.Rename(tmp, path)
	} else if err = os.Link(tmp, path); errors.Is(err, os.ErrExist) {
		return nil, cmdutil.Mark(fmt.Errorf("export: %s appeared while the bundle was written; use --force to replace it or -o to write elsewhere", path), client.ErrConflict)
	} else if err != nil {
		// A file system without hard links: the check before the export
		// stands.
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	if err := outpath.SyncDir(dir); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return sum, nil
}

// wrap adds "export: " to an error that lacks it.
func wrap(err error) error {
	if strings.HasPrefix(err.Error(), "export") {
		return err
	}
	return fmt.Errorf("export: %w", err)
}

func printSummary(ios *iostreams.IOStreams, s *client.ExportSummary) {
	where := s.File
	if where == "-" {
		where = "standard output"
	}
	ios.Infof("wrote %s: %s, %s, %s of content, proved against the checkpoint of %s",
		where, textfmt.Count(int64(len(s.Artifacts)), "artifact"), textfmt.Count(int64(s.Events), "event"), textfmt.Bytes(s.Bytes), textfmt.Count(s.Size, "event"))
	for _, a := range s.Artifacts {
		role := "requested"
		if a.Depth > 0 {
			role = fmt.Sprintf("input, depth %d", a.Depth)
		}
		if !a.Bytes {
			role += ", removed: events only"
		}
		ios.Infof("  %s  %s  (%s)", a.Ref, a.Digest, role)
	}
}
