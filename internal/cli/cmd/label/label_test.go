package label

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdLabel(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr string
	}{
		{args: []string{"a:1", "env=prod", "note="}, want: Options{Ref: "a:1", Set: map[string]string{"env": "prod", "note": ""}}},
		{args: []string{"a:1", "--rm", "x", "--rm", "y"}, want: Options{Ref: "a:1", Set: map[string]string{}, Remove: []string{"x", "y"}}},
		{args: []string{"a:1", "k=v", "--rm", "x"}, want: Options{Ref: "a:1", Set: map[string]string{"k": "v"}, Remove: []string{"x"}}},
		{args: nil, wantErr: "missing argument: the artifact to label"},
		{args: []string{"a:1"}, wantErr: "nothing to change"},
		{args: []string{"a:1", "env"}, wantErr: `label "env": want KEY=VALUE, where KEY starts with a letter or digit`},
		{args: []string{"a:1", "=x"}, wantErr: `label "=x": want KEY=VALUE`},
		{args: []string{"a:1", "k=1", "k=2"}, wantErr: `label "k" is given twice`},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdLabel(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantErr != "" {
			if !cmdutil.IsUsage(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err = %v, want usage error %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		g := *got
		g.IO, g.Config, g.Client = nil, nil, nil
		if !reflect.DeepEqual(g, tt.want) {
			t.Errorf("%v: options = %+v, want %+v", tt.args, g, tt.want)
		}
	}
}

func TestLabelRun(t *testing.T) {
	tests := []struct {
		name     string
		set      map[string]string
		remove   []string
		json     bool
		quiet    bool
		want     string
		wantCode int
	}{
		{name: "set and remove", set: map[string]string{"b": "2", "a": "1"}, remove: []string{"old"}, want: "a:1 labels:\n  a=1\n  b=2\n"},
		{name: "all removed", remove: []string{"old"}, want: "a:1 has no labels\n"},
		{name: "json", set: map[string]string{"a": "1"}, remove: []string{"old"}, json: true, want: "\"labels\": {\n    \"a\": \"1\"\n  },"},
		{name: "quiet: no confirmation", set: map[string]string{"a": "1"}, quiet: true, want: ""},
		{name: "invalid key from the store", set: map[string]string{"bad key": "1"}, wantCode: cmdutil.ExitUsage},
	}
	for _, tt := range tests {
		ios, _, stdout, _ := iostreams.Test()
		var gotSet map[string]string
		var gotRemove []string
		fake := &fakestore.Store{LabelFunc: func(_ context.Context, ref string, set map[string]string, remove []string) (*client.Artifact, error) {
			gotSet, gotRemove = set, remove
			if _, bad := set["bad key"]; bad {
				return nil, fmt.Errorf(`label key "bad key" may contain only ...: %w`, client.ErrInvalid)
			}
			a := fakestore.Artifact("a", "1")
			a.Labels = map[string]string{"old": "x"}
			for k, v := range set {
				a.Labels[k] = v
			}
			for _, k := range remove {
				delete(a.Labels, k)
			}
			return &a, nil
		}}
		err := labelRun(context.Background(), &Options{IO: ios, Config: fakestore.ConfigOutput(config.Output{JSON: tt.json, Quiet: tt.quiet}), Client: fake.Opener(), Ref: "a:1", Set: tt.set, Remove: tt.remove})
		if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantCode)
			continue
		}
		if !reflect.DeepEqual(gotSet, tt.set) || !reflect.DeepEqual(gotRemove, tt.remove) {
			t.Errorf("%s: store got set %v remove %v", tt.name, gotSet, gotRemove)
		}
		if tt.wantCode != 0 {
			continue
		}
		if tt.json && !strings.Contains(stdout.String(), tt.want) || !tt.json && stdout.String() != tt.want {
			t.Errorf("%s: stdout =\n%s\nwant\n%s", tt.name, stdout, tt.want)
		}
	}
}
