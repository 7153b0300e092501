// Package show implements `artstore show`.
package show

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/artfmt"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore show`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	Ref string
	// Files lists a directory artifact's entries instead.
	Files bool
}

// NewCmdShow returns the command. runF, if not nil, replaces the run function.
func NewCmdShow(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	cmd := &cobra.Command{
		Use:               "show REF",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Short:             "Show everything known about an artifact",
		Long: `Show an artifact's identity, digests, size and media type, its tags and
labels, its provenance (producer and inputs), its retention (expiry,
immutability, legal hold) and how often it was retrieved.

With --files, list the entries of a directory artifact instead, without
pulling it: for each, its type and permission bits, its size and the
SHA-256 of its content (files; the digest is shortened to 12 hex digits,
--json gives it whole) and its path (a directory's ends with "/"), in path
order. --json prints them as an array, streamed entry by entry.`,
		Example: `  $ artstore show reports/q3.pdf:2
  $ artstore show reports/q3.pdf           # the version tagged latest
  $ artstore show reports/q3.pdf@sha256:9f2c...

  # JSON: the artifact object documented in docs/cli-json.md
  $ artstore show reports/q3.pdf:2 --json

  # the files of a pushed directory, and the paths of its executables
  $ artstore show sites/docs --files
  $ artstore show sites/docs --files --jq '.[] | select(.mode == "0755" and .type == "file") | .path'`,
		Args: cmdutil.ExactArgs(1, "the artifact to show, like reports/quarterly:7"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return showRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Files, "files", false, "list the entries of a directory artifact (type, mode, size, digest, path)")
	return cmd
}

func showRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if opts.Files {
		return listFiles(ctx, opts, cfg, store)
	}
	art, err := store.Get(ctx, opts.Ref)
	if err != nil {
		return err
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, art)
	}
	return Print(opts.IO.Out, art)
}

// Print writes an artifact as the text of `artstore show`.
func Print(w io.Writer, a *client.Artifact) error {
	var b strings.Builder
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "  %-16s%s\n", k, textfmt.Sanitize(v))
		}
	}
	rows := func(k string, vs []string) {
		for i, v := range vs {
			if i > 0 {
				k = ""
			}
			fmt.Fprintf(&b, "  %-16s%s\n", k, textfmt.Sanitize(v))
		}
	}
	b.WriteString(textfmt.Sanitize(a.Ref) + "\n")
	row("id", a.ID)
	row("kind", a.Kind)
	row("content digest", a.ContentDigest)
	row("manifest", a.ManifestDigest)
	row("size", fmt.Sprintf("%s (%d bytes)", textfmt.Bytes(a.Size), a.Size))
	row("media type", a.MediaType)
	created := artfmt.Time(a.CreatedAt)
	if a.CreatedBy != "" {
		created += " by " + a.CreatedBy
	}
	row("created", created)
	if o := a.Imported; o != nil {
		rows("imported from", imported(o))
	}
	if a.Deleted {
		removed := "yes"
		if a.DeletedAt != nil {
			removed = artfmt.Time(*a.DeletedAt)
		}
		row("removed", removed)
	}
	tags := append([]string(nil), a.Tags...)
	sort.Strings(tags)
	row("tags", orNone(strings.Join(tags, ", ")))
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	labels := make([]string, len(keys))
	for i, k := range keys {
		labels[i] = k + "=" + a.Labels[k]
	}
	if len(labels) == 0 {
		labels = []string{"(none)"}
	}
	rows("labels", labels)
	rows("producer", producer(a.Provenance.Producer))
	inputs := make([]string, 0, len(a.Provenance.Inputs))
	for _, in := range a.Provenance.Inputs {
		inputs = append(inputs, Input(in))
	}
	if len(inputs) == 0 {
		inputs = []string{"(none)"}
	}
	rows("inputs", inputs)
	rows("retention", retention(a.Retention))
	retr := fmt.Sprintf("%d", a.Retrievals.Count)
	if a.Retrievals.Count > 0 {
		retr += fmt.Sprintf(" (%s)", textfmt.Bytes(a.Retrievals.Bytes))
		if a.Retrievals.LastAt != nil {
			retr += ", last " + artfmt.Time(*a.Retrievals.LastAt)
			if a.Retrievals.LastBy != "" {
				retr += " by " + a.Retrievals.LastBy
			}
		}
	}
	row("retrievals", retr)
	_, err := io.WriteString(w, b.String())
	return err
}

// imported says where an imported artifact came from, and whether the
// other store's evidence its import record keeps still verifies.
func imported(o *client.ImportOrigin) []string {
	key := "the key given at import"
	if !o.KeyGiven {
		key = "the bundle's own: no key was given at import"
	}
	out := []string{o.Origin + ", as " + o.ForeignID}
	if o.Verified {
		out = append(out,
			fmt.Sprintf("registered there %s by %s (event %d)", artfmt.Time(o.RegisteredAt), o.RegisteredBy, o.ForeignSeq),
			fmt.Sprintf("%s proved in its checkpoint of %s, signed by", textfmt.Count(int64(o.Events), "event"), textfmt.Count(o.CheckpointSize, "event")),
			o.Key+" ("+key+")")
	} else {
		out = append(out, "EVIDENCE DOES NOT VERIFY: "+o.Problem)
	}
	return append(out, fmt.Sprintf("import record: event %d here (artstore audit REF shows it)", o.Seq))
}

// Input renders one provenance input: "src/app:41 (source)".
func Input(in client.Input) string {
	s := in.Ref
	if s == "" {
		s = in.Digest
	}
	if s == "" && in.ArtifactID != "" {
		// A daemon withholds the reference and digest of an input outside
		// the token's name prefix.
		s = in.ArtifactID + " [withheld: outside the token's prefix]"
	}
	if in.Role != "" {
		s += " (" + in.Role + ")"
	}
	return s
}

func producer(p client.Producer) []string {
	var out []string
	add := func(k, v string) {
		if v != "" {
			out = append(out, k+" "+v)
		}
	}
	add("tool", p.Tool)
	add("command", p.Command)
	add("host", p.Host)
	add("user", p.User)
	git := p.GitRepo
	if p.GitCommit != "" {
		git = strings.TrimSpace(git + " @ " + p.GitCommit)
	}
	if p.GitBranch != "" {
		git += " (" + p.GitBranch + ")"
	}
	if p.GitDirty {
		git += " with uncommitted changes"
	}
	add("git", strings.TrimSpace(git))
	ci := strings.TrimSpace(strings.Join([]string{p.CISystem, p.CIJob}, " "))
	if p.CIRun != "" {
		ci += " run " + p.CIRun
	}
	add("ci", ci)
	add("ci url", p.CIURL)
	if len(out) == 0 {
		return []string{"(unknown)"}
	}
	return out
}

func retention(r client.Retention) []string {
	var out []string
	if r.LegalHold {
		s := "legal hold"
		if r.HoldReason != "" {
			s += ": " + r.HoldReason
		}
		out = append(out, s)
	}
	if r.ImmutableUntil != nil {
		out = append(out, "immutable until "+artfmt.Time(*r.ImmutableUntil))
	}
	if r.ExpiresAt != nil {
		out = append(out, "expires "+artfmt.Time(*r.ExpiresAt))
	}
	if len(out) == 0 {
		return []string{"(none: kept until removed)"}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
