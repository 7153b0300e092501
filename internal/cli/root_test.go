package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// run executes one invocation in-process with an environment holding only
// HOME (a fresh directory) plus env.
func run(t testing.TB, home string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	lookup := func(k string) (string, bool) {
		if k == "HOME" {
			return home, true
		}
		v, ok := env[k]
		return v, ok
	}
	code = Run(context.Background(), cmdutil.New(ios, lookup), args)
	return code, out.String(), errOut.String()
}

func TestRun(t *testing.T) {
	home := t.TempDir()
	store := filepath.Join(home, "store")
	if err := os.MkdirAll(filepath.Join(store, "blobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	badConfig := filepath.Join(home, "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("store: /x\nservr: http://h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	storeEnv := map[string]string{"ARTSTORE_STORE": store}
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantCode  int
		wantOut   []string
		wantErr   []string
		wantNoErr bool
		wantNoOut bool
	}{
		{name: "no arguments prints help", args: nil, wantCode: 0, wantOut: []string{"Usage:", "EXIT STATUS", "  6    unavailable"}},
		{name: "version", args: []string{"version"}, wantOut: []string{"artstore "}, wantNoErr: true},
		{name: "version json from env", env: map[string]string{"ARTSTORE_JSON": "1"}, args: []string{"version"}, wantOut: []string{`"platform": `}},
		{name: "unknown command suggests", args: []string{"verison"}, wantCode: 2,
			wantErr: []string{"artstore: unknown command \"verison\" for \"artstore\"\n\nDid you mean this?\n\tversion\n", "Run 'artstore --help' for usage.\n"}, wantNoOut: true},
		{name: "unknown flag is a usage error", args: []string{"version", "--jsn"}, wantCode: 2,
			wantErr: []string{"artstore: unknown flag: --jsn\n", "Run 'artstore version --help' for usage."}},
		{name: "bad config file is a usage error naming the key", env: map[string]string{"ARTSTORE_CONFIG": badConfig},
			args: []string{"backend", "ls"}, wantCode: 2,
			wantErr: []string{`servr: unknown key "servr" (did you mean "serve" or "server"?)`, "bad.yaml line 2"}},
		{name: "completion works with a broken config", env: map[string]string{"ARTSTORE_CONFIG": badConfig},
			args: []string{"completion", "fish"}, wantOut: []string{"complete -c artstore"}, wantNoErr: true},
		{name: "backend ls", env: storeEnv, args: []string{"backend", "ls"}, wantOut: []string{"default  local  yes      " + filepath.Join(store, "blobs")}},
		{name: "flag beats env", env: storeEnv, args: []string{"--store", filepath.Join(home, "flag"), "backend", "ls"},
			wantOut: []string{filepath.Join(home, "flag", "blobs")}},
		{name: "healthy", env: storeEnv, args: []string{"backend", "health"}, wantOut: []string{"default  healthy"}, wantNoErr: true},
		{name: "vanished root exits 6", args: []string{"--store", filepath.Join(home, "nowhere"), "backend", "health"}, wantCode: 6,
			wantOut: []string{"UNHEALTHY"},
			wantErr: []string{"artstore: backend default: root directory " + filepath.Join(home, "nowhere", "blobs") + " does not exist (is the disk holding the store mounted?"}},
		{name: "quiet and verbose conflict", args: []string{"-q", "-v", "version"}, wantCode: 2, wantErr: []string{"--quiet and --verbose cannot both be on"}},
		{name: "version works with a broken config file", env: map[string]string{"ARTSTORE_CONFIG": badConfig},
			args: []string{"version"}, wantOut: []string{"artstore "}, wantNoErr: true},
		{name: "--version works with a broken config file", env: map[string]string{"ARTSTORE_CONFIG": badConfig},
			args: []string{"--version"}, wantOut: []string{"artstore "}, wantNoErr: true},
		{name: "version still checks the output switches", env: map[string]string{"ARTSTORE_CONFIG": badConfig},
			args: []string{"version", "--jq", ".["}, wantCode: 2, wantErr: []string{"--jq"}},
		{name: "verbose says which config", args: []string{"-v", "backend", "ls"}, wantErr: []string{"debug: config file: none (looked for " + filepath.Join(home, ".config", "artstore", "config.yaml") + ")"}},
		{name: "help for a command", args: []string{"help", "backend", "health"}, wantOut: []string{"artstore backend health [ID] [flags]"}},
		{name: "help for an unknown command", args: []string{"help", "nope"}, wantCode: 2, wantErr: []string{`unknown command "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, home, tt.env, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout %q lacks %q", out, w)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if tt.wantNoErr && errOut != "" {
				t.Errorf("stderr = %q, want nothing", errOut)
			}
			if tt.wantNoOut && out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if strings.Count(errOut, "artstore: ") > 1 {
				t.Errorf("error printed more than once: %q", errOut)
			}
		})
	}
}

// TestFreshTreePerRun checks that flag values do not leak from one run into
// the next (the bug of package-level cobra commands).
func TestFreshTreePerRun(t *testing.T) {
	home := t.TempDir()
	if _, out, _ := run(t, home, nil, "--json", "version"); !strings.HasPrefix(out, "{") {
		t.Fatalf("first run: %q", out)
	}
	if _, out, _ := run(t, home, nil, "version"); !strings.HasPrefix(out, "artstore ") {
		t.Fatalf("second run printed %q: --json leaked from the first run", out)
	}
}

// TestCommandTreeDocumented walks every command: each needs Short and an
// Example, and each flag usage text. Generated docs and completions rely on
// them.
func TestCommandTreeDocumented(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	root := NewRootCmd(cmdutil.New(ios, nil))
	root.InitDefaultHelpCmd()
	var walk func(c *cobra.Command)
	count := 0
	walk = func(c *cobra.Command) {
		count++
		if c.Short == "" {
			t.Errorf("%s: no Short", c.CommandPath())
		}
		if c.Example == "" {
			t.Errorf("%s: no Example", c.CommandPath())
		}
		c.InitDefaultHelpFlag()
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s: flag --%s has no usage text", c.CommandPath(), f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if count < 6 {
		t.Fatalf("walked only %d commands", count)
	}
}

// TestReadmeExitCodes keeps the README's exit status table true.
func TestReadmeExitCodes(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cmdutil.ExitCodes() {
		row := fmt.Sprintf("| %d | %s |", s.Code, s.Meaning)
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md lacks the row %q", row)
		}
	}
}

// TestBackendCommandsAskTheDaemon checks that with --server / ARTSTORE_SERVER
// `backend health` and `backend ls` report the daemon's backends, not the
// client's own store: with nothing listening, both exit 6 (unavailable)
// saying the daemon cannot be reached, even though a healthy local store
// exists beside them.
func TestBackendCommandsAskTheDaemon(t *testing.T) {
	home := t.TempDir()
	store := filepath.Join(home, "store")
	if err := os.MkdirAll(filepath.Join(store, "blobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ARTSTORE_STORE": store, "ARTSTORE_SERVER": "http://127.0.0.1:9"}
	for _, args := range [][]string{
		{"backend", "health"},
		{"backend", "health", "default"},
		{"backend", "ls"},
	} {
		code, out, errOut := run(t, home, env, args...)
		if code != cmdutil.ExitUnavailable || out != "" ||
			!strings.Contains(errOut, "cannot reach the daemon at http://127.0.0.1:9") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d saying the daemon cannot be reached",
				args, code, out, errOut, cmdutil.ExitUnavailable)
		}
	}
}

// TestHelpHasNoBackticks renders the help of every command: a literal
// backtick is Markdown that a terminal shows as is (flag usage texts may
// quote a `NAME`: pflag turns it into the placeholder and drops the quotes).
func TestHelpHasNoBackticks(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	root := NewRootCmd(cmdutil.New(ios, nil))
	root.InitDefaultHelpCmd()
	var walk func(c *cobra.Command)
	count := 0
	walk = func(c *cobra.Command) {
		count++
		var b strings.Builder
		c.SetOut(&b)
		c.SetErr(&b)
		if err := c.Help(); err != nil {
			t.Fatalf("%s: %v", c.CommandPath(), err)
		}
		for i, line := range strings.Split(b.String(), "\n") {
			if strings.Contains(line, "`") {
				t.Errorf("%s: help line %d has a backtick: %q", c.CommandPath(), i+1, line)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if count < 30 {
		t.Fatalf("walked only %d commands", count)
	}
}
