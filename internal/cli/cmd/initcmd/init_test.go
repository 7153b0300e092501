package initcmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmd/internal/fakestore"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestNewCmdInit(t *testing.T) {
	tests := []struct {
		args    []string
		env     map[string]string
		want    Options
		wantErr string
	}{
		{args: nil, want: Options{Type: "local"}},
		{args: []string{"--type", "s3", "--bucket", "b", "--endpoint", "http://h:1", "--region", "r", "--prefix", "p/", "--path-style", "-f"},
			want: Options{Type: "s3", Bucket: "b", Endpoint: "http://h:1", Region: "r", Prefix: "p/", PathStyle: true, Force: true}},
		{args: nil, env: map[string]string{"ARTSTORE_CONFIG": "/x/c.yaml"}, want: Options{Type: "local", ExplicitConfig: "/x/c.yaml"}},
		{args: nil, env: map[string]string{"ARTSTORE_CONFIG": "~/c.yaml", "HOME": "/home/me"}, want: Options{Type: "local", ExplicitConfig: "/home/me/c.yaml"}},
		{args: []string{"--type", "s3"}, wantErr: "--type s3 needs --bucket NAME"},
		{args: []string{"--bucket", "b"}, wantErr: "are for --type s3"},
		{args: []string{"--path-style"}, wantErr: "are for --type s3"},
		{args: []string{"--type", "ftp"}, wantErr: `--type "ftp": want local or s3`},
		{args: []string{"x"}, wantErr: "takes no arguments"},
	}
	for _, tt := range tests {
		ios, _, _, _ := iostreams.Test()
		f := &cmdutil.Factory{IO: ios, LookupEnv: func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }}
		var got *Options
		cmd := NewCmdInit(f, func(_ context.Context, o *Options) error { got = o; return nil })
		if !cmdutil.SkipsConfig(cmd) {
			t.Fatal("init must load the configuration itself")
		}
		err := fakestore.Execute(cmd, tt.args...)
		if tt.wantErr != "" {
			if !cmdutil.IsUsage(err) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: err = %v, want usage error %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		g := *got
		g.IO, g.Config, g.Open = nil, nil, nil
		if !reflect.DeepEqual(g, tt.want) {
			t.Errorf("%v: options = %+v, want %+v", tt.args, g, tt.want)
		}
	}
}

// load reads the configuration as the CLI would, from configFile, with the
// store given as by --store (storeFlag, may be empty).
func load(t *testing.T, home, configFile, storeEnv string) func() (*config.Config, error) {
	return func() (*config.Config, error) {
		env := map[string]string{"HOME": home}
		if storeEnv != "" {
			env["ARTSTORE_STORE"] = storeEnv
		}
		return config.Load(config.LoadOptions{ConfigFile: configFile, Home: home, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	}
}

func TestInitRun(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		existing   string // config file content before
		link       bool   // the config file is a link to the existing file (kept in dotfiles)
		unhealthy  bool
		json       bool
		wantOut    string
		wantCode   int
		wantFile   []string // lines the written file has
		wantBucket string
	}{
		{name: "local", opts: Options{Type: "local"}, wantOut: "created store STORE (backend default: local STORE/blobs)\nKEYLINES\nwrote CONFIG\n",
			wantFile: []string{"store: STORE"}},
		{name: "s3", opts: Options{Type: "s3", Bucket: "art", Endpoint: "http://127.0.0.1:9000", Prefix: "p/", PathStyle: true},
			wantOut:  "created store STORE (backend default: s3 s3://art/p/ at http://127.0.0.1:9000)\nKEYLINES\nwrote CONFIG\n",
			wantFile: []string{"store: STORE", "default_backend: default", "        type: s3", "        bucket: art", "        prefix: p/", "        endpoint: http://127.0.0.1:9000", "        path_style: true"}, wantBucket: "art"},
		{name: "json", opts: Options{Type: "local"}, json: true,
			wantOut: "{\n  \"config_file\": \"CONFIG\",\n  \"store\": \"STORE\",\n  \"store_created\": true,\n  \"backend\": {\n    \"id\": \"default\",\n    \"type\": \"local\",\n    \"location\": \"STORE/blobs\"\n  },\n  \"checkpoint_key\": \"STORE/checkpoint.key\",\n  \"checkpoint_key_created\": true,\n  \"verifier_key\": \"KEY\"\n}\n"},
		{name: "existing config refused", opts: Options{Type: "local"}, existing: "store: /elsewhere\n", wantCode: cmdutil.ExitConflict},
		{name: "existing config forced", opts: Options{Type: "local", Force: true}, existing: "store: /elsewhere\n",
			wantOut: "created store STORE (backend default: local STORE/blobs)\nKEYLINES\nwrote CONFIG\n", wantFile: []string{"store: STORE"}},
		{name: "config that is a link is written through", opts: Options{Type: "local", Force: true}, existing: "store: /elsewhere\n", link: true,
			wantOut: "created store STORE (backend default: local STORE/blobs)\nKEYLINES\nwrote CONFIG\n", wantFile: []string{"store: STORE"}},
		{name: "unhealthy backend writes nothing", opts: Options{Type: "local"}, unhealthy: true, wantCode: cmdutil.ExitUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			store := filepath.Join(home, "store")
			cfgPath := filepath.Join(home, "conf", "artstore.yaml")
			if tt.existing != "" {
				if err := os.MkdirAll(filepath.Dir(cfgPath), 0o755); err != nil {
					t.Fatal(err)
				}
				file := cfgPath
				if tt.link {
					file = filepath.Join(home, "dotfiles", "artstore.yaml")
					if err := os.Mkdir(filepath.Dir(file), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.Symlink(file, cfgPath); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(file, []byte(tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ios, _, stdout, _ := iostreams.Test()
			var opened *config.Config
			fake := &fakestore.Store{HealthFunc: func(context.Context) ([]client.BackendHealth, error) {
				return []client.BackendHealth{{ID: "default", Healthy: !tt.unhealthy, Detail: "bucket missing"}}, nil
			}}
			opts := tt.opts
			opts.IO = ios
			opts.ExplicitConfig = cfgPath
			base := load(t, home, cfgPath, store)
			opts.Config = func() (*config.Config, error) {
				c, err := base()
				if c != nil {
					c.Output.JSON = tt.json
				}
				return c, err
			}
			opts.Open = func(_ context.Context, c *config.Config) (client.Store, error) { opened = c; return fake, nil }
			err := initRun(context.Background(), &opts)
			if code := cmdutil.ExitCodeOf(err); code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d", code, err, tt.wantCode)
			}
			if tt.wantCode != 0 {
				b, rerr := os.ReadFile(cfgPath)
				if tt.existing == "" && !errors.Is(rerr, os.ErrNotExist) {
					t.Errorf("config file left behind: %q, %v", b, rerr)
				}
				if tt.existing != "" && string(b) != tt.existing {
					t.Errorf("existing config changed to %q", b)
				}
				return
			}
			if !fake.Closed {
				t.Error("store not closed")
			}
			if opened.DefaultBackend != "default" || opened.Backends["default"].Type != tt.opts.Type {
				t.Errorf("opened with %+v", opened)
			}
			keyRepl := strings.NewReplacer("KEYLINES", "created checkpoint key STORE/checkpoint.key; its public key, for whoever checks this store's evidence:\n  KEY")
			repl := strings.NewReplacer("STORE", store, "CONFIG", cfgPath)
			got := regexp.MustCompile(`artstore/[0-9a-f]{32}\+[0-9a-f]{8}\+\S{44}`).ReplaceAllString(stdout.String(), "KEY")
			if want := repl.Replace(keyRepl.Replace(tt.wantOut)); got != want {
				t.Errorf("stdout =\n%s\nwant\n%s", stdout, want)
			}
			b, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range tt.wantFile {
				if !strings.Contains(string(b), repl.Replace(l)+"\n") {
					t.Errorf("config file lacks %q:\n%s", repl.Replace(l), b)
				}
			}
			if fi, err := os.Lstat(cfgPath); err != nil || (fi.Mode()&os.ModeSymlink != 0) != tt.link {
				t.Errorf("config file is now %v (%v), want a link: %v", fi.Mode(), err, tt.link)
			}
			if fi, _ := os.Stat(cfgPath); fi.Mode().Perm() != 0o600 {
				t.Errorf("config file mode %v, want 0600", fi.Mode().Perm())
			}
			// The written file round-trips through the configuration loader,
			// without the store flag.
			c, err := load(t, home, cfgPath, "")()
			if err != nil {
				t.Fatalf("the written config does not load: %v\n%s", err, b)
			}
			if c.Store != store || c.DefaultBackend != "default" || c.Backends["default"].Type != tt.opts.Type || c.Backends["default"].Bucket != tt.wantBucket {
				t.Errorf("loaded %+v", c)
			}
		})
	}
}
