package hold

import (
	"context"
	"errors"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdHold(t *testing.T) {
	tests := []struct {
		args      []string
		want      Options
		wantUsage bool
	}{
		{args: []string{"a:1", "--reason", "case 7"}, want: Options{Ref: "a:1", Reason: "case 7"}},
		{args: []string{"release", "a:1"}, want: Options{Ref: "a:1", Release: true}},
		{args: []string{"a:1"}, wantUsage: true},
		{args: []string{"--reason", "x"}, wantUsage: true},
		{args: []string{"release"}, wantUsage: true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdHold(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		if err != nil || got == nil || got.Ref != tt.want.Ref || got.Reason != tt.want.Reason || got.Release != tt.want.Release {
			t.Errorf("%v: options %+v, err %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestHoldRun(t *testing.T) {
	a := fakestore.Artifact("evidence/disk.img", "1")
	tests := []struct {
		name    string
		opts    Options
		err     error
		want    string
		wantErr int
	}{
		{name: "hold", opts: Options{Ref: "evidence/disk.img:1", Reason: "case 7"}, want: "held evidence/disk.img:1 (legal hold: case 7)\n"},
		{name: "release", opts: Options{Ref: "evidence/disk.img:1", Release: true}, want: "released the legal hold on evidence/disk.img:1\n"},
		{name: "already held", opts: Options{Ref: "x", Reason: "r"}, err: errors.Join(errors.New("placed"), client.ErrConflict), wantErr: cmdutil.ExitCodeOf(client.ErrConflict)},
		{name: "not held", opts: Options{Ref: "x", Release: true}, err: errors.Join(errors.New("not placed"), client.ErrNotFound), wantErr: cmdutil.ExitCodeOf(client.ErrNotFound)},
	}
	for _, tt := range tests {
		ios, _, stdout, _ := iostreams.Test()
		var held, released string
		fake := &fakestore.Store{
			HoldFunc: func(_ context.Context, ref, reason string) (*client.Artifact, error) {
				held = ref + "/" + reason
				return &a, tt.err
			},
			ReleaseFunc: func(_ context.Context, ref string) (*client.Artifact, error) {
				released = ref
				return &a, tt.err
			},
		}
		o := tt.opts
		o.IO, o.Config, o.Client = ios, fakestore.Config(false), fake.Opener()
		err := holdRun(context.Background(), &o)
		if code := cmdutil.ExitCodeOf(err); code != tt.wantErr {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantErr)
		}
		if tt.err == nil && stdout.String() != tt.want {
			t.Errorf("%s: stdout = %q, want %q", tt.name, stdout, tt.want)
		}
		if tt.opts.Release && released != tt.opts.Ref || !tt.opts.Release && held != tt.opts.Ref+"/"+tt.opts.Reason {
			t.Errorf("%s: held %q, released %q", tt.name, held, released)
		}
	}
}
