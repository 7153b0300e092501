// Package lineage implements `artstore lineage`.
package lineage

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/textfmt"
	"github.com/artifact-store/artstore/pkg/client"
)

// Options are the inputs of `artstore lineage`.
type Options struct {
	IO     *iostreams.IOStreams
	Config func() (*config.Config, error)
	Client func(context.Context) (client.Store, error)

	Ref       string
	Direction client.LineageDirection
	Depth     int
}

// NewCmdLineage returns the command. runF, if not nil, replaces the run function.
func NewCmdLineage(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Config: f.Config, Client: f.Client}
	var up, down bool
	cmd := &cobra.Command{
		Use:               "lineage REF",
		ValidArgsFunction: cmdutil.CompleteRef(f),
		Short:             "Show what an artifact was made from, or what was made from it",
		Long: `Walk an artifact's provenance as a tree: with --up (the default) the inputs
it was produced from, their inputs, and so on; with --down the artifacts
that were produced from it. --depth limits how many steps are taken (0, the
default, means all). Raw digest inputs are shown by digest; an artifact
reached twice is shown once and then marked "(see above)".`,
		Example: `  $ artstore lineage releases/app:2.4.0
  releases/app:2.4.0
  ├── src/app:41 (source)
  │   └── deps/lock:3 (lockfile)
  └── sha256:4be1... (config)

  $ artstore lineage src/app:41 --down --depth 1

  # JSON: {"root", "nodes": [artifacts], "edges": [{"from", "to", "digest", "role", "depth"}]}
  $ artstore lineage releases/app:2.4.0 --json`,
		Args: cmdutil.ExactArgs(1, "the artifact to start from, like releases/app:2.4.0"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if up && down {
				return cmdutil.FlagErrorf("--up and --down exclude each other; run lineage twice for both directions")
			}
			opts.Direction = client.Up
			if down {
				opts.Direction = client.Down
			}
			if opts.Depth < 0 {
				return cmdutil.FlagErrorf("--depth %d: want 0 (no limit) or more", opts.Depth)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return lineageRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&up, "up", false, "walk to the inputs (the default)")
	cmd.Flags().BoolVar(&down, "down", false, "walk to the artifacts derived from it")
	cmd.Flags().IntVarP(&opts.Depth, "depth", "d", 0, "take at most `N` steps (0: no limit)")
	return cmd
}

func lineageRun(ctx context.Context, opts *Options) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	store, err := opts.Client(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	g, err := store.Lineage(ctx, opts.Ref, client.LineageOptions{Direction: opts.Direction, Depth: opts.Depth})
	if err != nil {
		return err
	}
	if g.Nodes == nil {
		g.Nodes = []client.Artifact{}
	}
	if g.Edges == nil {
		g.Edges = []client.LineageEdge{}
	}
	if cfg.Output.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, cfg.Output, g)
	}
	return PrintTree(opts.IO.Out, g, opts.Direction)
}

// PrintTree draws the graph as a tree from its root with box-drawing
// characters, each edge labelled with its role.
func PrintTree(w io.Writer, g *client.LineageGraph, dir client.LineageDirection) error {
	refs := make(map[string]string, len(g.Nodes))
	for _, n := range g.Nodes {
		refs[n.ID] = n.Ref
	}
	name := func(id string) string {
		if r, ok := refs[id]; ok && r != "" {
			return r
		}
		return id
	}
	// children: the edges leaving each node in the walk's direction.
	children := map[string][]client.LineageEdge{}
	for _, e := range g.Edges {
		if dir == client.Down {
			children[e.To] = append(children[e.To], e)
		} else {
			children[e.From] = append(children[e.From], e)
		}
	}
	var b strings.Builder
	b.WriteString(textfmt.Sanitize(name(g.Root)) + "\n")
	seen := map[string]bool{g.Root: true}
	var walk func(id, prefix string)
	walk = func(id, prefix string) {
		kids := children[id]
		for i, e := range kids {
			branch, next := "├── ", "│   "
			if i == len(kids)-1 {
				branch, next = "└── ", "    "
			}
			target := e.To
			if dir == client.Down {
				target = e.From
			}
			label := name(target)
			if target == "" {
				label = e.Digest
			}
			if e.Role != "" {
				label += " (" + e.Role + ")"
			}
			label = textfmt.Sanitize(label)
			if target != "" && seen[target] {
				b.WriteString(prefix + branch + label + " (see above)\n")
				continue
			}
			b.WriteString(prefix + branch + label + "\n")
			if target != "" {
				seen[target] = true
				walk(target, prefix+next)
			}
		}
	}
	walk(g.Root, "")
	_, err := io.WriteString(w, b.String())
	return err
}
