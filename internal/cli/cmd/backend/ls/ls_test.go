package ls

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdLs(t *testing.T) {
	tests := []struct {
		args      []string
		wantUsage bool
	}{
		{args: nil},
		{args: []string{"x"}, wantUsage: true},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		f := &cmdutil.Factory{IO: ios, Config: func() (*config.Config, error) { return nil, nil }}
		var got *Options
		cmd := NewCmdLs(f, func(_ context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage error", tt.args, err)
			}
			continue
		}
		if err != nil || got == nil || got.IO != ios || got.Config == nil {
			t.Errorf("%v: err = %v, options = %+v", tt.args, err, got)
		}
	}
}

func testConfig(json bool) *config.Config {
	return &config.Config{
		DefaultBackend: "s3main",
		Output:         config.Output{JSON: json},
		Backends: map[string]config.Backend{
			"default": {Implicit: true, Spec: backends.Spec{ID: "default", Type: "local", Root: "/s/blobs"}},
			"s3main": {Spec: backends.Spec{ID: "s3main", Type: "s3", Bucket: "art", Prefix: "p/", Endpoint: "http://127.0.0.1:7480",
				PathStyle: true, AccessKeyID: "AKIASECRET", SecretAccessKey: "topsecret"}},
		},
	}
}

func TestLsRun(t *testing.T) {
	tests := []struct {
		name string
		json bool
		want string
	}{
		{name: "table", want: `ID       TYPE   DEFAULT  LOCATION
default  local           /s/blobs
s3main   s3     yes      s3://art/p/ at http://127.0.0.1:7480
`},
		{name: "json", json: true, want: `[
  {
    "id": "default",
    "type": "local",
    "default": false,
    "implicit": true,
    "location": "/s/blobs",
    "root": "/s/blobs"
  },
  {
    "id": "s3main",
    "type": "s3",
    "default": true,
    "implicit": false,
    "location": "s3://art/p/ at http://127.0.0.1:7480",
    "bucket": "art",
    "prefix": "p/",
    "endpoint": "http://127.0.0.1:7480",
    "path_style": true
  }
]
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, stdout, stderr := iostreams.Test()
			opts := &Options{IO: ios, Config: func() (*config.Config, error) { return testConfig(tt.json), nil }}
			if err := lsRun(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != tt.want {
				t.Errorf("stdout =\n%s\nwant\n%s", stdout, tt.want)
			}
			if bytes.Contains(stdout.Bytes(), []byte("secret")) || bytes.Contains(stdout.Bytes(), []byte("AKIA")) {
				t.Error("credentials printed")
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr = %q", stderr)
			}
		})
	}
}

func TestLsRunDaemon(t *testing.T) {
	cfg := testConfig(false)
	cfg.Server = "http://d:1"
	ios, _, stdout, _ := iostreams.Test()
	st := &fakestore.Store{HealthFunc: func(context.Context) ([]client.BackendHealth, error) {
		return []client.BackendHealth{{ID: "ceph", Type: "s3", Healthy: true}}, nil
	}}
	opts := &Options{IO: ios, Config: func() (*config.Config, error) { return cfg, nil },
		Client: func(context.Context) (client.Store, error) { return st, nil }}
	if err := lsRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if want := "ID    TYPE  DEFAULT  LOCATION\nceph  s3    yes      daemon http://d:1\n"; stdout.String() != want {
		t.Errorf("stdout =\n%s\nwant\n%s", stdout, want)
	}

	st.HealthFunc = func(context.Context) ([]client.BackendHealth, error) {
		return nil, fmt.Errorf("daemon http://d:1: %w", client.ErrUnavailable)
	}
	stdout.Reset()
	err := lsRun(context.Background(), opts)
	if code := cmdutil.ExitCodeOf(err); code != cmdutil.ExitUnavailable || !strings.Contains(fmt.Sprint(err), "cannot reach the daemon at http://d:1") || stdout.Len() != 0 {
		t.Errorf("unreachable daemon: err = %v (exit %d), stdout %q", err, code, stdout)
	}
}
