package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/pkg/client"
	"github.com/spf13/cobra"
)

// fakeBackend reports a fixed Health, or blocks until its context ends.
type fakeBackend struct {
	id    string
	h     storage.Health
	block bool
}

func (b *fakeBackend) ID() string { return b.id }
func (b *fakeBackend) Put(context.Context, content.Digest, int64, io.Reader) (bool, error) {
	return false, errors.New("not used")
}
func (b *fakeBackend) Get(context.Context, content.Digest, *content.Range) (io.ReadCloser, error) {
	return nil, errors.New("not used")
}
func (b *fakeBackend) Head(context.Context, content.Digest) (storage.Info, error) {
	return storage.Info{}, errors.New("not used")
}
func (b *fakeBackend) Delete(context.Context, content.Digest) (bool, error) {
	return false, errors.New("not used")
}
func (b *fakeBackend) Walk(context.Context, func(storage.Info) error) error {
	return errors.New("not used")
}
func (b *fakeBackend) Health(ctx context.Context) storage.Health {
	if b.block {
		<-ctx.Done()
	}
	return b.h
}

func TestNewCmdHealth(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantID      string
		wantTimeout time.Duration
		wantUsage   bool
	}{
		{name: "all", wantTimeout: DefaultTimeout},
		{name: "one", args: []string{"s3main"}, wantID: "s3main", wantTimeout: DefaultTimeout},
		{name: "timeout", args: []string{"--timeout", "3s"}, wantTimeout: 3 * time.Second},
		{name: "two IDs", args: []string{"a", "b"}, wantUsage: true},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, wantUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cmdutil.Factory{IO: ios}
			var got *Options
			cmd := NewCmdHealth(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.FlagErrorWrap(err) })
			err := cmd.Execute()
			if tt.wantUsage {
				if !cmdutil.IsUsage(err) {
					t.Fatalf("err = %v, want usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tt.wantID || got.Timeout != tt.wantTimeout || got.IO != ios {
				t.Errorf("options = %+v", got)
			}
		})
	}
}

func TestHealthRun(t *testing.T) {
	healthy := storage.Health{Healthy: true, Detail: "local directory /s/blobs: 1.0 GiB free of 2.0 GiB",
		TotalBytes: 2 << 30, UsedBytes: 1 << 30, FreeBytes: 1 << 30}
	vanished := storage.Health{Detail: "root directory /s/blobs does not exist", TotalBytes: -1, UsedBytes: -1, FreeBytes: -1}
	s3down := storage.Health{Detail: "dial tcp 127.0.0.1:7480: connection refused", TotalBytes: -1, UsedBytes: -1, FreeBytes: -1}

	cfg := func(json bool) *config.Config {
		return &config.Config{
			DefaultBackend: "default", ConfigPath: "/h/.config/artstore/config.yaml",
			Output: config.Output{JSON: json},
			Backends: map[string]config.Backend{
				"default": {Implicit: true, Spec: backends.Spec{ID: "default", Type: "local", Root: "/s/blobs"}},
				"s3main":  {Spec: backends.Spec{ID: "s3main", Type: "s3", Bucket: "b"}},
			},
		}
	}
	tests := []struct {
		name       string
		backends   []*fakeBackend
		id         string
		json       bool
		quiet      bool
		wantOut    string
		wantErr    []string // substrings; nil: success
		wantCode   int
		wantStderr string
	}{
		{name: "all healthy", backends: []*fakeBackend{{id: "default", h: healthy}},
			wantOut: "ID       STATUS   FREE     TOTAL    DETAIL\ndefault  healthy  1.0 GiB  2.0 GiB  local directory /s/blobs: 1.0 GiB free of 2.0 GiB\n"},
		{name: "quiet prints nothing on success", quiet: true, backends: []*fakeBackend{{id: "default", h: healthy}}, wantOut: ""},
		{name: "vanished root", backends: []*fakeBackend{{id: "default", h: vanished}},
			wantOut: "ID       STATUS     FREE  TOTAL  DETAIL\ndefault  UNHEALTHY  -     -      root directory /s/blobs does not exist\n",
			wantErr: []string{"backend default: root directory /s/blobs does not exist (is the disk holding the store mounted?",
				"set --store, ARTSTORE_STORE or store in a config file at /h/.config/artstore/config.yaml", "mkdir -p /s/blobs"},
			wantCode: cmdutil.ExitUnavailable},
		{name: "one of two, by ID", id: "s3main",
			backends: []*fakeBackend{{id: "default", h: vanished}, {id: "s3main", h: s3down}},
			wantOut:  "ID      STATUS     FREE  TOTAL  DETAIL\ns3main  UNHEALTHY  -     -      dial tcp 127.0.0.1:7480: connection refused\n",
			wantErr:  []string{"backend s3main: dial tcp", "endpoint, bucket and credentials of backends.s3main"},
			wantCode: cmdutil.ExitUnavailable},
		{name: "two unhealthy", backends: []*fakeBackend{{id: "default", h: vanished}, {id: "s3main", h: s3down}},
			wantOut: "ID       STATUS     FREE  TOTAL  DETAIL\ndefault  UNHEALTHY  -     -      root directory /s/blobs does not exist\n" +
				"s3main   UNHEALTHY  -     -      dial tcp 127.0.0.1:7480: connection refused\n",
			wantErr: []string{"2 backends are unhealthy:\n  backend default:", "\n  backend s3main:"}, wantCode: cmdutil.ExitUnavailable},
		{name: "json", json: true, backends: []*fakeBackend{{id: "default", h: healthy}},
			wantOut: `[
  {
    "id": "default",
    "type": "local",
    "healthy": true,
    "detail": "local directory /s/blobs: 1.0 GiB free of 2.0 GiB",
    "total_bytes": 2147483648,
    "used_bytes": 1073741824,
    "free_bytes": 1073741824
  }
]
`},
		{name: "hung backend times out", backends: []*fakeBackend{{id: "s3main", block: true, h: healthy}},
			wantOut:  "ID      STATUS     FREE  TOTAL  DETAIL\ns3main  UNHEALTHY  -     -      no answer within 1ms\n",
			wantErr:  []string{"backend s3main: no answer within 1ms"},
			wantCode: cmdutil.ExitUnavailable},
		{name: "unknown ID", id: "nope", backends: []*fakeBackend{{id: "default", h: healthy}},
			wantErr: []string{`unknown backend "nope" (configured: [default])`}, wantCode: cmdutil.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, stdout, stderr := iostreams.Test()
			ios.SetQuiet(tt.quiet)
			reg := storage.NewRegistry()
			for _, b := range tt.backends {
				if err := reg.Register(b); err != nil {
					t.Fatal(err)
				}
			}
			timeout := DefaultTimeout
			if tt.name == "hung backend times out" {
				timeout = time.Millisecond
			}
			opts := &Options{IO: ios, ID: tt.id, Timeout: timeout,
				Config:   func() (*config.Config, error) { return cfg(tt.json), nil },
				Backends: func(context.Context) (*storage.Registry, error) { return reg, nil }}
			err := healthRun(context.Background(), opts)
			if stdout.String() != tt.wantOut {
				t.Errorf("stdout =\n%q\nwant\n%q", stdout, tt.wantOut)
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr = %q (errors are printed once, by the caller)", stderr)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
		})
	}
}

func TestHealthRunDaemon(t *testing.T) {
	daemon := []client.BackendHealth{{ID: "s3main", Type: "s3", Healthy: true, Detail: "bucket art: reachable",
		TotalBytes: -1, UsedBytes: -1, FreeBytes: -1}}
	down := []client.BackendHealth{{ID: "s3main", Type: "s3", Detail: "dial tcp 10.0.0.9:7480: connection refused",
		TotalBytes: -1, UsedBytes: -1, FreeBytes: -1}}
	tests := []struct {
		name     string
		id       string
		health   []client.BackendHealth
		err      error
		wantOut  string
		wantErr  string
		wantCode int
	}{
		{name: "healthy", health: daemon,
			wantOut: "ID      STATUS   FREE  TOTAL  DETAIL\ns3main  healthy  -     -      bucket art: reachable\n"},
		{name: "by ID", id: "s3main", health: daemon,
			wantOut: "ID      STATUS   FREE  TOTAL  DETAIL\ns3main  healthy  -     -      bucket art: reachable\n"},
		{name: "unhealthy on the daemon", health: down,
			wantOut:  "ID      STATUS     FREE  TOTAL  DETAIL\ns3main  UNHEALTHY  -     -      dial tcp 10.0.0.9:7480: connection refused\n",
			wantErr:  "backend s3main: dial tcp 10.0.0.9:7480: connection refused (it is the backend of the daemon at http://d:1",
			wantCode: cmdutil.ExitUnavailable},
		{name: "unknown ID", id: "default", health: daemon,
			wantErr: `the daemon at http://d:1 has no backend "default" (it has: s3main)`, wantCode: cmdutil.ExitUsage},
		{name: "unreachable", err: fmt.Errorf("daemon http://d:1: %w", client.ErrUnavailable),
			wantErr: "cannot reach the daemon at http://d:1", wantCode: cmdutil.ExitUnavailable},
		{name: "token refused", err: &client.RemoteError{Status: 401, Code: "unauthorized", Message: "bad token"},
			wantErr: "the daemon at http://d:1 refused to report its backends", wantCode: cmdutil.ExitCodeOf(client.ErrUnauthorized)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, stdout, _ := iostreams.Test()
			st := &fakestore.Store{HealthFunc: func(context.Context) ([]client.BackendHealth, error) { return tt.health, tt.err }}
			opts := &Options{IO: ios, ID: tt.id, Timeout: DefaultTimeout,
				Config: func() (*config.Config, error) {
					return &config.Config{Server: "http://d:1", DefaultBackend: "default",
						Backends: map[string]config.Backend{"default": {Implicit: true, Spec: backends.Spec{ID: "default", Type: "local", Root: "/s/blobs"}}}}, nil
				},
				Backends: func(context.Context) (*storage.Registry, error) {
					t.Fatal("the local backends were opened")
					return nil, nil
				},
				Client: func(context.Context) (client.Store, error) { return st, nil }}
			err := healthRun(context.Background(), opts)
			if stdout.String() != tt.wantOut {
				t.Errorf("stdout =\n%q\nwant\n%q", stdout, tt.wantOut)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || cmdutil.ExitCodeOf(err) != tt.wantCode {
				t.Errorf("err = %v (exit %d); want %q (exit %d)", err, cmdutil.ExitCodeOf(err), tt.wantErr, tt.wantCode)
			}
		})
	}
}
