// Package verify implements `artstore verify`.
package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore verify`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	Ref  string
	All  bool
	Deep bool
}

// NewCmdVerify returns the command. runF, if not nil, replaces the run function.
func NewCmdVerify(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "verify [REF|--all]",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Short:             "Check that stored bytes are present and intact",
		Long: `Check one artifact (REF) or every artifact (--all, the default without
REF): its manifest and every chunk it names must be present in the backend
with the right size; with --deep every chunk is also re-read and re-hashed,
which reads all the stored bytes. REF's record in the views is first
checked against its registration in the event log (a mismatch is exit 4:
run artstore admin rebuild). Through a daemon with direct transfers (an S3
backend), REF --deep reads the chunks straight from the storage backend,
as a pull does, and the daemon records it as a retrieval of REF.

Each problem is printed on its own line with what to do about it, and the
exit status is 4 when there is any. Orphaned blobs (in the backend, but
referenced by no artifact: left by interrupted pushes) are listed too, but
are garbage, not damage: alone they leave the exit status 0 and "ok" true
(artstore gc reclaims them). Nothing is changed: verify only reports;
artstore repair restores missing or damaged blobs from a copy of the
content without a new version.`,
		Example: `  $ artstore verify --all
  ok: 12 artifacts, 41 blobs, 1.3 GiB checked
  $ artstore verify reports/q3.pdf:2 --deep
  digest_mismatch  reports/q3.pdf:2  sha256:77ab...: chunk 3 (77ab...) is damaged in backend default: ...
    what to do: artstore repair reports/q3.pdf:2 --from PATH (or --from-backend ID) deletes the damaged blob and restores it from a copy of the content, without a new version

  # JSON: {"ok", "artifacts", "blobs", "bytes", "problems": [{"ref", "digest", "kind", "message", "hint"}]}
  $ artstore verify --all --deep --json`,
		Args: cmdutil.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Ref = args[0]
			}
			if opts.Ref != "" && opts.All {
				return cmdutil.FlagErrorf("give a reference or --all, not both")
			}
			if opts.Ref == "" {
				opts.All = true
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return verifyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.All, "all", "a", false, "check every artifact (the default without REF)")
	cmd.Flags().BoolVar(&opts.Deep, "deep", false, "re-read and re-hash every chunk, not only check presence and size")
	return cmd
}

func verifyRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := store.Verify(ctx, client.VerifyOptions{Ref: opts.Ref, All: opts.All, Deep: opts.Deep})
	if err != nil {
		return err // the store's errors say "verify" and which artifact
	}
	if rep.Problems == nil {
		rep.Problems = []client.Problem{}
	}
	if cfg.Output.JSON {
		if err := cmdutil.WriteJSON(opts.IO.Out, cfg.Output, rep); err != nil {
			return err
		}
	} else {
		var b strings.Builder
		for _, p := range rep.Problems {
			fields := []string{p.Kind}
			for _, s := range []string{p.Ref, p.Digest} {
				if s != "" {
					fields = append(fields, s)
				}
			}
			fmt.Fprintf(&b, "%s: %s\n", strings.Join(fields, "  "), p.Message)
			if p.Hint != "" {
				fmt.Fprintf(&b, "  what to do: %s\n", p.Hint)
			}
		}
		if rep.OK {
			fmt.Fprintf(&b, "ok: %d artifacts, %d blobs, %s checked%s\n", rep.Artifacts, rep.Blobs, textfmt.Bytes(rep.Bytes), garbageNote(rep.Problems))
		}
		if _, err := fmt.Fprint(opts.IO.Out, b.String()); err != nil {
			return err
		}
	}
	// Garbage (orphaned blobs, leftover temporary files) is listed but is
	// not damage: only the other problems make verify fail.
	if !rep.OK {
		return cmdutil.Mark(fmt.Errorf("verify found %d problem(s) in %d artifacts", len(rep.Problems), rep.Artifacts), client.ErrIntegrity)
	}
	return nil
}

// garbageNote summarises the harmless findings of a report that is OK:
// "" when there are none.
func garbageNote(problems []client.Problem) string {
	orphans, temp := 0, false
	for _, p := range problems {
		switch p.Kind {
		case client.ProblemOrphan:
			orphans++
		case client.ProblemTemp:
			temp = true
		}
	}
	var notes []string
	if orphans > 0 {
		notes = append(notes, textfmt.Count(int64(orphans), "orphaned blob"))
	}
	if temp {
		notes = append(notes, "leftover temporary upload files")
	}
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, ", ") + ", reclaimed by artstore gc)"
}
