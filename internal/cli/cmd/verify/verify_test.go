package verify

import (
	"context"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdVerify(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr string
	}{
		{args: nil, want: Options{All: true}},
		{args: []string{"--all", "--deep"}, want: Options{All: true, Deep: true}},
		{args: []string{"a:1"}, want: Options{Ref: "a:1"}},
		{args: []string{"a:1", "--all"}, wantErr: "give a reference or --all, not both"},
		{args: []string{"a:1", "b:1"}, wantErr: "too many arguments"},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdVerify(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantErr != "" {
			if !cmdutil.IsUsage(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err = %v, want usage error %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Ref != tt.want.Ref || got.All != tt.want.All || got.Deep != tt.want.Deep {
			t.Errorf("%v: err = %v, options %+v", tt.args, err, got)
		}
	}
}

func TestVerifyRun(t *testing.T) {
	problems := []client.Problem{
		{Ref: "a:1", Digest: "sha256:aa", Kind: "digest_mismatch", Message: "bytes differ", Hint: "push it again"},
		{Digest: "sha256:bb", Kind: "orphan", Message: "no artifact uses it"},
	}
	tests := []struct {
		name     string
		opts     Options
		rep      client.VerifyReport
		json     bool
		want     string
		wantCode int
	}{
		{name: "ok", opts: Options{All: true}, rep: client.VerifyReport{OK: true, Artifacts: 3, Blobs: 9, Bytes: 3 << 20},
			want: "ok: 3 artifacts, 9 blobs, 3.0 MiB checked\n"},
		{name: "problems, each on a line with what to do", opts: Options{Ref: "a:1", Deep: true}, rep: client.VerifyReport{Artifacts: 1, Problems: problems},
			want:     "digest_mismatch  a:1  sha256:aa: bytes differ\n  what to do: push it again\norphan  sha256:bb: no artifact uses it\n",
			wantCode: cmdutil.ExitIntegrity},
		{name: "orphans alone are reported but exit 0", opts: Options{All: true}, rep: client.VerifyReport{OK: true, Artifacts: 1, Problems: problems[1:]},
			want: "orphan  sha256:bb: no artifact uses it\nok: 1 artifacts, 0 blobs, 0 B checked (1 orphaned blob, reclaimed by artstore gc)\n"},
		{name: "leftover temporary files are garbage too", opts: Options{All: true},
			rep: client.VerifyReport{OK: true, Artifacts: 2, Problems: []client.Problem{problems[1], {Kind: client.ProblemTemp, Message: "3 temporary upload files"}}},
			want: "orphan  sha256:bb: no artifact uses it\ntemporary_files: 3 temporary upload files\n" +
				"ok: 2 artifacts, 0 blobs, 0 B checked (1 orphaned blob, leftover temporary upload files, reclaimed by artstore gc)\n"},
		{name: "json orphans alone exit 0", opts: Options{All: true}, rep: client.VerifyReport{OK: true, Problems: problems[1:]}, json: true,
			want: "{\n  \"ok\": true,\n  \"artifacts\": 0,\n  \"blobs\": 0,\n  \"bytes\": 0,\n  \"problems\": [\n    {\n      \"digest\": \"sha256:bb\",\n      \"kind\": \"orphan\",\n      \"message\": \"no artifact uses it\"\n    }\n  ]\n}\n"},
		{name: "json ok has an empty problem list", opts: Options{All: true}, rep: client.VerifyReport{OK: true, Artifacts: 1}, json: true,
			want: "{\n  \"ok\": true,\n  \"artifacts\": 1,\n  \"blobs\": 0,\n  \"bytes\": 0,\n  \"problems\": []\n}\n"},
		{name: "json problems exit 4", opts: Options{All: true}, rep: client.VerifyReport{Problems: problems[:1]}, json: true,
			want:     "{\n  \"ok\": false,\n  \"artifacts\": 0,\n  \"blobs\": 0,\n  \"bytes\": 0,\n  \"problems\": [\n    {\n      \"ref\": \"a:1\",\n      \"digest\": \"sha256:aa\",\n      \"kind\": \"digest_mismatch\",\n      \"message\": \"bytes differ\",\n      \"hint\": \"push it again\"\n    }\n  ]\n}\n",
			wantCode: cmdutil.ExitIntegrity},
	}
	for _, tt := range tests {
		ios, _, stdout, _ := iostreams.Test()
		var got client.VerifyOptions
		fake := &fakestore.Store{VerifyFunc: func(_ context.Context, o client.VerifyOptions) (*client.VerifyReport, error) {
			got = o
			r := tt.rep
			return &r, nil
		}}
		opts := tt.opts
		opts.IO, opts.Config, opts.Client = ios, fakestore.Config(tt.json), fake.Opener()
		err := verifyRun(context.Background(), &opts)
		if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
			t.Errorf("%s: exit %d (%v), want %d", tt.name, code, err, tt.wantCode)
		}
		if got != (client.VerifyOptions{Ref: tt.opts.Ref, All: tt.opts.All, Deep: tt.opts.Deep}) {
			t.Errorf("%s: store options %+v", tt.name, got)
		}
		if stdout.String() != tt.want {
			t.Errorf("%s: stdout =\n%s\nwant\n%s", tt.name, stdout, tt.want)
		}
	}
}
