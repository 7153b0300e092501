// Package repair implements `artstore repair`.
package repair

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// Options are the inputs of `artstore repair`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	Ref         string
	From        string
	FromBackend string
}

// NewCmdRepair returns the command. runF, if not nil, replaces the run function.
func NewCmdRepair(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "repair REF (--from PATH | --from-backend ID)",
		Short: "Restore an artifact's missing or damaged blobs without a new version",
		Long: `Restore the blobs of an existing artifact that are missing from the store
or damaged in it, from a copy of its content, without pushing a new
version.

First every blob of REF is re-read and re-hashed (as verify --deep does);
each one whose stored bytes are wrong is deleted. If nothing is missing or
damaged, nothing else happens. Otherwise the source is read: --from PATH,
the artifact's file (or, for a directory artifact, its directory), pushed
through the same pipeline as push, which uploads only the blobs the store
lacks; or --from-backend ID, another configured backend holding a copy of
the artifact's blobs, from which each missing blob is copied and verified.
The source must be exactly the artifact's content, stored the same way: a
path of the wrong kind or size is refused before anything is read or
changed, and the content digest and manifest digest the push computes must
be REF's, else the repair is refused naming both (exit 5) and nothing is
recorded. Then every blob is
checked again and the repair is recorded in the event log as
artifact.repaired.v1 (see artstore audit REF). REF keeps its version, ID,
digests, tags and labels.

A damage no copy of the content can mend (a manifest that verifies but
describes something else) is refused before anything is changed (exit 4).`,
		Example: `  $ artstore verify reports/q3.pdf:2 --deep
  digest_mismatch  reports/q3.pdf:2  sha256:77ab...: chunk 3 (77ab...) is damaged in backend default: ...
  $ artstore repair reports/q3.pdf:2 --from ~/archive/q3.pdf
  repaired reports/q3.pdf:2 from file ~/archive/q3.pdf: 1 damaged blob replaced, 2.0 MiB uploaded; 5 blobs (9.1 MiB) verified

  # a directory artifact, and a copy kept in another configured backend
  $ artstore repair sites/docs:4 --from ./site
  $ artstore repair sites/docs:4 --from-backend offsite

  # JSON: {"artifact", "repaired", "source", "missing", "damaged", "uploaded_bytes", "blobs", "bytes"}
  $ artstore repair reports/q3.pdf:2 --from q3.pdf --json`,
		Args: cmdutil.ExactArgs(1, "the artifact to repair, like reports/quarterly:7"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if (opts.From == "") == (opts.FromBackend == "") {
				return cmdutil.FlagErrorf("give the source of the artifact's content: --from PATH or --from-backend ID")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return repairRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.From, "from", "", "the artifact's content: its file, or its directory for a directory artifact (`PATH`)")
	cmd.Flags().StringVar(&opts.FromBackend, "from-backend", "", "another configured backend holding the artifact's blobs (`ID`)")
	return cmd
}

func repairRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	req := client.RepairRequest{Ref: opts.Ref}
	if opts.From != "" {
		req.Path = filepath.Clean(opts.From)
		if _, err := os.Stat(req.Path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return cmdutil.Mark(fmt.Errorf("repair: %s does not exist", opts.From), client.ErrNotFound)
			}
			return fmt.Errorf("repair: %w", err)
		}
	} else {
		b, ok := cfg.Backends[opts.FromBackend]
		if !ok {
			return cmdutil.FlagErrorf("--from-backend: no backend %q is configured (configured: %s)", opts.FromBackend, strings.Join(cfg.BackendIDs(), ", "))
		}
		spec := b.Spec
		req.FromBackend = &spec
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	var bar *artfmt.Progress
	if req.Path != "" {
		if fi, err := os.Stat(req.Path); err == nil && fi.Mode().IsRegular() {
			bar = artfmt.NewProgress(opts.IO, cfg.Output.JSON, fi.Size(), "repair "+opts.Ref)
		}
	}
	if bar != nil {
		req.Progress = func(read, _ int64) { bar.Set(read) }
	}
	res, err := store.Repair(ctx, req)
	bar.Done()
	if err != nil {
		return err // the store's errors say what and which
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, res)
	}
	_, err = io.WriteString(opts.IO.Out, Summary(res)+"\n")
	return err
}

// Summary is the line `artstore repair` prints.
func Summary(r *client.RepairResult) string {
	ref := textfmt.Sanitize(r.Artifact.Ref)
	if !r.Repaired {
		return fmt.Sprintf("nothing to repair: every blob of %s is present and intact", ref)
	}
	var what []string
	if r.Damaged > 0 {
		what = append(what, textfmt.Count(int64(r.Damaged), "damaged blob")+" replaced")
	}
	if r.Missing > 0 {
		what = append(what, textfmt.Count(int64(r.Missing), "missing blob")+" restored")
	}
	what = append(what, textfmt.Bytes(r.UploadedBytes)+" uploaded")
	return fmt.Sprintf("repaired %s from %s: %s; %s (%s) verified", ref, textfmt.Sanitize(r.Source),
		strings.Join(what, ", "), textfmt.Count(int64(r.Blobs), "blob"), textfmt.Bytes(r.Bytes))
}
