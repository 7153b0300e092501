// Package log implements `artstore log`, the event log reader; `artstore log
// verify` is in package verify below it.
package log

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/artfmt"
	"github.com/artifact-store/artstore/internal/cli/cmd/log/evidence"
	logverify "github.com/artifact-store/artstore/internal/cli/cmd/log/verify"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// batch is how many events one Events call asks for.
const batch = 1000

// FollowWait is how long one long-poll waits for new events with --follow.
const FollowWait = 30 * time.Second

// Options are the inputs of `artstore log`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	After  int64
	Limit  int
	Follow bool
}

// NewCmdLog returns the command. runF, if not nil, replaces the run function.
func NewCmdLog(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Print the event log: every change to the store, in order",
		Long: `Print the events of the store's append-only log, oldest first: every
push (registration), tag move, label change, retention change, hold,
removal and (in local mode, unless turned off) retrieval, each with its
sequence number, time, actor, type and subject.

--after SEQ starts after that event; --limit N stops after N events;
--follow keeps waiting for new events until interrupted (Ctrl-C). Each
event commits to the one before it by hash; "artstore log verify" checks
the whole chain. "artstore log checkpoint" prints a signed checkpoint of
the log, "artstore log prove" Merkle proofs against it, and "artstore log
verify --checkpoint FILE" checks that the log still extends a checkpoint
saved earlier.`,
		Example: `  $ artstore log
  $ artstore log --after 120 --limit 20
  $ artstore log --follow

  # JSON: an array of {"seq", "time", "actor", "type", "subject", "payload", "prev", "hash"};
  # with --follow, one such object per line (and --jq runs on each)
  $ artstore log --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.After < 0 || opts.Limit < 0 {
				return cmdutil.FlagErrorf("--after and --limit take 0 or more")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return logRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().Int64Var(&opts.After, "after", 0, "start after the event with sequence number `SEQ`")
	cmd.Flags().IntVarP(&opts.Limit, "limit", "n", 0, "print at most `N` events (0: no limit)")
	cmd.Flags().BoolVarP(&opts.Follow, "follow", "f", false, "keep printing new events as they are appended")
	cmd.AddCommand(logverify.NewCmdVerify(f, nil), evidence.NewCmdKey(f, nil), evidence.NewCmdCheckpoint(f, nil), evidence.NewCmdProve(f, nil))
	return cmd
}

func logRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()

	jsonOut := cfg.Output.JSON
	lines := jsonOut && opts.Follow // JSON lines when following
	var arr *cmdutil.JSONArray      // without --follow: one array, streamed
	if jsonOut && !lines {
		arr = cmdutil.NewJSONArray(opts.IO.Out, cfg.Output)
	}
	after, printed := opts.After, 0
	for opts.Limit == 0 || printed < opts.Limit {
		n := batch
		if opts.Limit > 0 && opts.Limit-printed < n {
			n = opts.Limit - printed
		}
		var wait time.Duration
		if opts.Follow {
			wait = FollowWait
		}
		evs, err := store.Events(ctx, after, n, wait)
		if err != nil {
			if opts.Follow && errors.Is(err, context.Canceled) {
				return nil // Ctrl-C is how --follow ends
			}
			return fmt.Errorf("log: %w", err)
		}
		for _, e := range evs {
			switch {
			case lines && (cfg.Output.JQ != "" || cfg.Output.Template != ""):
				// Following, the expression runs on each event.
				if err := cmdutil.WriteJSON(opts.IO.Out, cfg.Output, e); err != nil {
					return err
				}
			case lines:
				b, err := json.Marshal(e)
				if err != nil {
					return fmt.Errorf("log: %w", err)
				}
				if _, err := fmt.Fprintf(opts.IO.Out, "%s\n", b); err != nil {
					return err
				}
			case arr != nil:
				if err := arr.Add(e); err != nil {
					return err
				}
			default:
				if err := PrintEvent(opts.IO.Out, e); err != nil {
					return err
				}
			}
			after = e.Seq
			printed++
		}
		if len(evs) < n && !opts.Follow {
			break
		}
	}
	if arr != nil {
		return arr.Close()
	}
	return nil
}

// PrintEvent writes one event as a line of text: sequence number, time,
// type, subject, actor and a summary of the payload.
func PrintEvent(w io.Writer, e client.Event) error {
	_, err := fmt.Fprintf(w, "%6d  %s  %-22s  %s  %s  %s\n", e.Seq, artfmt.Time(e.Time), textfmt.Sanitize(e.Type), textfmt.Sanitize(e.Subject), textfmt.Sanitize(e.Actor), Summary(e.Payload))
	return err
}

// Summary renders the parts of a payload a reader of the log wants at a
// glance: the name:version (or name) it concerns, a tag, label changes
// (+k=v, -k), sizes, ranges and reasons; at most 100 characters. The full
// payload is in --json.
func Summary(p map[string]any) string {
	str := func(k string) string {
		switch v := p[k].(type) {
		case string:
			return v
		case float64, json.Number, bool:
			return fmt.Sprint(v)
		}
		return ""
	}
	var parts []string
	switch name, version := str("name"), str("version"); {
	case name != "" && version != "":
		parts = append(parts, name+":"+version)
	case name != "":
		parts = append(parts, name)
	}
	if t := str("tag"); t != "" {
		parts = append(parts, "tag="+t)
	}
	if set, ok := p["set"].(map[string]any); ok {
		for _, k := range sortedKeys(set) {
			parts = append(parts, fmt.Sprintf("+%s=%v", k, set[k]))
		}
	}
	switch rm := p["remove"].(type) {
	case []any:
		for _, k := range rm {
			parts = append(parts, fmt.Sprintf("-%v", k))
		}
	case map[string]any:
		for _, k := range sortedKeys(rm) {
			parts = append(parts, "-"+k)
		}
	}
	for _, k := range []string{"size", "bytes", "range", "hold", "reason"} {
		if v := str(k); v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	s := textfmt.Sanitize(strings.Join(parts, " "))
	if r := []rune(s); len(r) > 100 {
		s = string(r[:99]) + "…"
	}
	return s
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
