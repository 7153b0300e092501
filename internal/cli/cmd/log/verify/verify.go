// Package verify implements `artstore log verify`.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/internal/tlog"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore log verify`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	// Checkpoint is a file holding a signed checkpoint saved earlier;
	// Key the verifier key (or a file holding it) it must be signed by,
	// "" for the store's own.
	Checkpoint string
	Key        string
}

// NewCmdVerify returns the command. runF, if not nil, replaces the run function.
func NewCmdVerify(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "verify [--checkpoint FILE [--key KEY]]",
		Short: "Check the event log's hash chain, and that it extends a checkpoint saved earlier",
		Long: `Re-read every event of the log and check that each one's hash covers its
stored bytes and the previous event's hash, from the first event to the
head. A log edited, truncated in the middle or reordered outside artstore
fails (exit status 4), naming the first bad event. The head hash printed
can be written down and compared later.

The chain alone cannot catch someone who can write the database, deletes
an event and recomputes every later hash. --checkpoint FILE catches that:
FILE is a checkpoint saved earlier ("artstore log checkpoint"), and the
log must hold every event it committed to, unchanged and in the same
place: a consistency proof from its tree to today's must verify. The
checkpoint's signature is checked with --key KEY (a note verifier key as
"artstore log key" prints it, or a file holding one) or else the store's
own key. A log that does not extend it, or a checkpoint another key
signed, fails with exit status 4 saying which. In remote mode the proof
is checked here, not by the daemon.`,
		Example: `  $ artstore log verify
  ok: 1284 events, head 5d1c0e7a...

  $ artstore log checkpoint > saved.txt
  $ artstore log verify --checkpoint saved.txt
  ok: 1284 events, head 5d1c0e7a...
  ok: the log of 1290 events extends the checkpoint of 1284 events (root 3q2+7w...)

  # JSON: {"ok", "events", "head", "first_bad", "problem"}, with --checkpoint also
  # "checkpoint": {"ok", "origin", "saved_size", "saved_root", "size", "root", "problem"}
  $ artstore log verify --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Key != "" && opts.Checkpoint == "" {
				return cmdutil.FlagErrorf("--key goes with --checkpoint FILE")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return verifyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Checkpoint, "checkpoint", "", "also check that the log extends the signed checkpoint in `FILE`")
	cmd.Flags().StringVar(&opts.Key, "key", "", "the checkpoint must be signed by `KEY` (a note verifier key, or a file holding one; default: the store's)")
	return cmd
}

// report is the JSON output: the chain's report, and the checkpoint's
// with --checkpoint.
type report struct {
	client.LogReport
	Checkpoint *client.CheckpointReport `json:"checkpoint,omitempty"`
}

func verifyRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	var saved []byte
	if opts.Checkpoint != "" {
		if saved, err = readBounded(opts.Checkpoint, tlog.MaxCheckpointSize); err != nil {
			return fmt.Errorf("log verify: --checkpoint: %w", err)
		}
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	rep, err := store.VerifyLog(ctx)
	if err != nil {
		return fmt.Errorf("log verify: %w", err)
	}
	out := report{LogReport: *rep}
	if saved != nil {
		if out.Checkpoint, err = checkCheckpoint(ctx, opts, store, saved); err != nil {
			return err
		}
		out.OK = out.OK && out.Checkpoint.OK
	}
	if err := printReport(opts.IO.Out, cfg, out, rep.OK); err != nil {
		return err
	}
	if !rep.OK {
		return cmdutil.Mark(fmt.Errorf("the event log's hash chain is broken at event %d: %s (the log was changed outside artstore: restore it from a backup, and keep the damaged copy as evidence)", rep.FirstBad, rep.Problem), client.ErrIntegrity)
	}
	if c := out.Checkpoint; c != nil && !c.OK {
		return cmdutil.Mark(fmt.Errorf("the event log does not extend the checkpoint in %s: %s (the log was rewritten, cut short or replaced outside artstore: restore it from a backup, and keep this copy and the checkpoint as evidence)", opts.Checkpoint, c.Problem), client.ErrIntegrity)
	}
	return nil
}

func checkCheckpoint(ctx context.Context, opts *Options, store client.Store, saved []byte) (*client.CheckpointReport, error) {
	vkey, err := verifierKey(opts.Key)
	if err != nil {
		return nil, fmt.Errorf("log verify: --key: %w", err)
	}
	if vkey == "" {
		k, err := store.LogKey(ctx)
		if err != nil {
			return nil, fmt.Errorf("log verify: the store's checkpoint key: %w", err)
		}
		vkey = k.VerifierKey
	}
	c, err := client.CheckCheckpoint(ctx, store, saved, vkey)
	if err != nil {
		return nil, cmdutil.Mark(fmt.Errorf("log verify: --checkpoint %s: %w", opts.Checkpoint, err), client.ErrInvalid)
	}
	return c, nil
}

func printReport(w io.Writer, cfg *config.Config, out report, chainOK bool) error {
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(w, cfg.Output, out)
	}
	var err error
	if chainOK {
		_, err = fmt.Fprintf(w, "ok: %s, head %s\n", textfmt.Count(out.Events, "event"), headOrNone(out.Head))
	} else {
		_, err = fmt.Fprintf(w, "BROKEN at event %d: %s\n", out.FirstBad, out.LogReport.Problem)
	}
	if err != nil || out.Checkpoint == nil {
		return err
	}
	c := out.Checkpoint
	if c.OK {
		_, err = fmt.Fprintf(w, "ok: the log of %s extends the checkpoint of %s (root %s)\n", textfmt.Count(c.Size, "event"), textfmt.Count(c.SavedSize, "event"), c.SavedRoot)
	} else {
		_, err = fmt.Fprintf(w, "NOT CONSISTENT with the checkpoint of %s (root %s): %s\n", textfmt.Count(c.SavedSize, "event"), c.SavedRoot, c.Problem)
	}
	return err
}

// verifierKey returns the key in the file s names if there is one, else
// s itself, a note verifier key ("" for "").
func verifierKey(s string) (string, error) {
	if st, err := os.Stat(s); s == "" || err != nil || st.IsDir() {
		return s, nil
	}
	b, err := readBounded(s, 4096)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readBounded reads the file path, refusing one longer than max bytes.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, cmdutil.Mark(err, client.ErrNotFound)
		}
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, cmdutil.Mark(fmt.Errorf("%s is longer than %d bytes", path, max), client.ErrInvalid)
	}
	return b, nil
}

func headOrNone(h string) string {
	if h == "" {
		return "(empty log)"
	}
	return h
}
