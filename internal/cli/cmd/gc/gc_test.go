package gc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdGC(t *testing.T) {
	tests := []struct {
		args      []string
		want      Options
		wantUsage bool
	}{
		{args: nil, want: Options{Grace: time.Hour}},
		{args: []string{"--dry-run", "--grace", "0s"}, want: Options{DryRun: true}},
		{args: []string{"--grace", "90m"}, want: Options{Grace: 90 * time.Minute}},
		{args: []string{"--grace", "-1s"}, wantUsage: true},
		{args: []string{"--grace", "soon"}, wantUsage: true},
		{args: []string{"extra"}, wantUsage: true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdGC(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want a usage error", tt.args, err)
			}
			continue
		}
		if err != nil || got == nil || got.DryRun != tt.want.DryRun || got.Grace != tt.want.Grace {
			t.Errorf("%v: options %+v, err %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestGCRun(t *testing.T) {
	rep := client.GCReport{Backend: "default", Scanned: 10, Blobs: 2, Bytes: 3072, Collected: []client.CollectedBlob{
		{Digest: "sha256:aa", Size: 1024}, {Digest: "sha256:bb", Size: 2048}}, Events: []int64{7}}
	tests := []struct {
		name    string
		opts    Options
		out     config.Output
		rep     client.GCReport
		gcErr   error
		want    string
		wantErr int
	}{
		{name: "text", rep: rep, want: "collected 2 blobs (3.0 KiB) of 10 in backend default\n"},
		{name: "verbose", rep: rep, out: config.Output{Verbose: true},
			want: "collected sha256:aa 1.0 KiB\ncollected sha256:bb 2.0 KiB\ncollected 2 blobs (3.0 KiB) of 10 in backend default\n"},
		{name: "dry run", opts: Options{DryRun: true}, rep: client.GCReport{Backend: "b", DryRun: true, Scanned: 1, Blobs: 1, Bytes: 5},
			want: "would collect 1 blob (5 B) of 1 in backend b\n"},
		{name: "nothing", rep: client.GCReport{Backend: "default", Scanned: 4, Spared: 1},
			want: "collected nothing among the 4 blobs in backend default\nkept 1 blob that pushes referenced or rewrote while gc ran\n"},
		{name: "dry run with nothing to do says so", rep: client.GCReport{Backend: "default", Scanned: 1, DryRun: true},
			want: "nothing to collect among the 1 blob in backend default\n"},
		{name: "quiet", rep: rep, out: config.Output{Quiet: true}, want: ""},
		{name: "json", rep: rep, out: config.Output{JSON: true}, want: `"collected": [`},
		{name: "forbidden", gcErr: errors.Join(errors.New("admin only"), client.ErrForbidden), wantErr: cmdutil.ExitCodeOf(client.ErrForbidden)},
	}
	for _, tt := range tests {
		ios, _, stdout, _ := iostreams.Test()
		var gotOpts client.GCOptions
		fake := &fakestore.Store{GCFunc: func(_ context.Context, o client.GCOptions) (*client.GCReport, error) {
			gotOpts = o
			if tt.gcErr != nil {
				return nil, tt.gcErr
			}
			r := tt.rep
			return &r, nil
		}}
		opts := tt.opts
		opts.IO, opts.Client = ios, fake.Opener()
		out := tt.out
		opts.Config = func() (*config.Config, error) { return &config.Config{Output: out}, nil }
		err := gcRun(context.Background(), &opts)
		if code := cmdutil.ExitCodeOf(err); code != tt.wantErr {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantErr)
		}
		if gotOpts.DryRun != tt.opts.DryRun || gotOpts.Grace != tt.opts.Grace {
			t.Errorf("%s: store got %+v", tt.name, gotOpts)
		}
		if tt.out.JSON {
			if !strings.Contains(stdout.String(), tt.want) {
				t.Errorf("%s: stdout = %q, want it to contain %q", tt.name, stdout, tt.want)
			}
		} else if stdout.String() != tt.want {
			t.Errorf("%s: stdout = %q, want %q", tt.name, stdout, tt.want)
		}
		if !fake.Closed {
			t.Errorf("%s: store not closed", tt.name)
		}
	}
}
