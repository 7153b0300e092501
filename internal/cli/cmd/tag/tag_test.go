package tag

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdTag(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		wantUsage bool
	}{{args: []string{"a:1", "prod"}}, {args: []string{"a:1"}, wantUsage: true}, {args: []string{"a", "b", "c"}, wantUsage: true}} {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdTag(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		if err != nil || got.Ref != "a:1" || got.Tag != "prod" {
			t.Errorf("%v: err = %v, options %+v", tt.args, err, got)
		}
	}
}

func TestTagRun(t *testing.T) {
	tests := []struct {
		name, ref, tag string
		json           bool
		want           string
		wantCode       int
	}{
		{name: "text", ref: "a:1", tag: "prod", want: "tagged a:1 as prod\n"},
		{name: "json", ref: "a:1", tag: "prod", json: true, want: "{\n  \"id\": "},
		{name: "bad tag", ref: "a:1", tag: "42", wantCode: cmdutil.ExitUsage},
		{name: "unknown", ref: "b:1", tag: "prod", wantCode: cmdutil.ExitNotFound},
	}
	for _, tt := range tests {
		ios, _, stdout, _ := iostreams.Test()
		fake := &fakestore.Store{TagFunc: func(_ context.Context, ref, tag string) (*client.Artifact, error) {
			switch {
			case tag == "42":
				return nil, fmt.Errorf("tag %q is all digits: %w", tag, client.ErrInvalid)
			case ref != "a:1":
				return nil, fmt.Errorf("%s: %w", ref, client.ErrNotFound)
			}
			a := fakestore.Artifact("a", "1")
			a.Tags = append(a.Tags, tag)
			return &a, nil
		}}
		err := tagRun(context.Background(), &Options{IO: ios, Config: fakestore.Config(tt.json), Client: fake.Opener(), Ref: tt.ref, Tag: tt.tag})
		if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantCode)
		}
		if tt.wantCode == 0 && !strings.HasPrefix(stdout.String(), tt.want) {
			t.Errorf("%s: stdout = %q, want %q", tt.name, stdout, tt.want)
		}
		if !fake.Closed {
			t.Errorf("%s: store not closed", tt.name)
		}
	}
}
