package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// env returns a LookupEnv over a fixed map.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// setup makes a home directory with an optional default config file and
// returns LoadOptions pointing at it.
func setup(t *testing.T, configYAML string) (LoadOptions, string) {
	t.Helper()
	home := t.TempDir()
	if configYAML != "" {
		dir := filepath.Join(home, ".config", "artstore")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(configYAML), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return LoadOptions{LookupEnv: env(map[string]string{"HOME": home}), WorkDir: home}, home
}

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("artstore", pflag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func withEnv(o LoadOptions, kv ...string) LoadOptions {
	m := map[string]string{}
	for _, k := range []string{"HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"} {
		if v, ok := o.LookupEnv(k); ok {
			m[k] = v
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	o.LookupEnv = env(m)
	return o
}

func TestLoadDefaults(t *testing.T) {
	opts, home := setup(t, "")
	cfg, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	wantStore := filepath.Join(home, ".local", "share", "artstore")
	if cfg.Store != wantStore {
		t.Errorf("Store = %q, want %q", cfg.Store, wantStore)
	}
	if cfg.ConfigFile != "" {
		t.Errorf("ConfigFile = %q, want none", cfg.ConfigFile)
	}
	if want := filepath.Join(home, ".config", "artstore", "config.yaml"); cfg.ConfigPath != want {
		t.Errorf("ConfigPath = %q, want %q", cfg.ConfigPath, want)
	}
	if cfg.DefaultBackend != "default" || !cfg.RetrievalRecords || cfg.Server != "" || cfg.Token != "" {
		t.Errorf("unexpected defaults: %+v", cfg)
	}
	b := cfg.Backends["default"]
	if !b.Implicit || b.Type != "local" || b.Root != filepath.Join(wantStore, "blobs") {
		t.Errorf("implicit backend = %+v", b)
	}
	if got := cfg.Specs(); len(got) != 1 || got[0].ID != "default" || got[0].Root != b.Root {
		t.Errorf("Specs() = %+v", got)
	}
}

func TestLoadXDG(t *testing.T) {
	opts, home := setup(t, "")
	xdgData := filepath.Join(home, "data")
	opts = withEnv(opts, "XDG_DATA_HOME", xdgData, "XDG_CONFIG_HOME", "relative/ignored")
	cfg, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store != filepath.Join(xdgData, "artstore") {
		t.Errorf("Store = %q", cfg.Store)
	}
	if cfg.ConfigPath != filepath.Join(home, ".config", "artstore", "config.yaml") {
		t.Errorf("ConfigPath = %q: a relative XDG_CONFIG_HOME must be ignored", cfg.ConfigPath)
	}
}

// TestLoadCacheDir: the cache directory is $XDG_CACHE_HOME/artstore when
// that is absolute, else ~/.cache/artstore.
func TestLoadCacheDir(t *testing.T) {
	opts, home := setup(t, "")
	cfg, err := Load(withEnv(opts, "XDG_CACHE_HOME", "relative/ignored"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, ".cache", "artstore"); cfg.CacheDir != want {
		t.Errorf("CacheDir = %q, want %q", cfg.CacheDir, want)
	}
	xdg := filepath.Join(home, "cache")
	if cfg, err = Load(withEnv(opts, "XDG_CACHE_HOME", xdg)); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(xdg, "artstore"); cfg.CacheDir != want {
		t.Errorf("CacheDir = %q, want %q", cfg.CacheDir, want)
	}
}

func TestLoadPrecedence(t *testing.T) {
	const file = `
store: /from/file
server: http://file.example:1
default_backend: fromfile
retrieval_records: false
backends:
  fromfile: {type: local, root: /file/blobs}
  fromenv: {type: local, root: /env/blobs}
  fromflag: {type: local, root: /flag/blobs}
`
	tests := []struct {
		name        string
		args        []string
		env         []string
		file        string
		wantStore   string
		wantServer  string
		wantBackend string
		wantRecords bool
	}{
		{name: "default", wantStore: "HOME/.local/share/artstore", wantBackend: "default", wantRecords: true},
		{name: "file beats default", file: file, wantStore: "/from/file", wantServer: "http://file.example:1", wantBackend: "fromfile"},
		{name: "env beats file", file: file,
			env:       []string{"ARTSTORE_STORE", "/from/env", "ARTSTORE_SERVER", "https://env.example/", "ARTSTORE_BACKEND", "fromenv", "ARTSTORE_RETRIEVAL_RECORDS", "true"},
			wantStore: "/from/env", wantServer: "https://env.example", wantBackend: "fromenv", wantRecords: true},
		{name: "flag beats env", file: file,
			args:      []string{"--store", "/from/flag", "--server", "http://flag.example", "--backend", "fromflag"},
			env:       []string{"ARTSTORE_STORE", "/from/env", "ARTSTORE_SERVER", "https://env.example", "ARTSTORE_BACKEND", "fromenv"},
			wantStore: "/from/flag", wantServer: "http://flag.example", wantBackend: "fromflag"},
		{name: "empty env counts as unset", file: file, env: []string{"ARTSTORE_STORE", ""},
			wantStore: "/from/file", wantServer: "http://file.example:1", wantBackend: "fromfile"},
		{name: "relative flag path is relative to the work dir", args: []string{"--store", "rel/dir"},
			wantStore: "HOME/rel/dir", wantBackend: "default", wantRecords: true},
		{name: "tilde expands", env: []string{"ARTSTORE_STORE", "~/s"}, wantStore: "HOME/s", wantBackend: "default", wantRecords: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, home := setup(t, tt.file)
			opts = withEnv(opts, tt.env...)
			opts.Flags = flags(t, tt.args...)
			cfg, err := Load(opts)
			if err != nil {
				t.Fatal(err)
			}
			wantStore := strings.Replace(tt.wantStore, "HOME", home, 1)
			if cfg.Store != wantStore || cfg.Server != tt.wantServer || cfg.DefaultBackend != tt.wantBackend || cfg.RetrievalRecords != tt.wantRecords {
				t.Errorf("got store=%q server=%q backend=%q records=%v; want %q %q %q %v",
					cfg.Store, cfg.Server, cfg.DefaultBackend, cfg.RetrievalRecords, wantStore, tt.wantServer, tt.wantBackend, tt.wantRecords)
			}
		})
	}
}

func TestLoadRetryWindow(t *testing.T) {
	tests := []struct {
		name string
		file string
		args []string
		env  []string
		want time.Duration
	}{
		{name: "default", want: 60 * time.Second},
		{name: "file", file: "retry_window: 2m\n", want: 2 * time.Minute},
		{name: "env beats file", file: "retry_window: 2m\n", env: []string{"ARTSTORE_RETRY_WINDOW", "45s"}, want: 45 * time.Second},
		{name: "flag beats env", args: []string{"--retry-window", "5m"}, env: []string{"ARTSTORE_RETRY_WINDOW", "45s"}, want: 5 * time.Minute},
		{name: "zero turns retries off", args: []string{"--retry-window", "0"}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, _ := setup(t, tt.file)
			opts = withEnv(opts, tt.env...)
			opts.Flags = flags(t, tt.args...)
			cfg, err := Load(opts)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RetryWindow != tt.want {
				t.Errorf("RetryWindow = %s, want %s", cfg.RetryWindow, tt.want)
			}
		})
	}
}

func TestLoadOutputAndToken(t *testing.T) {
	opts, _ := setup(t, "token: from-file\n")
	opts = withEnv(opts, "ARTSTORE_JSON", "true", "ARTSTORE_TOKEN", "from-env")
	opts.Flags = flags(t, "-q")
	cfg, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Output.JSON || !cfg.Output.Quiet || cfg.Output.Verbose {
		t.Errorf("Output = %+v", cfg.Output)
	}
	if cfg.Token != "from-env" {
		t.Errorf("Token = %q, want from-env", cfg.Token)
	}
}

func TestLoadConfigFileSelection(t *testing.T) {
	opts, home := setup(t, "store: /default/file\n")
	other := filepath.Join(home, "other.yaml")
	if err := os.WriteFile(other, []byte("store: /other/file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	third := filepath.Join(home, "third.yaml")
	if err := os.WriteFile(third, []byte("store: /third/file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("env", func(t *testing.T) {
		cfg, err := Load(withEnv(opts, "ARTSTORE_CONFIG", other))
		if err != nil || cfg.Store != "/other/file" || cfg.ConfigFile != other {
			t.Fatalf("Load = %+v, %v", cfg, err)
		}
	})
	t.Run("flag beats env", func(t *testing.T) {
		o := withEnv(opts, "ARTSTORE_CONFIG", other)
		o.Flags = flags(t, "--config", third)
		cfg, err := Load(o)
		if err != nil || cfg.Store != "/third/file" {
			t.Fatalf("Load = %+v, %v", cfg, err)
		}
	})
	t.Run("LoadOptions.ConfigFile", func(t *testing.T) {
		o := opts
		o.ConfigFile = other
		cfg, err := Load(o)
		if err != nil || cfg.Store != "/other/file" {
			t.Fatalf("Load = %+v, %v", cfg, err)
		}
	})
}

func TestLoadBackends(t *testing.T) {
	opts, _ := setup(t, `
default_backend: s3main
backends:
  s3main:
    type: s3
    bucket: 2024
    prefix: artstore/
    endpoint: http://127.0.0.1:7480
    path_style: true
    part_size: 16MiB
    multipart_threshold: 67108864
    concurrency: 8
    timeout: 45s
  default:
    type: local
    root: ~/blobs
`)
	cfg, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	s3 := cfg.Backends["s3main"]
	if s3.Bucket != "2024" || !s3.PathStyle || s3.PartSize != 16<<20 || s3.MultipartThreshold != 64<<20 ||
		s3.Concurrency != 8 || s3.Timeout != 45*time.Second || s3.Prefix != "artstore/" {
		t.Errorf("s3main = %+v", s3)
	}
	if got := s3.Location(); got != "s3://2024/artstore/ at http://127.0.0.1:7480" {
		t.Errorf("Location() = %q", got)
	}
	home, _ := opts.LookupEnv("HOME")
	if d := cfg.Backends["default"]; d.Implicit || d.Root != filepath.Join(home, "blobs") {
		t.Errorf("default = %+v", d)
	}
	if ids := cfg.BackendIDs(); strings.Join(ids, ",") != "default,s3main" {
		t.Errorf("BackendIDs() = %v", ids)
	}
	spec := s3.Spec
	if spec.ID != "s3main" || spec.Type != "s3" || spec.PartSize != 16<<20 || spec.Endpoint != s3.Endpoint {
		t.Errorf("Spec() = %+v", spec)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		args  []string
		env   []string
		wants []string // substrings of the error
	}{
		{name: "unknown top-level key with suggestion", file: "store: /s\nbakends: {}\n",
			wants: []string{`bakends: unknown key "bakends" (did you mean "backends"?)`, "config.yaml line 2"}},
		{name: "unknown backend field", file: "backends:\n  s3main:\n    type: s3\n    bucket: b\n    bukcet: x\n",
			wants: []string{`backends.s3main.bukcet: unknown key "bukcet" (did you mean "bucket"?)`, "line 5"}},
		{name: "bad size names key and line", file: "backends:\n  s3main:\n    type: s3\n    bucket: b\n    part_size: 12XB\n",
			wants: []string{`backends.s3main.part_size: "12XB" is not a size`, "line 5"}},
		{name: "uppercase backend ID", file: "backends:\n  S3Main: {type: s3, bucket: b}\n",
			wants: []string{`backend ID "S3Main" is not allowed (use lowercase letters`}},
		{name: "output key in file", file: "json: true\n",
			wants: []string{"json: cannot be set in the config file; use --json or ARTSTORE_JSON"}},
		{name: "malformed YAML names file and line", file: "store: /s\nbackends: [\n",
			wants: []string{"config.yaml is not valid YAML", "line"}},
		{name: "over-indented key names its own line", file: "store: /tmp/x\nbackends:\n  main:\n    type: local\n   root: /tmp/y\n",
			wants: []string{"config.yaml is not valid YAML: line 5 column 4: did not find expected key (in the mapping that starts at line 3)"}},
		{name: "key under-indented after an over-indented one names its line", file: "store: /x\nbackend: main\nbackends:\n  main:\n      type: local\n    root: /y\n",
			wants: []string{"is not valid YAML: line 6 column"}},
		{name: "scanner error names its line", file: "store: /x\nbackends:\n  main:\n    type: local\n      root: /y\n",
			wants: []string{"is not valid YAML: line 5 column"}},
		{name: "not a mapping", file: "- a\n- b\n", wants: []string{"must be a mapping"}},
		{name: "relative path in file", file: "store: rel/dir\n",
			wants: []string{`configuration: store: "rel/dir" must be an absolute path or start with ~/`, "line 1", "flag --store", "env ARTSTORE_STORE"}}, // one problem, no follow-on errors
		{name: "unknown default backend from env", env: []string{"ARTSTORE_BACKEND", "nope"},
			wants: []string{`default_backend: "nope" is not a configured backend (configured: default) (from env ARTSTORE_BACKEND; set with flag --backend, env ARTSTORE_BACKEND)`}},
		{name: "bad bool in env", env: []string{"ARTSTORE_JSON", "yes please"},
			wants: []string{`json: "yes please" is not a boolean`, "env ARTSTORE_JSON"}},
		{name: "bad server URL from flag", args: []string{"--server", "localhost:8080"},
			wants: []string{`server: "localhost:8080" is not a daemon URL`, "from flag --server"}},
		{name: "credentials in server URL", args: []string{"--server", "http://u:p@h"}, wants: []string{"must not contain credentials"}},
		{name: "token with newline", env: []string{"ARTSTORE_TOKEN", "abc\n"}, wants: []string{"token: contains whitespace"}},
		{name: "quiet and verbose", args: []string{"-q", "-v"}, wants: []string{"--quiet and --verbose cannot both be on"}},
		{name: "s3 without bucket", file: "backends:\n  x: {type: s3}\n", wants: []string{"backends.x: type s3 needs bucket"}},
		{name: "local without root", file: "backends:\n  x: {type: local}\n", wants: []string{"backends.x: type local needs root"}},
		{name: "missing type", file: "backends:\n  x: {root: /r}\n", wants: []string{"backends.x: missing type"}},
		{name: "unknown type", file: "backends:\n  x: {type: ftp}\n", wants: []string{`backends.x.type: unknown backend type "ftp"`}},
		{name: "field of the other type", file: "backends:\n  x: {type: local, root: /r, bucket: b}\n",
			wants: []string{"backends.x.bucket: is not used by type local (only by type s3)"}},
		{name: "small part size", file: "backends:\n  x: {type: s3, bucket: b, part_size: 1MiB}\n", wants: []string{"below S3's minimum part size"}},
		{name: "half credentials", file: "backends:\n  x: {type: s3, bucket: b, access_key_id: k}\n", wants: []string{"set access_key_id and secret_access_key together"}},
		{name: "bad endpoint", file: "backends:\n  x: {type: s3, bucket: b, endpoint: 'ftp://x'}\n", wants: []string{"is not an endpoint URL"}},
		{name: "bad concurrency", file: "backends:\n  x: {type: s3, bucket: b, concurrency: many}\n", wants: []string{`backends.x.concurrency: "many" is not a whole number`}},
		{name: "bad duration", file: "backends:\n  x: {type: s3, bucket: b, timeout: 30}\n", wants: []string{"backends.x.timeout: 30 is not a duration"}},
		{name: "empty store flag", args: []string{"--store", ""}, wants: []string{"configuration: store: must not be empty (from flag --store"}},
		{name: "empty key", file: "\"\": x\n", wants: []string{`unknown key ""`}},
		{name: "list where a value belongs", file: "store: [a, b]\n", wants: []string{"store: must be a single value"}},
		{name: "unknown serve field", file: "serve:\n  listn: ':1'\n", wants: []string{`serve.listn: unknown key "listn" (did you mean "listen"?)`, "line 2"}},
		{name: "serve not a mapping", file: "serve: yes\n", wants: []string{"serve: must be a mapping of settings"}},
		{name: "serve listen not host:port", file: "serve:\n  listen: localhost\n", wants: []string{`serve.listen: "localhost" is not host:port`}},
		{name: "serve relative SQLite log", file: "serve:\n  log: artstore.db\n", wants: []string{`serve.log: "artstore.db" must be an absolute path`}},
		{name: "serve half TLS", file: "serve:\n  tls_cert: /c.pem\n", wants: []string{"serve: set tls_cert and tls_key together"}},
		{name: "serve bad log format", file: "serve:\n  log_format: xml\n", wants: []string{`serve.log_format: "xml" is neither text nor json`}},
		{name: "serve zero max body", file: "serve:\n  max_body: 0\n", wants: []string{"serve.max_body: must be a positive size"}},
		{name: "serve bare number duration", file: "serve:\n  gc_interval: 3600\n", wants: []string{"serve.gc_interval: 3600 is not a duration"}},
		{name: "retry window without unit", file: "retry_window: 30\n", wants: []string{"retry_window: 30 is not a duration", "line 1", "flag --retry-window", "env ARTSTORE_RETRY_WINDOW"}},
		{name: "negative retry window", env: []string{"ARTSTORE_RETRY_WINDOW", "-5s"}, wants: []string{`retry_window: "-5s" is not a duration`, "from env ARTSTORE_RETRY_WINDOW"}},
		{name: "tags protected not a list", file: "tags:\n  protected: v*\n", wants: []string{"tags.protected: must be a list of tag patterns", "line 2"}},
		{name: "tags unknown field", file: "tags:\n  protectd: [v*]\n", wants: []string{`tags.protectd: unknown key "protectd" (did you mean "protected"?)`}},
		{name: "tags bad pattern", file: "tags:\n  protected: ['[v']\n", wants: []string{`tags.protected: "[v" is not a tag pattern`}},
		{name: "tags protect latest", file: "tags:\n  protected: ['*']\n", wants: []string{`tags.protected: "*" matches latest, which every push moves`}},
		{name: "jq and template", args: []string{"--jq", ".", "--template", "x"}, wants: []string{"--jq and --template cannot both be given"}},
		{name: "several problems reported together", file: "stor: /x\nservr: y\n",
			wants: []string{"configuration has 2 problems", `"stor"`, `"servr"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, _ := setup(t, tt.file)
			opts = withEnv(opts, tt.env...)
			opts.Flags = flags(t, tt.args...)
			cfg, err := Load(opts)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", cfg)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadOutputIgnoresTheConfigFile(t *testing.T) {
	opts, _ := setup(t, "store: /s\nbackends:\n  main:\n    type: local\n   root: /r\n")
	if _, err := Load(opts); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Load of the broken file = %v, want ErrInvalid", err)
	}
	out, err := LoadOutput(withEnv(opts, "ARTSTORE_JSON", "true", "ARTSTORE_QUIET", "1"))
	if err != nil {
		t.Fatalf("LoadOutput = %v; it must not read the config file", err)
	}
	if want := (Output{JSON: true, Quiet: true}); out != want {
		t.Errorf("LoadOutput = %+v, want %+v", out, want)
	}
	opts.Flags = flags(t, "--verbose", "--template", "{{.version}}")
	out, err = LoadOutput(opts)
	if err != nil || !out.Verbose || !out.JSON || out.Template != "{{.version}}" {
		t.Errorf("LoadOutput with flags = %+v, %v", out, err)
	}
	opts.Flags = flags(t, "-q", "-v")
	if _, err := LoadOutput(opts); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--quiet and --verbose cannot both be on") {
		t.Errorf("LoadOutput -q -v = %v, want the conflict", err)
	}
	if _, err := LoadOutput(withEnv(opts, "ARTSTORE_JSON", "maybe")); !errors.Is(err, ErrInvalid) {
		t.Errorf("LoadOutput with a bad ARTSTORE_JSON = %v, want ErrInvalid", err)
	}
}

func TestLoadMissingExplicitFile(t *testing.T) {
	opts, home := setup(t, "")
	opts.Flags = flags(t, "--config", filepath.Join(home, "nope.yaml"))
	_, err := Load(opts)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "nope.yaml (from flag --config) does not exist") {
		t.Fatalf("Load = %v", err)
	}
}

func TestLoadUnreadableFile(t *testing.T) {
	opts, home := setup(t, "")
	dir := filepath.Join(home, "dir.yaml")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts.ConfigFile = dir
	_, err := Load(opts)
	if err == nil || errors.Is(err, ErrInvalid) {
		t.Fatalf("Load of a directory = %v; want an I/O error that is not ErrInvalid", err)
	}
}

func TestTokenNeverInErrors(t *testing.T) {
	opts, _ := setup(t, "")
	_, err := Load(withEnv(opts, "ARTSTORE_TOKEN", "s3cr3t value"))
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("Load = %v; want an error that does not echo the token", err)
	}
}

func TestSettingsFlagsRegistered(t *testing.T) {
	fs := flags(t)
	for _, s := range Settings() {
		if s.Flag == "" {
			continue
		}
		f := fs.Lookup(s.Flag)
		if f == nil || f.Shorthand != s.Short || f.Usage == "" {
			t.Errorf("flag --%s not registered as described: %+v", s.Flag, f)
		}
	}
}

func FuzzLoadFile(f *testing.F) {
	f.Add("store: /s\nbackends:\n  a: {type: local, root: /r}\n")
	f.Add("backends: [\n")
	f.Add("backends:\n  x: {type: s3, bucket: b, part_size: 12XB}\n")
	f.Add("&a store: *a\n")
	f.Add("serve:\n  listen: ':0'\n  log: postgres://h/db\n  max_body: 1MiB\n  gc_grace: 1h\n")
	f.Add("serve: [1]\n")
	f.Fuzz(func(t *testing.T, yamlText string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(yamlText), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(LoadOptions{ConfigFile: p, Home: dir, WorkDir: dir})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load error %v does not match ErrInvalid", err)
			}
			return
		}
		if _, ok := cfg.Backends[cfg.DefaultBackend]; !ok {
			t.Fatalf("default backend %q not in %v", cfg.DefaultBackend, cfg.BackendIDs())
		}
		for id, b := range cfg.Backends {
			if !backendIDPattern.MatchString(id) || b.ID != id {
				t.Fatalf("bad backend entry %q: %+v", id, b)
			}
		}
	})
}

func TestLoadTagsAndFilters(t *testing.T) {
	opts, _ := setup(t, "tags:\n  protected: [\"v*\", release-*]\n")
	opts.Flags = flags(t, "--jq", ".[].ref")
	cfg, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Tags.Protected) != 2 || cfg.Tags.Protected[0] != "v*" || cfg.Tags.Protected[1] != "release-*" {
		t.Errorf("protected = %q", cfg.Tags.Protected)
	}
	if !cfg.Output.JSON || cfg.Output.JQ != ".[].ref" {
		t.Errorf("output = %+v, want --jq to imply JSON", cfg.Output)
	}
}

func TestLoadServe(t *testing.T) {
	opts, home := setup(t, `serve:
  listen: ":8443"
  log: postgres://artstore@db/artstore
  tls_cert: ~/tls/cert.pem
  tls_key: /etc/artstore/key.pem
  max_body: 8MiB
  log_format: json
  drain: 10s
  retention_interval: 1h
  gc_interval: 24h
  gc_grace: 2h
  proxy_blobs: true
  oci: false
  oci_anonymous_pull: true
  oci_upload_dir: /var/tmp/uploads
  oci_upload_expiry: 12h
`)
	cfg, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Serve
	want := Serve{Listen: ":8443", Log: "postgres://artstore@db/artstore", TLSCert: filepath.Join(home, "tls", "cert.pem"), TLSKey: "/etc/artstore/key.pem",
		MaxBody: 8 << 20, LogFormat: "json", Drain: 10 * time.Second, RetentionInterval: time.Hour, GCInterval: 24 * time.Hour, GCGrace: 2 * time.Hour,
		OCI: false, OCIAnonymousPull: true, OCIUploadDir: "/var/tmp/uploads", OCIUploadExpiry: 12 * time.Hour, ProxyBlobs: true}
	s.set, want.set = nil, nil
	if !reflect.DeepEqual(s, want) {
		t.Errorf("serve = %+v\nwant    %+v", s, want)
	}
	for _, f := range ServeFields() {
		if !cfg.Serve.Has(f) {
			t.Errorf("Has(%q) = false for a field the file sets", f)
		}
	}

	// A SQLite log path; unset fields are not Has.
	opts, _ = setup(t, "serve:\n  log: ~/logs/artstore.db\n")
	if cfg, err = Load(opts); err != nil {
		t.Fatal(err)
	}
	if cfg.Serve.Log != filepath.Join(opts.WorkDir, "logs", "artstore.db") || cfg.Serve.Has("listen") || !cfg.Serve.Has("log") {
		t.Errorf("serve = %+v; want the expanded SQLite path and only log set", cfg.Serve)
	}
}

// TestDocumented checks that docs/configuration.md mentions every setting
// and backend field, with its flag and environment variable.
func TestDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	for _, s := range Settings() {
		for _, want := range []string{s.Key, s.Env} {
			if want != "" && !strings.Contains(text, "`"+want+"`") {
				t.Errorf("docs/configuration.md does not mention `%s`", want)
			}
		}
		if s.Flag != "" && !strings.Contains(text, "`--"+s.Flag) {
			t.Errorf("docs/configuration.md does not mention --%s", s.Flag)
		}
	}
	for _, f := range BackendFields() {
		if !strings.Contains(text, "| `"+f.Name+"` |") {
			t.Errorf("docs/configuration.md has no row for backend field %s", f.Name)
		}
	}
	for _, f := range ServeFields() {
		if !strings.Contains(text, "| `"+f+"` | `--"+ServeFlag(f)+"` |") {
			t.Errorf("docs/configuration.md has no row for serve field %s with its flag --%s", f, ServeFlag(f))
		}
	}
}
