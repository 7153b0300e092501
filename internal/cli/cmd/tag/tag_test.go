package tag

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
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

func TestTagRunSaysWhatMoved(t *testing.T) {
	a1, a2 := fakestore.Artifact("a", "1"), fakestore.Artifact("a", "2")
	a2.ID = "01JDQ8Z4W3C7T1K9M2N5P6R8S2"
	tests := []struct {
		name   string
		before *client.Artifact // where prod pointed
		ref    string
		quiet  bool
		want   string
	}{
		{name: "new tag", ref: "a:2", want: "tagged a:2 as prod\n"},
		{name: "moved", before: &a1, ref: "a:2", want: "moved prod from a:1 to a:2\n"},
		{name: "already there", before: &a2, ref: "a:2", want: "prod already points at a:2\n"},
		{name: "quiet", before: &a1, ref: "a:2", quiet: true, want: ""},
	}
	for _, tt := range tests {
		ios, _, stdout, _ := iostreams.Test()
		fake := &fakestore.Store{
			GetFunc: func(_ context.Context, ref string) (*client.Artifact, error) {
				switch ref {
				case "a:2":
					return &a2, nil
				case "a:prod":
					if tt.before != nil {
						return tt.before, nil
					}
				}
				return nil, fmt.Errorf("%s: %w", ref, client.ErrNotFound)
			},
			TagFunc: func(context.Context, string, string) (*client.Artifact, error) { return &a2, nil },
		}
		cfg := func() (*config.Config, error) { return &config.Config{Output: config.Output{Quiet: tt.quiet}}, nil }
		if err := tagRun(context.Background(), &Options{IO: ios, Config: cfg, Client: fake.Opener(), Ref: tt.ref, Tag: "prod"}); err != nil {
			t.Fatal(err)
		}
		if stdout.String() != tt.want {
			t.Errorf("%s: stdout = %q, want %q", tt.name, stdout, tt.want)
		}
	}
}
