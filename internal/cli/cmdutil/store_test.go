package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/internal/storage/backends/backendstest"
	"github.com/artifact-store/artstore/pkg/client"
)

func localConfig(store string) *config.Config {
	return &config.Config{Store: store, DefaultBackend: "default", RetrievalRecords: true,
		Backends: map[string]config.Backend{"default": {Implicit: true, Spec: backends.Spec{ID: "default", Type: "local", Root: filepath.Join(store, "blobs")}}}}
}

func TestOpenStoreNeverCreatesByAccident(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		prepare  func(store string)
		create   bool
		wantErr  string
		wantDirs bool
	}{
		{name: "missing store", wantErr: "no store at STORE: create one with `artstore init`"},
		{name: "missing store, create", create: true, wantDirs: true},
		{name: "store without its blob directory (unmounted disk?)", prepare: func(s string) { _ = os.MkdirAll(s, 0o755) },
			wantErr: "backend default: root directory STORE/blobs does not exist (is the disk holding it mounted?"},
		{name: "existing store", prepare: func(s string) { _ = os.MkdirAll(filepath.Join(s, "blobs"), 0o755) }, wantDirs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := filepath.Join(t.TempDir(), "store")
			if tt.prepare != nil {
				tt.prepare(store)
			}
			s, err := OpenStore(ctx, localConfig(store), StoreOptions{Create: tt.create})
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "STORE", store)
				if err == nil || !strings.Contains(err.Error(), want) || ExitCodeOf(err) != ExitUnavailable {
					t.Fatalf("err = %v (exit %d), want %q (exit 6)", err, ExitCodeOf(err), want)
				}
				if _, serr := os.Stat(filepath.Join(store, "blobs")); !errors.Is(serr, os.ErrNotExist) {
					t.Error("a failed open created the blob directory")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := os.Stat(filepath.Join(store, "blobs")); err != nil {
				t.Errorf("blob directory: %v", err)
			}
			if _, err := s.List(ctx, client.Query{}); err != nil {
				t.Errorf("List on the opened store: %v", err)
			}
		})
	}
}

func TestOpenStoreUnknownBackend(t *testing.T) {
	cfg := localConfig(t.TempDir())
	cfg.DefaultBackend = "nope"
	if _, err := OpenStore(context.Background(), cfg, StoreOptions{}); ExitCodeOf(err) != ExitUsage {
		t.Errorf("err = %v, want a usage error", err)
	}
}

func TestActor(t *testing.T) {
	host, _ := os.Hostname()
	suffix := ""
	if host != "" {
		suffix = "@" + host
	}
	account := fmt.Sprintf("uid-%d", os.Getuid())
	if u, err := user.Current(); err == nil && u.Username != "" {
		account = u.Username
	}
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"USER": "alice", "LOGNAME": "bob"}, "alice" + suffix},
		{map[string]string{"LOGNAME": "bob"}, "bob" + suffix},
		// Containers and CI often leave USER unset: the OS account.
		{map[string]string{"USER": ""}, account + suffix},
		{nil, account + suffix},
		// In CI, who started the run, at the CI system.
		{map[string]string{"USER": "runner", "GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat"}, "octocat@github-actions"},
		{map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat", "GITHUB_TRIGGERING_ACTOR": "hubot"}, "hubot@github-actions"},
		{map[string]string{"GITLAB_CI": "true", "GITLAB_USER_LOGIN": "gl-user"}, "gl-user@gitlab-ci"},
		{map[string]string{"CIRCLECI": "true", "CIRCLE_USERNAME": "c"}, "c@circleci"},
		// A CI run that does not say who started it: the OS user.
		{map[string]string{"USER": "runner", "JENKINS_URL": "http://j"}, "runner" + suffix},
	}
	for _, tt := range tests {
		lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
		got := Actor(lookup)
		if got != tt.want {
			t.Errorf("Actor(%v) = %q, want %q", tt.env, got, tt.want)
		}
		if strings.HasPrefix(got, "unknown@") {
			t.Errorf("Actor(%v) = %q", tt.env, got)
		}
	}
	if got := Actor(nil); got != account+suffix {
		t.Errorf("Actor(nil) = %q", got)
	}
}

func TestRemoteOptions(t *testing.T) {
	cfg := &config.Config{Server: "http://d:1", Token: "tok", RetryWindow: 90 * time.Second}
	var notice bytes.Buffer
	opts := RemoteOptions(cfg, &notice)
	if opts.URL != cfg.Server || opts.Token != "tok" || opts.RetryWindow != 90*time.Second || opts.OnUnavailable == nil {
		t.Fatalf("options = %+v", opts)
	}
	opts.OnUnavailable("daemon at http://d:1 unavailable (connection refused); retrying for up to 1m30s...")
	if want := "artstore: daemon at http://d:1 unavailable (connection refused); retrying for up to 1m30s...\n"; notice.String() != want {
		t.Errorf("notice = %q, want %q", notice.String(), want)
	}
	cfg.RetryWindow = 0
	if opts := RemoteOptions(cfg, nil); opts.RetryWindow >= 0 || opts.OnUnavailable != nil {
		t.Errorf("retry_window 0: options = %+v, want retries off and no notice", opts)
	}
}

func TestFactoryNotice(t *testing.T) {
	ios, _, stdout, stderr := iostreams.Test()
	f := New(ios, nil)
	if w := f.Notice(&config.Config{}); w != ios.ErrOut || w == io.Writer(stdout) {
		t.Errorf("notice goes to %v, want stderr %v", w, stderr)
	}
	if w := f.Notice(&config.Config{Output: config.Output{Quiet: true}}); w != nil {
		t.Errorf("notice under --quiet goes to %v, want nowhere", w)
	}
	if w := f.Notice(&config.Config{Output: config.Output{JSON: true}}); w != ios.ErrOut {
		t.Errorf("notice under --json goes to %v, want stderr", w)
	}
}

// TestOpenLocalEveryBackendKey checks that every backend key that
// docs/configuration.md documents reaches the backend local mode opens.
func TestOpenLocalEveryBackendKey(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "blobs")
	cfg := backendstest.Load(t, dir, root)
	specs := map[string]backends.Spec{}
	for _, id := range []string{backendstest.LocalID, backendstest.S3ID} {
		st, err := openLocal(t.Context(), cfg, cfg.Backends[id], "tester", nil)
		if err != nil {
			t.Fatalf("open local mode with backend %s: %v", id, err)
		}
		t.Cleanup(func() { _ = st.Close() })
		specs[id] = st.(*client.Local).Backend()
	}
	backendstest.Check(t, cfg, specs)
}

// TestOpenBackendsEveryBackendKey checks the same for the backends that
// `backend health` opens.
func TestOpenBackendsEveryBackendKey(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := backendstest.Load(t, dir, root)
	reg := OpenBackends(t.Context(), cfg)
	specs := map[string]backends.Spec{}
	for _, id := range []string{backendstest.LocalID, backendstest.S3ID} {
		be, err := reg.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		specs[id] = backendstest.Opened(t, be)
	}
	backendstest.Check(t, cfg, specs)
}
