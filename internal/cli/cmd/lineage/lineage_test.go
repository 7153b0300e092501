package lineage

import (
	"context"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdLineage(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr string
	}{
		{args: []string{"a:1"}, want: Options{Ref: "a:1", Direction: client.Up}},
		{args: []string{"a:1", "--up", "--depth", "2"}, want: Options{Ref: "a:1", Direction: client.Up, Depth: 2}},
		{args: []string{"a:1", "--down", "-d", "1"}, want: Options{Ref: "a:1", Direction: client.Down, Depth: 1}},
		{args: []string{"a:1", "--up", "--down"}, wantErr: "--up and --down exclude each other"},
		{args: []string{"a:1", "--depth", "-1"}, wantErr: "want 0 (no limit) or more"},
		{args: nil, wantErr: "missing argument"},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdLineage(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantErr != "" {
			if !cmdutil.IsUsage(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err = %v, want usage error %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Ref != tt.want.Ref || got.Direction != tt.want.Direction || got.Depth != tt.want.Depth {
			t.Errorf("%v: err = %v, options %+v", tt.args, err, got)
		}
	}
}

func node(id, ref string) client.Artifact { return client.Artifact{ID: id, Ref: ref} }

// graph: R <- A (source) <- C (lock); R <- digest (config); R <- B; B <- C
// (C reached twice).
func graph() *client.LineageGraph {
	return &client.LineageGraph{
		Root:  "R",
		Nodes: []client.Artifact{node("R", "rel:1"), node("A", "src:1"), node("B", "tool:1"), node("C", "lock:1")},
		Edges: []client.LineageEdge{
			{From: "R", To: "A", Role: "source", Depth: 1},
			{From: "R", Digest: "sha256:abc", Role: "config", Depth: 1},
			{From: "R", To: "B", Depth: 1},
			{From: "A", To: "C", Role: "lock", Depth: 2},
			{From: "B", To: "C", Role: "lock\x1b[2J", Depth: 2},
		},
	}
}

func TestLineageRun(t *testing.T) {
	tests := []struct {
		name string
		dir  client.LineageDirection
		g    *client.LineageGraph
		json bool
		want string
	}{
		{name: "up", dir: client.Up, g: graph(), want: `rel:1
├── src:1 (source)
│   └── lock:1 (lock)
├── sha256:abc (config)
└── tool:1
    └── lock:1 (lock�[2J) (see above)
`},
		{name: "down", dir: client.Down, g: &client.LineageGraph{Root: "C", Nodes: []client.Artifact{node("C", "lock:1"), node("A", "src:1"), node("R", "rel:1")},
			Edges: []client.LineageEdge{{From: "A", To: "C", Role: "lock", Depth: 1}, {From: "R", To: "A", Role: "source", Depth: 2}}},
			want: "lock:1\n└── src:1 (lock)\n    └── rel:1 (source)\n"},
		{name: "alone", dir: client.Up, g: &client.LineageGraph{Root: "R", Nodes: []client.Artifact{node("R", "rel:1")}}, want: "rel:1\n"},
		{name: "json empty lists", dir: client.Up, g: &client.LineageGraph{Root: "R"}, json: true, want: "{\n  \"root\": \"R\",\n  \"nodes\": [],\n  \"edges\": []\n}\n"},
	}
	for _, tt := range tests {
		ios, _, stdout, _ := iostreams.Test()
		var gotOpts client.LineageOptions
		fake := &fakestore.Store{LineageFunc: func(_ context.Context, ref string, o client.LineageOptions) (*client.LineageGraph, error) {
			gotOpts = o
			return tt.g, nil
		}}
		err := lineageRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(tt.json), Client: fake.Opener(), Ref: "x", Direction: tt.dir, Depth: 3})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if gotOpts != (client.LineageOptions{Direction: tt.dir, Depth: 3}) {
			t.Errorf("%s: store options %+v", tt.name, gotOpts)
		}
		if stdout.String() != tt.want {
			t.Errorf("%s: stdout =\n%s\nwant\n%s", tt.name, stdout, tt.want)
		}
	}
}
