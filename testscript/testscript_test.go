// Package testscript_test runs artstore's acceptance scripts: txtar files
// in testdata/ that drive the real artstore command as a user would, with
// HOME, the XDG directories and the store pointed into each script's $WORK.
//
//	go test ./testscript/...                     # all scripts
//	go test ./testscript/... -run TestScripts/health
//	go test ./testscript/... -update             # rewrite cmp golden files in the scripts
//
// artstore runs as a separate process (testscript re-executes this test
// binary under the name "artstore"), so exit codes, stdin/stdout/stderr and
// the environment are the real ones. Scripts must write `exec artstore`.
package testscript_test

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/config"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"
)

var update = flag.Bool("update", false, "update golden files in the scripts (cmp) instead of failing")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"artstore": func() { os.Exit(runArtstore()) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, Params(t))
}

// Params are the shared testscript parameters: the environment Setup and the
// custom commands. Modes that run the same scripts differently (a daemon
// per script, PostgreSQL) start from these.
func Params(t *testing.T) testscript.Params {
	p := testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Setup:               setup,
		Cmds:                commands(),
		Condition:           condition,
	}
	if remoteMode() {
		return remoteParams(p)
	}
	return p
}

// setup isolates each script (isolate), then gives it the OCI client tools
// and its S3 bucket when the environment has them.
func setup(env *testscript.Env) error {
	if err := isolate(env); err != nil {
		return err
	}
	if err := ociSetup(env); err != nil {
		return err
	}
	return s3Setup(env)
}

// isolate gives a script a home, config and data directory and a store
// inside $WORK, no colour, nothing from the developer's own environment, a
// clock of its own, and commands without the race runtime's pause at exit
// (raceEnv).
func isolate(env *testscript.Env) error {
	home := filepath.Join(env.WorkDir, "home")
	vars := map[string]string{
		"HOME":            home,
		"XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_DATA_HOME":   filepath.Join(home, ".local", "share"),
		"XDG_CACHE_HOME":  filepath.Join(home, ".cache"),
		"XDG_STATE_HOME":  filepath.Join(home, ".local", "state"),
		"ARTSTORE_STORE":  filepath.Join(env.WorkDir, "store"),
		"NO_COLOR":        "1",
	}
	for k, v := range vars {
		env.Setenv(k, v)
	}
	env.Setenv("GORACE", raceEnv(env.Getenv("GORACE")))
	if err := os.MkdirAll(home, 0o755); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	env.Values[clockKey] = &scriptClock{}
	return nil
}

// raceEnv is GORACE for a command the tests run, given the caller's:
// atexit_sleep_ms=0, then the caller's options, which win (later options
// override earlier ones). Under -race every artstore a script runs is this
// test binary, race checked, and the race runtime sleeps a second before
// the process exits (so that goroutines still running can report a race):
// with about 1,500 commands across the two modes that pause was most of
// the suite's time. A race a command's goroutines hit while it runs is
// still reported as it happens; only one in a goroutine still running when
// the command returns can go unseen.
func raceEnv(caller string) string {
	return strings.TrimSpace("atexit_sleep_ms=0 " + caller)
}

// commands are the custom script commands.
func commands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"mkfile":   cmdMkfile,
		"exitcode": cmdExitcode,
		"now":      cmdNow,
		"logsql":   cmdLogSQL,

		"rewrite-log": cmdRewriteLog,

		"corrupt-blob": cmdCorruptBlob,
		"rm-chunk":     cmdRmChunk,
		"rm-blob":      cmdRmBlob,
		"chunk":        cmdChunk,
		"jsonfield":    cmdJSONField,
		"flipbyte":     cmdFlipByte,
		"waitfile":     cmdWaitfile,
		"daemon":       cmdDaemon,
		"urlhost":      cmdURLHost,
		"mktree":       cmdMktree,

		"s3-mkbucket": cmdS3Mkbucket,
		"s3-rmblob":   cmdS3Rmblob,
		"s3-count":    cmdS3Count,
	}
	for name, fn := range fileCommands() {
		cmds[name] = fn
	}
	return cmds
}

// mkfile NAME SIZE [SEED]: write SIZE bytes (1048576, 64KiB, 3MB, ...) of
// deterministic pseudo-random data to NAME. The same SEED (default 1) gives
// the same bytes, so digests can be written into scripts.
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: mkfile NAME SIZE [SEED] (cannot be negated)")
	}
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: mkfile NAME SIZE [SEED]")
	}
	size, err := config.ParseSize(args[1])
	if err != nil {
		ts.Fatalf("mkfile: %v", err)
	}
	seed := uint64(1)
	if len(args) == 3 {
		if seed, err = strconv.ParseUint(args[2], 10, 64); err != nil {
			ts.Fatalf("mkfile: seed %q is not a non-negative integer", args[2])
		}
	}
	f, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	_, err = io.CopyN(f, randReader(seed), size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	ts.Check(err)
}

// randReader returns an endless stream of pseudo-random bytes for seed.
func randReader(seed uint64) io.Reader {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(key)
}

// exitcode CODE COMMAND [ARGS...]: run the command (as exec would, keeping
// stdout and stderr for the following stdout/stderr checks) and fail unless
// it exits with CODE. artstore's exit statuses are part of its interface,
// and `! exec` only says "not zero".
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: exitcode CODE COMMAND [ARGS...] (cannot be negated)")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %q is not a number", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// TestRandReaderDeterministic pins mkfile's bytes: scripts may embed digests
// of its files.
func TestRandReaderDeterministic(t *testing.T) {
	a := make([]byte, 64)
	b := make([]byte, 64)
	if _, err := io.ReadFull(randReader(7), a); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(randReader(7), b); err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatal("same seed, different bytes")
	}
	if _, err := io.ReadFull(randReader(8), b); err != nil {
		t.Fatal(err)
	}
	if string(a) == string(b) {
		t.Fatal("different seeds, same bytes")
	}
}

// TestScriptConventions holds every script to the suite's conventions: each
// block of commands opens with a "# test that ..." comment saying what it
// checks, and artstore is always run with exec (or exitcode).
func TestScriptConventions(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, block := range strings.Split(strings.TrimSpace(string(ar.Comment)), "\n\n") {
			lines := strings.Split(strings.TrimSpace(block), "\n")
			hasCommand := false
			for _, l := range lines {
				if l != "" && !strings.HasPrefix(l, "#") {
					hasCommand = true
				}
				if strings.HasPrefix(strings.TrimPrefix(l, "! "), "artstore ") {
					t.Errorf("%s: %q: run artstore with exec", file, l)
				}
			}
			if hasCommand && !strings.HasPrefix(lines[0], "# test that ") {
				t.Errorf("%s: block %d opens with %q, want a \"# test that ...\" comment", file, i+1, lines[0])
			}
		}
	}
}

// TestSetupRaceEnv: every command a script runs is this test binary, race
// checked under -race, so a script's environment turns off the race
// runtime's pause at exit and keeps the caller's own GORACE options after
// it (later ones win).
func TestSetupRaceEnv(t *testing.T) {
	for _, tc := range []struct{ caller, want string }{
		{"", "atexit_sleep_ms=0"},
		{"halt_on_error=1", "atexit_sleep_ms=0 halt_on_error=1"},
		{"atexit_sleep_ms=250", "atexit_sleep_ms=0 atexit_sleep_ms=250"},
	} {
		env := &testscript.Env{WorkDir: t.TempDir(), Values: map[any]any{}}
		if tc.caller != "" {
			env.Vars = append(env.Vars, "GORACE="+tc.caller)
		}
		if err := isolate(env); err != nil {
			t.Fatal(err)
		}
		if got := env.Getenv("GORACE"); got != tc.want {
			t.Errorf("GORACE %q: isolate left %q, want %q", tc.caller, got, tc.want)
		}
	}
}
