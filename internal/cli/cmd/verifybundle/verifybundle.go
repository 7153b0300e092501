// Package verifybundle implements `artstore verify-bundle`.
package verifybundle

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/bundle"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore verify-bundle`.
type Options struct {
	IO *iostreams.IOStreams
	// Output gives the output switches; verify-bundle reads no config
	// file and opens no store.
	Output func() (config.Output, error)

	File    string
	Key     string
	KeyFile string
}

// NewCmdVerifyBundle returns the command. runF, if not nil, replaces the
// run function.
func NewCmdVerifyBundle(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Output: f.Output}
	cmd := &cobra.Command{
		Use:   "verify-bundle FILE [--key KEY | --key-file F]",
		Short: "Check an evidence bundle offline and say what it proves",
		Long: `Check an evidence bundle made by "artstore export", with nothing but the
file: no store, no network, no config file. It checks

  - the checkpoint's signature, with the store's public key;
  - every event: its hash over its exact bytes, and its inclusion proof in
    the signed checkpoint's Merkle tree;
  - that the events register the bundle's artifacts, with the digests,
    sizes and manifests it lists, and that the bundle holds their whole
    provenance closure to the depth it was made with;
  - every manifest, chunk and file against the registered digests;
  - that the bundle is exactly what export writes (member order, names,
    headers, README.txt), so any change to it fails.

Then it prints what it proved: each artifact, its digest, when and by whom
it was registered, from which inputs, in which checkpoint, signed by which
key. A bundle that fails exits with status 4, naming the member that failed
and why.

Give the key the store's owner published ("artstore log key" prints it)
with --key, or a file holding it with --key-file. Without one the bundle's
own key.pub is used, which proves only that whoever made the bundle held
that key: the report says so. FILE "-" reads the bundle from standard
input.

A bundle proves that each event it holds is in the log at its place; it
cannot prove that no event about an artifact was left out.`,
		Example: `  $ artstore verify-bundle evidence.tar --key 'artstore/4f1c...+9a3b2c1d+AXk...'
  ok: evidence.tar is a valid artstore-bundle/1
  ...

  $ artstore verify-bundle evidence.tar --key-file store.pub --json | jq .ok
  true

  $ curl -s https://example.com/evidence.tar | artstore verify-bundle - --key-file store.pub`,
		Args: cmdutil.ExactArgs(1, "a bundle file (or - for standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if opts.Key != "" && opts.KeyFile != "" {
				return cmdutil.FlagErrorf("give the key with --key or --key-file, not both")
			}
			if runF != nil {
				return runF(opts)
			}
			return run(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Key, "key", "", "the checkpoint must be signed by `KEY` (a note verifier key, as \"artstore log key\" prints it)")
	cmd.Flags().StringVar(&opts.KeyFile, "key-file", "", "read the verifier key from `FILE`")
	cmdutil.OutputOnly(cmd)
	return cmd
}

func run(opts *Options) error {
	out, err := opts.Output()
	if err != nil {
		return err
	}
	key, err := cmdutil.ReadKeyFlag(opts.Key, opts.KeyFile)
	if err != nil {
		return err
	}
	r, name, done, err := cmdutil.OpenInput("verify-bundle", opts.File, opts.IO.In)
	if err != nil {
		return err
	}
	defer done()
	rep, verr := bundle.Verify(r, bundle.Options{Key: key})
	if verr != nil && !errors.Is(verr, bundle.ErrInvalid) {
		return fmt.Errorf("verify-bundle: read %s: %w", name, verr)
	}
	if out.JSON {
		if err := cmdutil.WriteJSON(opts.IO.Out, out, rep); err != nil {
			return err
		}
	} else if err := printReport(opts.IO.Out, name, rep); err != nil {
		return err
	}
	if verr != nil {
		return cmdutil.Mark(fmt.Errorf("%s does not verify: %s: %s (the bundle was changed, damaged or cut short after it was made, or made with another key; ask its sender for it again)",
			name, textfmt.Sanitize(rep.Member), textfmt.Sanitize(rep.Problem)), client.ErrIntegrity)
	}
	return nil
}

// printReport says, in plain words, what the bundle proved (or how far
// the check got before it failed). Everything from the bundle is
// sanitised: a bundle is untrusted input.
func printReport(w io.Writer, name string, rep *bundle.Report) error {
	s := textfmt.Sanitize
	var b strings.Builder
	if rep.OK {
		fmt.Fprintf(&b, "ok: %s is a valid %s\n", s(name), rep.Format)
	} else {
		fmt.Fprintf(&b, "FAILED: %s: %s\n", s(rep.Member), s(rep.Problem))
		if rep.Size == 0 {
			_, err := io.WriteString(w, b.String())
			return err
		}
		b.WriteString("checked before the failure:\n")
	}
	fmt.Fprintf(&b, "log:        %s, signed checkpoint of %s, root %s\n", s(rep.Origin), textfmt.Count(rep.Size, "event"), rep.Root)
	if rep.KeyFromBundle {
		fmt.Fprintf(&b, "signed by:  %s\n            (the bundle's own key.pub: this proves only that whoever made the bundle\n            held that key; compare it with the key the store's owner publishes, or pass that with --key)\n", s(rep.Key))
	} else {
		fmt.Fprintf(&b, "signed by:  %s (the key you gave)\n", s(rep.Key))
	}
	for _, a := range rep.Artifacts {
		printArtifact(&b, a, rep.OK)
	}
	if rep.OK {
		fmt.Fprintf(&b, "\n%s, each in the checkpoint; %s in %s verified.\n", textfmt.Count(int64(rep.Events), "event"), textfmt.Bytes(rep.Bytes), textfmt.Count(int64(rep.Chunks), "chunk"))
		b.WriteString("A bundle cannot prove that no event about these artifacts was left out.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func printArtifact(b *strings.Builder, a bundle.ArtifactReport, ok bool) {
	s := textfmt.Sanitize
	role := "requested"
	if a.Depth > 0 {
		role = fmt.Sprintf("input, depth %d", a.Depth)
	}
	fmt.Fprintf(b, "\n%s  (%s)\n", s(a.Ref), role)
	kind := a.Kind
	switch {
	case a.Deleted:
		kind = "deleted: its events only, no bytes"
	case a.Verified && a.Files > 0:
		kind = fmt.Sprintf("tree of %s, bytes verified", textfmt.Count(int64(a.Files), "file"))
	case a.Verified:
		kind += ", bytes verified"
	case ok:
		kind = "bytes not in the bundle"
	default:
		kind = "bytes not checked"
	}
	fmt.Fprintf(b, "  digest      %s  %s, %s\n", s(a.Digest), textfmt.Bytes(a.Size), kind)
	fmt.Fprintf(b, "  registered  %s by %s (event %d)\n", a.Registered.UTC().Format(time.RFC3339), s(a.By), a.Seq)
	if p := producer(a); p != "" {
		fmt.Fprintf(b, "  produced    %s\n", s(p))
	}
	if len(a.Inputs) > 0 {
		var ins []string
		for _, in := range a.Inputs {
			t := in.Ref
			if t == "" {
				t = in.Digest.String()
			}
			if in.Role != "" {
				t += " (" + in.Role + ")"
			}
			ins = append(ins, t)
		}
		fmt.Fprintf(b, "  inputs      %s\n", s(strings.Join(ins, ", ")))
	}
	if len(a.Labels) > 0 {
		var ls []string
		for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
			ls = append(ls, k+"="+a.Labels[k])
		}
		fmt.Fprintf(b, "  labels      %s\n", s(strings.Join(ls, " ")))
	}
	if len(a.Tags) > 0 {
		fmt.Fprintf(b, "  tags        %s\n", s(strings.Join(a.Tags, " ")))
	}
	var evs []string
	total := 0
	for _, t := range slices.Sorted(maps.Keys(a.Events)) {
		evs = append(evs, fmt.Sprintf("%s %d", t, a.Events[t]))
		total += a.Events[t]
	}
	fmt.Fprintf(b, "  events      %d: %s\n", total, s(strings.Join(evs, ", ")))
}

func producer(a bundle.ArtifactReport) string {
	p := a.Producer
	var parts []string
	if p.Tool != "" {
		parts = append(parts, "by "+p.Tool)
	}
	if p.GitCommit != "" {
		g := "git " + p.GitCommit
		if p.GitBranch != "" {
			g += " on " + p.GitBranch
		}
		if p.GitDirty {
			g += " (dirty)"
		}
		parts = append(parts, g)
	}
	if p.CISystem != "" {
		parts = append(parts, strings.TrimSpace(p.CISystem+" "+p.CIJob+" "+p.CIRun))
	}
	if p.Host != "" || p.User != "" {
		parts = append(parts, "on "+strings.Trim(p.User+"@"+p.Host, "@"))
	}
	return strings.Join(parts, ", ")
}
