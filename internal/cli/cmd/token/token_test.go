package token

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdCreate(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		wantUsage bool
		want      client.TokenRequest
	}{
		{args: []string{"--scope", "read"}, want: client.TokenRequest{Scope: "read"}},
		{args: []string{"--scope", "write", "--prefix", "ci/", "--expires", "720h", "--name", "ci"}, want: client.TokenRequest{Scope: "write", Prefix: "ci/", Expires: "720h", Name: "ci"}},
		{args: nil, wantUsage: true},
		{args: []string{"--scope", "root"}, wantUsage: true},
		{args: []string{"--scope", "read", "--expires", "soon"}, wantUsage: true},
		{args: []string{"--scope", "read", "x"}, wantUsage: true},
	} {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdCreate(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		if err != nil || got.Request != tt.want {
			t.Errorf("%v: err = %v, request %+v", tt.args, err, got)
		}
	}
	ios, _, _, _ := iostreams.Test()
	if err := fakestore.Execute(NewCmdRevoke(&cmdutil.Factory{IO: ios}, func(context.Context, *Options) error { return nil })); !cmdutil.IsUsage(err) {
		t.Errorf("revoke without an ID: %v", err)
	}
}

// TestTokenOnLog runs create, ls and revoke directly on a SQLite log, as
// before a daemon exists.
func TestTokenOnLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := &cmdutil.Factory{LookupEnv: func(k string) (string, bool) { return map[string]string{"USER": "alice"}[k], k == "USER" }}
	cfg := func(jsonOut bool) func() (*config.Config, error) {
		return func() (*config.Config, error) {
			return &config.Config{Store: dir, Output: config.Output{JSON: jsonOut}}, nil
		}
	}
	run := func(jsonOut bool, fn func(context.Context, *Options) error, o Options) (string, string, error) {
		ios, _, stdout, stderr := iostreams.Test()
		o.IO, o.Config = ios, cfg(jsonOut)
		o.Open = func(ctx context.Context, log string) (Tokens, error) { return open(ctx, f, o.Config, log) }
		err := fn(ctx, &o)
		return stdout.String(), stderr.String(), err
	}
	out, errOut, err := run(false, createRun, Options{Request: client.TokenRequest{Scope: "write", Name: "ci", Prefix: "ci/"}})
	if err != nil || !strings.HasPrefix(out, "art_") || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "shown only this once") {
		t.Fatalf("create: %q %q %v", out, errOut, err)
	}
	out, _, err = run(true, createRun, Options{Request: client.TokenRequest{Scope: "read"}, Log: filepath.Join(dir, client.LogFileName)})
	var created client.TokenCreated
	if err != nil || json.Unmarshal([]byte(out), &created) != nil || created.Token == "" || created.Name != "token-"+created.ID || created.CreatedBy == "" {
		t.Fatalf("create --json: %q %v", out, err)
	}
	if _, _, err := run(false, revokeRun, Options{ID: created.ID}); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(false, listRun, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], " ci ") || !strings.Contains(lines[1], " active ") || !strings.Contains(lines[2], " revoked ") {
		t.Errorf("ls:\n%s", out)
	}
	if strings.Contains(out, "art_") {
		t.Error("ls shows a secret")
	}
	if _, _, err := run(false, revokeRun, Options{ID: "nosuchtoken00000"}); cmdutil.ExitCodeOf(err) != cmdutil.ExitNotFound {
		t.Errorf("revoke unknown: %v", err)
	}
	if _, _, err := run(false, createRun, Options{Request: client.TokenRequest{Scope: "read", Prefix: "Bad"}}); cmdutil.ExitCodeOf(err) != cmdutil.ExitUsage {
		t.Errorf("bad prefix: %v", err)
	}
}
