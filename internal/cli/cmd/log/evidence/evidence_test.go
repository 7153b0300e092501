package evidence

import (
	"context"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdProve(t *testing.T) {
	tests := []struct {
		args  []string
		usage bool
		want  Options
	}{
		{args: nil, usage: true},
		{args: []string{"--inclusion", "3", "--consistency", "2"}, usage: true},
		{args: []string{"--inclusion", "0"}, usage: true},
		{args: []string{"--inclusion", "3", "4"}, usage: true},
		{args: []string{"--consistency", "3", "--size", "4"}, usage: true},
		{args: []string{"--consistency", "3", "x"}, usage: true},
		{args: []string{"--consistency", "3", "4", "5"}, usage: true},
		{args: []string{"--inclusion", "3", "--size", "-1"}, usage: true},
		{args: []string{"--inclusion", "3"}, want: Options{Inclusion: 3, Consistency: -1}},
		{args: []string{"--inclusion", "3", "--size", "9"}, want: Options{Inclusion: 3, Size: 9, Consistency: -1}},
		{args: []string{"--consistency", "0"}, want: Options{Consistency: 0}},
		{args: []string{"--consistency", "3", "7"}, want: Options{Consistency: 3, New: 7}},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdProve(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.usage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if got.Inclusion != tt.want.Inclusion || got.Size != tt.want.Size || got.Consistency != tt.want.Consistency || got.New != tt.want.New {
			t.Errorf("%v: options %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestRuns(t *testing.T) {
	fake := &fakestore.Store{
		LogKeyFunc: func(context.Context) (*client.LogKey, error) {
			return &client.LogKey{Origin: "artstore/x", VerifierKey: "artstore/x+01234567+AQ"}, nil
		},
		CheckpointFunc: func(context.Context) (*client.Checkpoint, error) {
			return &client.Checkpoint{Size: 3, Signed: "artstore/x\n3\nroot\n\n— artstore/x sig\n"}, nil
		},
		InclusionFunc: func(_ context.Context, seq, size int64) (*client.InclusionProof, error) {
			return &client.InclusionProof{Seq: seq, Size: 3, EventHash: "ab", Proof: []string{"h1", "h2"}}, nil
		},
		ConsistencyFunc: func(_ context.Context, old, new int64) (*client.ConsistencyProof, error) {
			return &client.ConsistencyProof{Old: old, New: 3}, nil
		},
	}
	for _, tt := range []struct {
		name string
		run  func(context.Context, *Options) error
		opts Options
		json bool
		want string
	}{
		{"key", keyRun, Options{}, false, "artstore/x+01234567+AQ\n"},
		{"key json", keyRun, Options{}, true, "{\n  \"origin\": \"artstore/x\",\n  \"verifier_key\": \"artstore/x+01234567+AQ\"\n}\n"},
		{"checkpoint", checkpointRun, Options{}, false, "artstore/x\n3\nroot\n\n— artstore/x sig\n"},
		{"inclusion", proveRun, Options{Inclusion: 2, Consistency: -1}, false, "h1\nh2\n"},
		{"inclusion json", proveRun, Options{Inclusion: 2, Consistency: -1}, true, "{\n  \"seq\": 2,\n  \"size\": 3,\n  \"event_hash\": \"ab\",\n  \"proof\": [\n    \"h1\",\n    \"h2\"\n  ]\n}\n"},
		{"empty consistency", proveRun, Options{Consistency: 3}, false, ""},
	} {
		ios, _, stdout, _ := iostreams.Test()
		o := tt.opts
		o.IO, o.Config, o.Client = ios, fakestore.Config(tt.json), fake.Opener()
		if err := tt.run(context.Background(), &o); err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if got := stdout.String(); got != tt.want {
			t.Errorf("%s: stdout =\n%q\nwant\n%q", tt.name, got, tt.want)
		}
	}
	if !strings.Contains(NewCmdProve(&cmdutil.Factory{}, nil).Long, "RFC 6962") {
		t.Error("prove's help does not name the tree")
	}
}
