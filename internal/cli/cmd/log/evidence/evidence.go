// Package evidence implements `artstore log key`, `artstore log
// checkpoint` and `artstore log prove`: the store's signing key, its signed
// checkpoints and the Merkle proofs that tie events and older checkpoints
// to them.
package evidence

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of the three commands.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	// prove: Inclusion is the event's sequence number (0: not asked),
	// Size the tree size (0: current); Consistency the old tree size
	// (-1: not asked), New the new one (0: current).
	Inclusion   int64
	Size        int64
	Consistency int64
	New         int64
}

func newOptions(f *cmdutil.Factory) *Options {
	return &Options{IO: f.IO, Config: f.Config, Client: f.Client, Consistency: -1}
}

// NewCmdKey returns `artstore log key`. runF, if not nil, replaces the run
// function.
func NewCmdKey(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:   "key",
		Short: "Print the public key the store signs its checkpoints with",
		Long: `Print the public key of the store's checkpoint signing key in note
verifier form (origin+hash+base64), the form "log verify --key" and
any C2SP signed-note verifier take. Give it to whoever checks the
store's checkpoints, over a channel they trust.

In local mode the key is the file checkpoint_key names (default
STORE/checkpoint.key), created with mode 0600 when missing.`,
		Example: `  $ artstore log key
  artstore/4f1c...+8a2b7c1d+AbC...

  # JSON: {"origin", "verifier_key"}
  $ artstore log key --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return keyRun(cmd.Context(), opts)
		},
	}
}

func keyRun(ctx context.Context, opts *Options) error {
	return withStore(ctx, opts, func(cfg *config.Config, st client.Store) error {
		k, err := st.LogKey(ctx)
		if err != nil {
			return fmt.Errorf("log key: %w", err)
		}
		if cfg.Output.JSON {
			return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, k)
		}
		_, err = fmt.Fprintln(opts.IO.Out, k.VerifierKey)
		return err
	})
}

// NewCmdCheckpoint returns `artstore log checkpoint`.
func NewCmdCheckpoint(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	return &cobra.Command{
		Use:   "checkpoint",
		Short: "Print a signed checkpoint of the event log",
		Long: `Print the log's current checkpoint: a C2SP tlog-checkpoint signed note
(the log's origin, the number of events, the root hash of the Merkle tree
over them, then a blank line and the signature). Save it: later,
"artstore log verify --checkpoint FILE" proves that the log then still
holds every event it held when the checkpoint was made, unchanged and in
the same place, which a hash chain alone cannot (someone who can write
the database can delete an event and recompute every later hash).`,
		Example: `  $ artstore log checkpoint > checkpoint-2026-01-31.txt

  # JSON: {"origin", "size", "root", "signed"}
  $ artstore log checkpoint --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return checkpointRun(cmd.Context(), opts)
		},
	}
}

func checkpointRun(ctx context.Context, opts *Options) error {
	return withStore(ctx, opts, func(cfg *config.Config, st client.Store) error {
		c, err := st.Checkpoint(ctx)
		if err != nil {
			return fmt.Errorf("log checkpoint: %w", err)
		}
		if cfg.Output.JSON {
			return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, c)
		}
		_, err = fmt.Fprint(opts.IO.Out, c.Signed)
		return err
	})
}

// NewCmdProve returns `artstore log prove`.
func NewCmdProve(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := newOptions(f)
	cmd := &cobra.Command{
		Use:   "prove (--inclusion SEQ [--size N] | --consistency OLD [NEW])",
		Short: "Print a Merkle proof: an event is in the log, or an older log is a prefix of a newer",
		Long: `Print a proof over the log's Merkle tree (RFC 6962), one hash per line in
standard base64.

--inclusion SEQ proves that event SEQ is in the tree of N events (--size;
default: the whole log now): with the event's hash and a checkpoint of N
events, anyone can recompute the checkpoint's root.

--consistency OLD [NEW] proves that the tree of OLD events is a prefix of
the tree of NEW events (default: the whole log now): with checkpoints of
both sizes, anyone can check that nothing of the older log was removed or
changed.

--json adds what the proof is about (sequence numbers, sizes, the event's
hash).`,
		Example: `  $ artstore log prove --inclusion 42
  $ artstore log prove --inclusion 42 --size 100
  $ artstore log prove --consistency 100 250

  # JSON: {"seq", "size", "event_hash", "proof"} or {"old", "new", "proof"}
  $ artstore log prove --consistency 100 --json`,
		Args: cmdutil.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.proveArgs(cmd, args); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return proveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().Int64Var(&opts.Inclusion, "inclusion", 0, "prove that the event with sequence number `SEQ` is in the log")
	cmd.Flags().Int64Var(&opts.Size, "size", 0, "with --inclusion, the tree of `N` events (default: the whole log)")
	cmd.Flags().Int64Var(&opts.Consistency, "consistency", -1, "prove that the log of `OLD` events is a prefix of the log of NEW (the argument; default: the whole log)")
	return cmd
}

func (o *Options) proveArgs(cmd *cobra.Command, args []string) error {
	inc, cons := cmd.Flags().Changed("inclusion"), cmd.Flags().Changed("consistency")
	switch {
	case inc == cons:
		return cmdutil.FlagErrorf("give one of --inclusion SEQ or --consistency OLD")
	case inc && o.Inclusion < 1:
		return cmdutil.FlagErrorf("--inclusion takes a sequence number, 1 or more")
	case inc && len(args) > 0:
		return cmdutil.FlagErrorf("--inclusion takes no argument (the tree size is --size N)")
	case cons && cmd.Flags().Changed("size"):
		return cmdutil.FlagErrorf("--size goes with --inclusion; the new tree size of --consistency is its argument")
	case o.Size < 0:
		return cmdutil.FlagErrorf("--size takes 1 or more")
	case cons && o.Consistency < 0:
		return cmdutil.FlagErrorf("--consistency takes a tree size, 0 or more")
	}
	if len(args) == 1 {
		n, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || n < 1 {
			return cmdutil.FlagErrorf("NEW: %q is not a tree size (1 or more)", args[0])
		}
		o.New = n
	}
	return nil
}

func proveRun(ctx context.Context, opts *Options) error {
	return withStore(ctx, opts, func(cfg *config.Config, st client.Store) error {
		var out any
		var proof []string
		if opts.Inclusion > 0 {
			p, err := st.InclusionProof(ctx, opts.Inclusion, opts.Size)
			if err != nil {
				return fmt.Errorf("log prove: %w", err)
			}
			out, proof = p, p.Proof
		} else {
			p, err := st.ConsistencyProof(ctx, opts.Consistency, opts.New)
			if err != nil {
				return fmt.Errorf("log prove: %w", err)
			}
			out, proof = p, p.Proof
		}
		if cfg.Output.JSON {
			return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, out)
		}
		if len(proof) == 0 {
			return nil
		}
		_, err := fmt.Fprintln(opts.IO.Out, strings.Join(proof, "\n"))
		return err
	})
}

func withStore(ctx context.Context, opts *Options, fn func(*config.Config, client.Store) error) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	st, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cfg, st)
}
