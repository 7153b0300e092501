// Package pull implements `artstore pull`.
package pull

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/artfmt"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/outpath"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore pull`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	Ref    string
	Output string // "" for the artifact's base name, "-" for stdout
	Range  string
	Force  bool
	// Paths and TrustLinks apply to trees.
	Paths      []string
	TrustLinks bool
}

// NewCmdPull returns the command. runF, if not nil, replaces the run function.
func NewCmdPull(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "pull REF",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Short:             "Retrieve an artifact's bytes into a file, a directory or standard output",
		Long: `Retrieve an artifact and write it to the current directory under the name
it was pushed from (report.pdf, even when pushed as reports/quarterly; the
label org.opencontainers.image.title holds it), to the path given with -o (into it, if
it is a directory), or to standard output with -o -. A tree artifact (a
pushed directory) is recreated as a directory, under the pushed directory's
name. Without that label (standard input, or removed), the last element of
the artifact's name is used. A recorded name never leads outside the
current directory: one that holds a separator, "..", or a control
character is not used.

REF is name:version, name:tag, name (the latest tag), name@sha256:<hex> or
an artifact ID. The digests used are checked against the artifact's
registration in the event log, and every chunk and the whole content are
verified against them; the file is written to a temporary name and renamed
into place only when complete and verified, so a failed pull (exit status 4
for damaged bytes, or views that disagree with the log: run artstore admin
rebuild) never leaves a partial or wrong file. An existing file is not
overwritten unless --force is given.

The output is written where it points, as cp and curl -o do:
  - a device, named pipe or socket (/dev/null, /dev/stdout, a FIFO) is
    opened and written in place, streaming, without --force; it is never
    replaced. Such a write cannot be atomic: damaged bytes still fail the
    pull with exit status 4, but what was written before cannot be taken
    back. (A socket cannot be opened; pipe -o - into a tool that connects.)
  - a symbolic link is followed to its final target, which is then
    written as above (--force to replace an existing file there); the link
    itself stays. A dangling link has its target created.
  - a tree's destination directory may be a symbolic link to a directory;
    a symbolic link inside it, on the way to a file of the tree or at its
    path, is never written through: the pull stops there with exit
    status 5 and names it.

A tree's symbolic links are recreated as links. One that points outside
the destination (an absolute target, or one that climbs above it; a ".."
after a name counts as outside, since the name may be a link) stops the
pull with exit status 5 before it is created. --trust-links creates such
links, goes through directory links already inside the destination and
replaces links found at the tree's file paths (writes still never leave
the destination directory).

--path PATH pulls only part of a tree: PATH, relative to the tree's root,
names a file, or a directory and everything below it; with '*', '?' or
'[' it is a glob ('*' does not match '/'), and a matching directory brings
everything below it. Repeat it for several. Entries keep their paths below
the destination, and only the chunks that hold them are read. A PATH that
matches nothing fails the pull (exit status 3) before anything is written.

--range a-b retrieves bytes a to b (inclusive, from 0); a- means from a to
the end, -n the last n bytes. In local mode every pull is recorded in the
event log (see retrieval_records in the configuration); through a daemon,
the daemon records every pull. When the daemon has direct transfers (an
S3 backend), every pull, of a file or a directory, reads the chunks
straight from the storage backend on URLs the daemon hands out. Otherwise
a token limited to a name prefix pulls a file as one stream from the
daemon's content route (it may not read blobs by digest) and cannot pull
a directory artifact.`,
		Example: `  $ artstore pull reports/quarterly:7                # writes ./report.pdf, its pushed name
  $ artstore pull reports/quarterly -o q.pdf          # the latest version
  $ artstore pull logs/build:312 -o - | grep ERROR
  $ artstore pull logs/build:312 --range 0-1023 -o head.log
  $ artstore pull sites/docs:3 -o ./docs-site          # a tree, as a directory
  $ artstore pull sites/docs:3 -o out --path css/site.css --path 'img/*.png' 
  $ artstore pull logs/build:312 -o /dev/null          # fetch and verify only

  # JSON: {"ref", "id", "content_digest", "bytes", "range", "path", "kind"}
  $ artstore pull reports/quarterly:7 --json`,
		Args: cmdutil.ExactArgs(1, "the artifact to pull, like reports/quarterly:7"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return pullRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write to `PATH` (- for standard output; default: the name it was pushed from)")
	cmd.Flags().StringVar(&opts.Range, "range", "", "retrieve only bytes `A-B` (inclusive; A- and -N work too)")
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "replace an existing file (or fill an existing directory with a tree)")
	cmd.Flags().StringArrayVar(&opts.Paths, "path", nil, "pull only the tree entries at `PATH` (a file, a directory, or a glob; repeatable)")
	cmd.Flags().BoolVar(&opts.TrustLinks, "trust-links", false, "create a tree's links that point outside the destination; go through links already inside it")
	return cmd
}

func pullRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	toStdout := opts.Output == "-"
	if toStdout && cfg.Output.JSON {
		return cmdutil.FlagErrorf("--json and -o - both want standard output; write the artifact to a file with -o PATH")
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()

	art, err := store.Get(ctx, opts.Ref)
	if err != nil {
		return err
	}
	if art.Deleted {
		return cmdutil.Mark(fmt.Errorf("pull %s: %s was removed", opts.Ref, art.Ref), client.ErrNotFound)
	}
	if opts.Range != "" && art.Kind == "tree" {
		return cmdutil.FlagErrorf("pull %s: --range applies to files; %s is a tree (a directory)", opts.Ref, art.Ref)
	}
	if len(opts.Paths) > 0 && art.Kind != "tree" {
		return cmdutil.FlagErrorf("pull %s: --path picks entries of a tree; %s is a file", opts.Ref, art.Ref)
	}
	if toStdout && art.Kind == "tree" {
		return cmdutil.FlagErrorf("pull %s: %s is a tree (a directory) and cannot go to standard output; give a directory with -o DIR", opts.Ref, art.Ref)
	}
	path := opts.Output
	if path == "" {
		// The name it was pushed from, else the name's last element: one
		// element of the current directory, whatever the store holds.
		path = client.PullFileName(*art)
	} else if fi, err := os.Stat(path); !toStdout && art.Kind != "tree" && err == nil && fi.IsDir() {
		// -o DIR for a file: into that directory, under that name.
		path = filepath.Join(path, client.PullFileName(*art))
	}
	// What is at path decides how it is written (see internal/outpath): a
	// regular file or directory needs --force, a device or pipe is written
	// in place, a link is followed.
	var target outpath.Target
	if !toStdout {
		if target, err = outpath.Resolve(path); err != nil {
			return fmt.Errorf("pull %s: %w", opts.Ref, err)
		}
		if target.Exists() && !opts.Force {
			return cmdutil.Mark(fmt.Errorf("pull %s: %s already exists; use --force to replace it or -o to write elsewhere", opts.Ref, target.Describe()), client.ErrConflict)
		}
	}

	bar := artfmt.NewProgress(opts.IO, cfg.Output.JSON, art.Size, "pull "+art.Ref)
	popts := client.PullOptions{Range: opts.Range, Paths: opts.Paths, TrustLinks: opts.TrustLinks}
	if bar != nil {
		popts.Progress = bar.Set
	}
	// Pull by ID: the bytes are those of the artifact just resolved, even
	// if a tag moves meanwhile.
	var res *client.PullResult
	if toStdout {
		res, err = store.Pull(ctx, art.ID, opts.IO.Out, popts)
	} else {
		res, err = store.PullToPath(ctx, art.ID, path, popts)
	}
	bar.Done()
	if err != nil {
		if cmdutil.ExitCodeOf(err) == cmdutil.ExitIntegrity {
			what := "no file was written"
			if toStdout || target.InPlace() {
				what = "the output written so far is incomplete"
			}
			return fmt.Errorf("%w\nthe stored bytes of %s do not match their digest, so %s; run `artstore verify --deep` to find all damage, then restore it from a copy of the content (artstore repair %s --from PATH) or restore the store from a backup", err, art.Ref, what, art.Ref)
		}
		return err
	}
	if res.Path == "" && !toStdout {
		res.Path = path
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, res)
	}
	where := "standard output"
	if !toStdout {
		where = res.Path
	}
	opts.IO.Infof("pulled %s to %s (%s, %s)", res.Ref, where, textfmt.Bytes(res.Bytes), res.ContentDigest)
	return nil
}
