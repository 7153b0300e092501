// Package push implements `artstore push`.
package push

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/artfmt"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore push`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)
	// Detect describes the environment the push runs in (git, CI).
	Detect func(ctx context.Context) client.Producer
	// Host and User fill the producer's host and user.
	Host, User string

	Path      string // a file, a directory, or "-" for standard input
	Name      string
	Version   string
	Tags      []string
	Labels    []string
	Inputs    []string
	MediaType string
	NoLatest  bool
	Producer  string
	// FollowSymlinks and Strict apply to directories.
	FollowSymlinks bool
	Strict         bool
	// NoCache reads every file of a directory even when the tree cache
	// says it is unchanged since its last push.
	NoCache bool
}

// NewCmdPush returns the command. runF, if not nil, replaces the run function.
func NewCmdPush(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.CreateClient}
	env := func(k string) string {
		if f.LookupEnv == nil {
			return ""
		}
		v, _ := f.LookupEnv(k)
		return v
	}
	opts.Detect = func(ctx context.Context) client.Producer {
		wd, _ := os.Getwd()
		return client.DetectProducer(ctx, env, wd)
	}
	opts.Host, _ = os.Hostname()
	opts.User = env("USER")
	if opts.User == "" {
		opts.User = env("LOGNAME")
	}
	cmd := &cobra.Command{
		Use:   "push PATH|-",
		Short: "Store a file, a directory or standard input as a new artifact version",
		Long: `Store a file, a directory (as a tree) or standard input ("-") as a new
version of an artifact, and print its reference.

The name defaults to the file's or directory's base name: lowercased,
accents removed ("é" becomes "e"), each run of other characters not allowed
in names (spaces, brackets, ...) replaced by one "-", or by nothing next to
a ".", and leading and trailing "-" and "." trimmed: "Q3 Report (final).pdf"
becomes q3-report-final.pdf, ".env" becomes env, "x. y.tar.gz" becomes
x.y.tar.gz. Nothing is transliterated: a base name with other letters or
digits (Cyrillic, Han, ...) needs --name, as does standard input. Names are
segments of a-z, 0-9, '.', '_' and '-' separated by '/'. Go programs get
the same name from client.DeriveName. The version defaults to the next integer (1, 2, ...); an
explicit --version that already exists is refused (exit status 5). The tag
"latest" moves to the new version unless --no-latest is given.

Only chunks the store does not already have are uploaded: an unchanged file
uploads nothing, an edited one only the changed region, and a push that was
interrupted uploads, when run again, only what is still missing.

The provenance is recorded with the artifact: the git repository, commit,
branch and dirty state of the working directory, the CI system, job and
run (GitHub Actions, GitLab CI, Jenkins, Buildkite, CircleCI, or CI=true),
the host and user, the --producer text, and every --input (another
artifact, or a raw sha256 digest, each with an optional role).

A directory is stored as a tree: its files' contents are concatenated in
path order and cut into chunks like one file (a tree of many small files is
a handful of objects, not one per file), with each file's path, mode, size
and SHA-256 recorded. Symbolic links are stored as links (their text),
never followed, unless --follow-symlinks is given, which stores what each
link points to instead (a file or a directory, wherever it is). Devices,
sockets and named pipes are skipped with one warning each on stderr, or,
with --strict, fail the push (exit status 2).

A directory pushed again to the same store is not read when nothing in it
changed: the tree cache ($XDG_CACHE_HOME/artstore/trees) records each
entry's path, type, mode, size, modification and change times, inode and
link text at the last push, and when all match and the store still holds
that push's manifest, the manifest is registered again after one stat per
entry. Any change reads the whole directory. Entries changed within two
seconds of the push, devices, sockets, named pipes and --follow-symlinks
leave the tree uncached. --no-cache reads every file regardless.

A progress bar is drawn on stderr for inputs over 4 MiB when stderr is a
terminal, never with --quiet or --json. With --quiet only the reference is
printed.`,
		Example: `  $ artstore push ./report.pdf
  pushed report.pdf:1
    content digest  sha256:9f2c...
    size            1.2 MiB (1258291 bytes)
    uploaded        1.2 MiB, deduplicated 0 B

  $ artstore push build/app.tar.gz --name releases/app --version 2.4.0 --tag prod \
      --label env=prod --input src/app:41=source --producer "make release"
  $ make-report | artstore push - --name reports/nightly --media-type text/html
  $ artstore push ./site/ --name sites/docs        # a directory, as a tree

  # JSON: {"ref", "id", "name", "version", "content_digest", "size",
  #        "manifest_digest", "uploaded_bytes", "deduplicated_bytes", ...}
  $ artstore push ./report.pdf --json`,
		Args: cmdutil.ExactArgs(1, "the file or directory to push, or - for standard input"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return pushRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Name, "name", "", "artifact `NAME`, e.g. reports/quarterly (default: from the file name)")
	fl.StringVar(&opts.Version, "version", "", "`VERSION` to register (default: the next integer)")
	fl.StringArrayVarP(&opts.Tags, "tag", "t", nil, "also point `TAG` at the new version (repeatable)")
	fl.StringArrayVarP(&opts.Labels, "label", "l", nil, "set label `KEY=VALUE` (repeatable)")
	fl.StringArrayVar(&opts.Inputs, "input", nil, "record an input `REF[=ROLE]`: an artifact reference or sha256 digest (repeatable)")
	fl.StringVar(&opts.MediaType, "media-type", "", "media `TYPE`, e.g. application/pdf (default: detected)")
	fl.BoolVar(&opts.NoLatest, "no-latest", false, "do not move the latest tag to this version")
	fl.StringVar(&opts.Producer, "producer", "", "the tool or command that produced the artifact, as `TEXT`")
	fl.BoolVar(&opts.FollowSymlinks, "follow-symlinks", false, "in a directory, store what each symbolic link points to instead of the link")
	fl.BoolVar(&opts.Strict, "strict", false, "in a directory, fail on a device, socket or named pipe instead of skipping it")
	fl.BoolVar(&opts.NoCache, "no-cache", false, "read every file of a directory, even one the tree cache knows unchanged since its last push")
	return cmd
}

// Result is the JSON output of push: the artifact plus transfer figures.
type Result = client.PushResult

func pushRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	req, size, err := buildRequest(ctx, opts)
	if err != nil {
		return err
	}
	if req.Path != "" {
		// Open errors (missing file, no permission) are the user's to fix
		// before anything is stored.
		if _, err := os.Stat(req.Path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return cmdutil.Mark(fmt.Errorf("push: %s does not exist", opts.Path), client.ErrNotFound)
			}
			return fmt.Errorf("push: %w", err)
		}
	}
	if !opts.NoCache && cfg.CacheDir != "" {
		req.TreeCacheDir = filepath.Join(cfg.CacheDir, "trees")
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()

	if size < 0 && req.Path != "" && opts.IO.ProgressEnabled() && !cfg.Output.JSON {
		size = treeSize(req.Path)
	}
	bar := artfmt.NewProgress(opts.IO, cfg.Output.JSON, size, "push "+req.Name)
	if bar != nil {
		req.Progress = func(read, _ int64) { bar.Set(read) }
	}
	req.OnSkip = func(path, what string) {
		// A warning, even with --quiet: the artifact lacks this entry.
		fmt.Fprintf(opts.IO.ErrOut, "warning: skipped %s: a %s (trees store files, directories and symbolic links; --strict refuses it)\n",
			textfmt.Sanitize(path), what)
	}
	res, err := store.Push(ctx, req)
	bar.Done()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			// The chunks stored so far are kept (see transfer.Push).
			opts.IO.Infof("push interrupted; what was uploaded is kept: run the same push again to resume")
		}
		return err // the store's errors say what and which
	}
	return printResult(opts.IO, cfg.Output, res)
}

// buildRequest turns the options into a PushRequest; usage errors are
// reported before the store is opened. size is the input's size for the
// progress bar (-1 when unknown: standard input, directories).
func buildRequest(ctx context.Context, opts *Options) (client.PushRequest, int64, error) {
	req := client.PushRequest{
		Name: opts.Name, Version: opts.Version, Tags: opts.Tags, NoLatest: opts.NoLatest,
		MediaType: opts.MediaType, FollowSymlinks: opts.FollowSymlinks, Strict: opts.Strict,
	}
	size := int64(-1)
	if opts.Path == "-" {
		if req.Name == "" {
			return req, 0, cmdutil.FlagErrorf("pushing standard input needs --name (%s)", artfmt.NameSyntax)
		}
		req.Reader = opts.IO.In
	} else {
		req.Path = filepath.Clean(opts.Path)
		if fi, err := os.Stat(req.Path); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		if req.Name == "" {
			name, err := client.DeriveName(req.Path)
			if err != nil {
				return req, 0, cmdutil.FlagErrorWrap(err)
			}
			req.Name = name
		}
	}
	labels, err := artfmt.ParseLabels(opts.Labels)
	if err != nil {
		return req, 0, cmdutil.FlagErrorWrap(err)
	}
	// Record the pushed file's name, for pull to write it back under that
	// name; a --label of the same key wins.
	if _, given := labels[client.LabelFileName]; req.Path != "" && !given {
		if name, ok := client.FileNameOf(req.Path); ok {
			if labels == nil {
				labels = map[string]string{}
			}
			labels[client.LabelFileName] = name
		}
	}
	if len(labels) > 0 {
		req.Labels = labels
	}
	for _, s := range opts.Inputs {
		in, err := artfmt.ParseInput(s)
		if err != nil {
			return req, 0, cmdutil.FlagErrorWrap(err)
		}
		req.Inputs = append(req.Inputs, in)
	}
	if opts.Detect != nil {
		req.Producer = opts.Detect(ctx)
	}
	req.Producer.Host, req.Producer.User = opts.Host, opts.User
	if p := strings.TrimSpace(opts.Producer); p != "" {
		req.Producer.Command = p
		req.Producer.Tool = strings.Fields(p)[0]
	}
	return req, size, nil
}

// treeSize sums the sizes of the regular files under dir, for the progress
// bar of a directory push; -1 when the walk fails (the push reports why).
func treeSize(dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			total += fi.Size()
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return total
}

func printResult(io *iostreams.IOStreams, out config.Output, res *client.PushResult) error {
	if out.JSON {
		return cmdutil.WriteJSON(io.Out, out, res)
	}
	if io.Quiet() {
		_, err := fmt.Fprintln(io.Out, res.Ref)
		return err
	}
	_, err := fmt.Fprintf(io.Out, "pushed %s\n  content digest  %s\n  size            %s (%d bytes)\n  uploaded        %s, deduplicated %s\n",
		res.Ref, res.ContentDigest, textfmt.Bytes(res.Size), res.Size,
		textfmt.Bytes(res.UploadedBytes), textfmt.Bytes(res.DeduplicatedBytes))
	return err
}
