// Package audit implements `artstore audit`.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/artfmt"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore audit`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)
	// Now is the clock --since ages are measured from.
	Now func() time.Time

	Query client.AuditQuery
	since string
	// LimitGiven: --limit was on the command line (with --json the
	// default is every matching event).
	LimitGiven bool
}

// pageSize is how many events one Audit call asks for when --json lists
// the whole trail.
const pageSize = 10000

// NewCmdAudit returns the command. runF, if not nil, replaces the run
// function.
func NewCmdAudit(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client, Now: f.Now}
	cmd := &cobra.Command{
		Use:               "audit [REF]",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Short:             "Show who did what to artifacts, and when",
		Long: `List the audit trail from the event log, oldest first: who pushed, tagged,
labelled, set retention on, held, released, deleted or pulled which
artifact and when, and what garbage collection and retention rules did.

REF limits it to one artifact (an ID also names a deleted one); --actor
to one actor; --since to events at or after a time (a date, an RFC 3339
time, or an age such as 7d); --type to event types (repeatable; the
version suffix may be left out: artifact.retrieved). --limit keeps the
newest N (default 1000; with --json, every matching event unless --limit
is given, fetched and printed page by page). Pulls appear when retrieval records are on
(always through a daemon).`,
		Example: `  $ artstore audit reports/q3.pdf:1
  2026-03-01T12:00:00Z  alice  pushed reports/q3.pdf:1 (id 01JDQ...)
  2026-03-02T08:15:00Z  bob    pulled 01JDQ... (1.1 MiB)

  $ artstore audit --actor ci-bot --since 7d --type artifact.deleted

  # JSON: an array of events, as artstore log --json prints them
  $ artstore audit reports/q3.pdf:1 --json`,
		Args: cmdutil.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Query.Ref = args[0]
			}
			if opts.since != "" {
				now := time.Now
				if opts.Now != nil {
					now = opts.Now
				}
				t, err := artfmt.ParseSince(opts.since, now())
				if err != nil {
					return cmdutil.FlagErrorf("--since: %v", err)
				}
				opts.Query.Since = t
			}
			opts.LimitGiven = cmd.Flags().Changed("limit")
			if opts.Query.Limit < 0 || opts.Query.Limit > 10000 {
				return cmdutil.FlagErrorf("--limit %d: want 1 to 10000", opts.Query.Limit)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return auditRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Query.Actor, "actor", "", "only events by `ACTOR`")
	cmd.Flags().StringVar(&opts.since, "since", "", "only events at or after `TIME` (2026-01-02, RFC 3339, or an age: 7d)")
	cmd.Flags().StringArrayVar(&opts.Query.Types, "type", nil, "only events of `TYPE` (repeatable)")
	cmd.Flags().IntVar(&opts.Query.Limit, "limit", 0, "at most the newest `N` events (default 1000)")
	return cmd
}

func auditRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.Output.JSON && !opts.LimitGiven {
		return streamAll(ctx, store, opts.Query, cmdutil.NewJSONArray(opts.IO.Out, cfg.Output))
	}
	evs, err := store.Audit(ctx, opts.Query)
	if err != nil {
		return err
	}
	if cfg.Output.JSON {
		if evs == nil {
			evs = []client.Event{}
		}
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, evs)
	}
	if len(evs) == 0 {
		if !cfg.Output.Quiet {
			fmt.Fprintln(opts.IO.ErrOut, "no matching events")
		}
		return nil
	}
	// Name artifacts by reference where the store still knows them.
	refs := map[string]string{}
	name := func(id string) string {
		if id == "" {
			return "?"
		}
		if r, ok := refs[id]; ok {
			return r
		}
		r := id
		if a, err := store.Get(ctx, id); err == nil {
			r = a.Ref + " (id " + id + ")"
		}
		refs[id] = r
		return r
	}
	t := cmdutil.NewTable(opts.IO.Out, "TIME", "ACTOR", "WHAT")
	for _, ev := range evs {
		t.Row(ev.Time.UTC().Format(time.RFC3339), textfmt.Sanitize(ev.Actor), textfmt.Sanitize(Describe(ev, name)))
	}
	return t.Flush()
}

// streamAll writes every event q selects to arr, oldest first, one page at
// a time.
func streamAll(ctx context.Context, store client.Store, q client.AuditQuery, arr *cmdutil.JSONArray) error {
	q.Forward, q.After, q.Limit = true, 0, pageSize
	for {
		evs, err := store.Audit(ctx, q)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			// A daemon that ignores after= would serve the same page
			// forever.
			if ev.Seq <= q.After {
				return fmt.Errorf("audit: the daemon does not page the audit trail (event %d after %d); upgrade it or give --limit", ev.Seq, q.After)
			}
			if err := arr.Add(ev); err != nil {
				return err
			}
			q.After = ev.Seq
		}
		if len(evs) < q.Limit {
			return arr.Close()
		}
	}
}

// Describe renders an event as a sentence; name turns an artifact ID into
// something a reader recognises.
func Describe(ev client.Event, name func(id string) string) string {
	p := ev.Payload
	str := func(k string) string { s, _ := p[k].(string); return s }
	num := func(k string) int64 {
		switch v := p[k].(type) {
		case json.Number: // local mode keeps integers exact
			n, _ := v.Int64()
			return n
		case float64: // decoded from the daemon's JSON
			return int64(v)
		}
		return 0
	}
	art := func() string {
		if id := str("artifact_id"); id != "" {
			return name(id)
		}
		return name(ev.Subject)
	}
	typ, _, _ := strings.Cut(ev.Type, ".v")
	switch typ {
	case "artifact.registered":
		return fmt.Sprintf("pushed %s:%s (id %s)", str("name"), str("version"), str("id"))
	case "artifact.retrieved":
		s := fmt.Sprintf("pulled %s (%s", art(), textfmt.Bytes(num("bytes")))
		if r := str("range"); r != "" {
			s += ", bytes " + r
		}
		return s + ")"
	case "tag.moved":
		return fmt.Sprintf("tagged %s as %s:%s", art(), str("name"), str("tag"))
	case "tag.removed":
		return fmt.Sprintf("removed tag %s:%s", str("name"), str("tag"))
	case "labels.changed":
		var parts []string
		if set, ok := p["set"].(map[string]any); ok {
			keys := make([]string, 0, len(set))
			for k := range set {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%s=%v", k, set[k]))
			}
		}
		if rm, ok := p["remove"].([]any); ok {
			for _, k := range rm {
				parts = append(parts, fmt.Sprintf("-%v", k))
			}
		}
		return fmt.Sprintf("labelled %s: %s", art(), strings.Join(parts, " "))
	case "retention.set":
		return fmt.Sprintf("set retention of %s: expires %s, immutable until %s", art(), orNone(str("expires_at")), orNone(str("immutable_until")))
	case "hold.placed":
		return fmt.Sprintf("placed hold %q on %s: %s", str("hold"), art(), str("reason"))
	case "hold.released":
		return fmt.Sprintf("released hold %q on %s", str("hold"), art())
	case "artifact.deleted":
		s := "deleted " + art()
		if r := str("reason"); r != "" {
			s += ": " + r
		}
		return s
	case "artifact.repaired":
		return fmt.Sprintf("repaired %s from %s (%d missing, %d damaged blobs; %d blobs, %s verified)",
			art(), str("source"), num("missing"), num("damaged"), num("blobs"), textfmt.Bytes(num("bytes")))
	case "artifact.imported":
		evs, _ := p["events"].([]any)
		return fmt.Sprintf("imported %s from %s, where it is %s (%d events of its evidence kept)", art(), str("origin"), str("foreign_id"), len(evs))
	case "blobs.collected":
		ds, _ := p["digests"].([]any)
		return fmt.Sprintf("collected %d blobs (%s) from backend %s", len(ds), textfmt.Bytes(num("bytes")), str("backend"))
	case "retention.rule.added":
		s := fmt.Sprintf("added retention rule %s for %s", str("id"), str("pattern"))
		if n := num("expire_after_seconds"); n > 0 {
			s += fmt.Sprintf(", expire-after %s", time.Duration(n)*time.Second)
		}
		if n := num("keep_last"); n > 0 {
			s += fmt.Sprintf(", keep-last %d", n)
		}
		return s
	case "retention.rule.removed":
		return "removed retention rule " + str("id")
	case "token.created":
		return fmt.Sprintf("created %s token %s (%s)", str("scope"), str("name"), str("id"))
	case "token.revoked":
		return "revoked token " + str("id")
	}
	return ev.Type + " " + ev.Subject
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
