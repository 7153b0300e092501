package repair

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdRepair(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		want      Options
		wantUsage bool
	}{
		{args: []string{"a:1", "--from", "a.bin"}, want: Options{Ref: "a:1", From: "a.bin"}},
		{args: []string{"a:1", "--from-backend", "offsite"}, want: Options{Ref: "a:1", FromBackend: "offsite"}},
		{args: []string{"a:1"}, wantUsage: true},
		{args: []string{"a:1", "--from", "a.bin", "--from-backend", "offsite"}, wantUsage: true},
		{args: []string{"--from", "a.bin"}, wantUsage: true},
	} {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdRepair(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage != cmdutil.IsUsage(err) {
			t.Errorf("%v: err = %v, want usage error %v", tt.args, err, tt.wantUsage)
			continue
		}
		if !tt.wantUsage && (err != nil || got.Ref != tt.want.Ref || got.From != tt.want.From || got.FromBackend != tt.want.FromBackend) {
			t.Errorf("%v: err = %v, options %+v", tt.args, err, got)
		}
	}
}

func TestRepairRun(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.bin")
	if err := os.WriteFile(file, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	art := fakestore.Artifact("reports/q", "2")
	cfg := func(jsonOut bool) func() (*config.Config, error) {
		return func() (*config.Config, error) {
			return &config.Config{Output: config.Output{JSON: jsonOut}, Backends: map[string]config.Backend{
				"default": {Spec: backends.Spec{ID: "default", Type: "local", Root: dir}},
				"offsite": {Spec: backends.Spec{ID: "offsite", Type: "local", Root: filepath.Join(dir, "off")}},
			}}, nil
		}
	}
	for _, tt := range []struct {
		name     string
		opts     Options
		json     bool
		res      client.RepairResult
		err      error
		want     string
		wantReq  client.RepairRequest
		wantCode int
	}{
		{name: "from a file", opts: Options{Ref: "reports/q:2", From: file},
			res:     client.RepairResult{Artifact: art, Repaired: true, Source: "file " + file, Missing: 2, Damaged: 1, UploadedBytes: 3 << 20, Blobs: 5, Bytes: 9 << 20},
			want:    "repaired reports/q:2 from file " + file + ": 1 damaged blob replaced, 2 missing blobs restored, 3.0 MiB uploaded; 5 blobs (9.0 MiB) verified\n",
			wantReq: client.RepairRequest{Ref: "reports/q:2", Path: file}},
		{name: "from a backend, intact", opts: Options{Ref: "reports/q:2", FromBackend: "offsite"},
			res:     client.RepairResult{Artifact: art, Source: "backend offsite"},
			want:    "nothing to repair: every blob of reports/q:2 is present and intact\n",
			wantReq: client.RepairRequest{Ref: "reports/q:2", FromBackend: &backends.Spec{ID: "offsite", Type: "local", Root: filepath.Join(dir, "off")}}},
		{name: "json", opts: Options{Ref: "reports/q:2", From: file}, json: true,
			res:     client.RepairResult{Artifact: art, Repaired: true, Source: "file a.bin", Missing: 1, Blobs: 2, Bytes: 10},
			want:    "\"repaired\": true,\n  \"source\": \"file a.bin\",\n  \"missing\": 1,\n  \"damaged\": 0,\n  \"uploaded_bytes\": 0,\n  \"blobs\": 2,\n  \"bytes\": 10\n}\n",
			wantReq: client.RepairRequest{Ref: "reports/q:2", Path: file}},
		{name: "refused", opts: Options{Ref: "reports/q:2", From: file}, err: fmt.Errorf("repair: %w: not the content", client.ErrConflict),
			wantCode: cmdutil.ExitConflict, wantReq: client.RepairRequest{Ref: "reports/q:2", Path: file}},
		{name: "missing file", opts: Options{Ref: "reports/q:2", From: filepath.Join(dir, "nope")}, wantCode: cmdutil.ExitNotFound},
		{name: "unknown backend", opts: Options{Ref: "reports/q:2", FromBackend: "nosuch"}, wantCode: cmdutil.ExitUsage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, stdout, _ := iostreams.Test()
			var got client.RepairRequest
			fake := &fakestore.Store{RepairFunc: func(_ context.Context, req client.RepairRequest) (*client.RepairResult, error) {
				got = req
				if tt.err != nil {
					return nil, tt.err
				}
				return &tt.res, nil
			}}
			opts := tt.opts
			opts.IO, opts.Config, opts.Client = ios, cfg(tt.json), fake.Opener()
			err := repairRun(context.Background(), &opts)
			if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d", code, err, tt.wantCode)
			}
			if got.Ref != tt.wantReq.Ref || got.Path != tt.wantReq.Path || fmt.Sprint(got.FromBackend) != fmt.Sprint(tt.wantReq.FromBackend) {
				t.Fatalf("request %+v, want %+v", got, tt.wantReq)
			}
			if tt.wantCode == 0 && !strings.HasSuffix(stdout.String(), tt.want) {
				t.Fatalf("stdout =\n%s\nwant it to end with\n%s", stdout, tt.want)
			}
		})
	}
}
