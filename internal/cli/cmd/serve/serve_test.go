package serve

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/internal/storage/backends/backendstest"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdServe(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		wantUsage bool
		check     func(*Options) bool
	}{
		{args: nil, check: func(o *Options) bool {
			return o.Listen == DefaultListen && o.MaxBody == "4MiB" && o.LogFormat == "text"
		}},
		{args: []string{"--listen", ":0", "--log", "postgres://db/x", "--ready-file", "r", "--drain", "5s"},
			check: func(o *Options) bool {
				return o.Listen == ":0" && o.Log == "postgres://db/x" && o.ReadyFile == "r" && o.Drain == 5*time.Second
			}},
		{args: []string{"--tls-cert", "c.pem"}, wantUsage: true},
		{args: []string{"--log-format", "xml"}, wantUsage: true},
		{args: []string{"extra"}, wantUsage: true},
	} {
		ios, _, _, _ := iostreams.Test()
		var got *Options
		err := fakestore.Execute(NewCmdServe(&cmdutil.Factory{IO: ios}, func(_ context.Context, o *Options) error { got = o; return nil }), tt.args...)
		if tt.wantUsage {
			if !cmdutil.IsUsage(err) {
				t.Errorf("%v: err = %v, want usage", tt.args, err)
			}
			continue
		}
		if err != nil || !tt.check(got) {
			t.Errorf("%v: err = %v, options %+v", tt.args, err, got)
		}
	}
}

func testConfig(dir string) func() (*config.Config, error) {
	return func() (*config.Config, error) {
		return &config.Config{Store: dir, DefaultBackend: "default",
			Backends: map[string]config.Backend{"default": {Spec: backends.Spec{ID: "default", Type: "local", Root: filepath.Join(dir, "blobs")}}}}, nil
	}
}

// waitFile polls for a non-empty file, with a deadline.
func waitFile(t *testing.T, path string, errc <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		select {
		case err := <-errc:
			t.Fatalf("serve returned before it was ready: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
	}
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeRun starts the daemon for real on port 0: the ready file holds
// its URL, a generated bootstrap token is written with mode 0600 and works,
// and cancelling the context stops it cleanly.
func TestServeRun(t *testing.T) {
	dir := t.TempDir()
	ios, _, _, stderr := iostreams.Test()
	ready := filepath.Join(dir, "ready")
	opts := &Options{IO: ios, Config: testConfig(dir), LookupEnv: func(string) (string, bool) { return "", false },
		Listen: "127.0.0.1:0", ReadyFile: ready, MaxBody: "1MiB", LogFormat: "json", Drain: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- serveRun(ctx, opts) }()
	url := waitFile(t, ready, errc)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("ready file holds %q", url)
	}
	tokPath := filepath.Join(dir, auth.BootstrapFile)
	st, err := os.Stat(tokPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("bootstrap token file: %v, %v", st, err)
	}
	tok, _ := os.ReadFile(tokPath)
	if c := get(t, url+"/health", ""); c != 200 {
		t.Errorf("health: %d", c)
	}
	if c := get(t, url+"/v1/artifacts", ""); c != 401 {
		t.Errorf("no token: %d", c)
	}
	if c := get(t, url+"/v1/artifacts", strings.TrimSpace(string(tok))); c != 200 {
		t.Errorf("bootstrap token: %d", c)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("serve: %v", err)
	}
	out := stderr.String()
	if !strings.Contains(out, "artstore: listening on "+url+"\n") || !strings.Contains(out, `"file":"`+tokPath+`"`) {
		t.Errorf("stderr:\n%s", out)
	}
	if strings.Contains(out, strings.TrimSpace(string(tok))) {
		t.Error("the bootstrap secret was logged")
	}
}

// TestServeRunBootstrapFromEnv: the environment's token becomes the admin
// token and no file is written.
func TestServeRunBootstrapFromEnv(t *testing.T) {
	dir := t.TempDir()
	secret, _, err := auth.Generate()
	if err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	ready := filepath.Join(dir, "ready")
	env := func(k string) (string, bool) { return secret, k == EnvBootstrapToken }
	opts := &Options{IO: ios, Config: testConfig(dir), LookupEnv: env, Listen: "127.0.0.1:0", ReadyFile: ready, MaxBody: "1MiB", LogFormat: "text"}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- serveRun(ctx, opts) }()
	url := waitFile(t, ready, errc)
	if c := get(t, url+"/v1/artifacts", secret); c != 200 {
		t.Errorf("env token: %d", c)
	}
	if _, err := os.Stat(filepath.Join(dir, auth.BootstrapFile)); !os.IsNotExist(err) {
		t.Errorf("bootstrap file written: %v", err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// A bad --max-body is a usage error before anything starts.
	opts.MaxBody = "lots"
	if err := serveRun(context.Background(), opts); !cmdutil.IsUsage(err) {
		t.Errorf("bad --max-body: %v", err)
	}
}

// TestApplyFile checks which settings come from the config file's serve:
// section: those whose flag was not given; TLS certificate and key only as
// a pair.
func TestApplyFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	yaml := "serve:\n  listen: ':9000'\n  log: /var/lib/artstore/log.db\n  tls_cert: /c.pem\n  tls_key: /k.pem\n" +
		"  max_body: 2MiB\n  log_format: json\n  drain: 3s\n  retention_interval: 1h\n  gc_interval: 2h\n  gc_grace: 30m\n  proxy_blobs: true\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.LoadOptions{ConfigFile: file, Home: dir, WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defaults := func() *Options {
		return &Options{Listen: DefaultListen, MaxBody: "4MiB", LogFormat: "text", Drain: 30 * time.Second}
	}

	o := defaults()
	o.applyFile(cfg.Serve)
	want := &Options{Listen: ":9000", Log: "/var/lib/artstore/log.db", TLSCert: "/c.pem", TLSKey: "/k.pem", MaxBody: "2097152", LogFormat: "json", Drain: 3 * time.Second, ProxyBlobs: true}
	want.Schedule.RetentionInterval, want.Schedule.GCInterval, want.Schedule.GCGrace = time.Hour, 2*time.Hour, 30*time.Minute
	if !reflect.DeepEqual(o, want) {
		t.Errorf("no flags given: options = %+v\nwant %+v", *o, *want)
	}

	o = defaults()
	o.Listen, o.TLSCert, o.TLSKey, o.Drain = "127.0.0.1:0", "/flag-cert.pem", "/flag-key.pem", time.Second
	o.FlagChanged = func(name string) bool {
		return name == "listen" || name == "tls-cert" || name == "tls-key" || name == "drain"
	}
	o.applyFile(cfg.Serve)
	if o.Listen != "127.0.0.1:0" || o.TLSCert != "/flag-cert.pem" || o.TLSKey != "/flag-key.pem" || o.Drain != time.Second || o.LogFormat != "json" {
		t.Errorf("flags given: options = %+v; want the flags' values kept and the rest from the file", *o)
	}

	// --tls-cert alone never pairs with the file's key: check refuses it.
	o = defaults()
	o.TLSCert = "/flag-cert.pem"
	o.FlagChanged = func(name string) bool { return name == "tls-cert" }
	o.applyFile(cfg.Serve)
	if err := o.check(); !cmdutil.IsUsage(err) {
		t.Errorf("--tls-cert without --tls-key and a file with both: check = %v; want a usage error", err)
	}
}

// TestServeBackendEveryKey checks that every backend key that
// docs/configuration.md documents reaches the backend the daemon opens.
func TestServeBackendEveryKey(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "blobs")
	cfg := backendstest.Load(t, dir, root)
	specs := map[string]backends.Spec{}
	for _, id := range []string{backendstest.LocalID, backendstest.S3ID} {
		be, err := openBackend(t.Context(), cfg.Backends[id])
		if err != nil || be.ID() != id {
			t.Fatalf("open backend %s: %v", id, err)
		}
		specs[id] = backendstest.Opened(t, be)
	}
	backendstest.Check(t, cfg, specs)
}

// TestServeRunFailedStartLeavesNoStore checks that a start that fails
// removes the store directory and backend root it created (and the SQLite
// log it created in them), and keeps whatever was there before.
func TestServeRunFailedStartLeavesNoStore(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	// A backend root that holds a blob but no store marker: serve refuses
	// it (exit 5) after it has created and opened its new log.
	claimed := t.TempDir()
	blob := filepath.Join(claimed, "sha256", "ab", "cd", "abcd"+strings.Repeat("0", 60))
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, []byte("x"), 0o444); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		listen string
		log    string
		root   string // backend root; empty: blobs in the store
		want   error
	}{
		{name: "address taken", listen: taken.Addr().String(), want: client.ErrUnavailable},
		{name: "unreachable PostgreSQL", listen: "127.0.0.1:0", log: "postgres://artstore@127.0.0.1:1/none", want: client.ErrUnavailable},
		{name: "backend holding blobs of another log", listen: "127.0.0.1:0", root: claimed, want: client.ErrConflict},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			store := filepath.Join(parent, "a", "store")
			root := tt.root
			if root == "" {
				root = filepath.Join(store, "blobs")
			}
			ios, _, _, _ := iostreams.Test()
			opts := &Options{IO: ios, LookupEnv: func(string) (string, bool) { return "", false },
				Config: func() (*config.Config, error) {
					return &config.Config{Store: store, DefaultBackend: "default", Backends: map[string]config.Backend{
						"default": {Spec: backends.Spec{ID: "default", Type: "local", Root: root}}}}, nil
				},
				Listen: tt.listen, Log: tt.log, MaxBody: "1MiB", LogFormat: "text"}
			err := serveRun(t.Context(), opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("serveRun = %v, want %v", err, tt.want)
			}
			if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
				t.Errorf("%s holds %v (%v) after the failed start, want nothing", parent, entries, err)
			}
		})
	}
	if _, err := os.Stat(blob); err != nil {
		t.Errorf("the refused backend's blob: %v", err)
	}
	if _, err := os.Stat(filepath.Join(claimed, storage.MarkerName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused backend was marked: %v", err)
	}
}

func TestRemoveEmptyTree(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"gone/a/b", "gone/c", "kept/a/b", "kept/c"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "kept", "a", "b", "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !removeEmptyTree(filepath.Join(dir, "gone")) {
		t.Error("a tree of empty directories was not removed")
	}
	if removeEmptyTree(filepath.Join(dir, "kept")) {
		t.Error("a tree holding a file was removed")
	}
	for _, p := range []string{"kept/a/b/f"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "kept", "c")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the empty directory beside the file was kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gone")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("gone: %v", err)
	}
}
