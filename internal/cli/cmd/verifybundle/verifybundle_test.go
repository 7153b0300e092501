package verifybundle

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/bundle"
	"github.com/artifact-store/artstore/internal/bundle/bundletest"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/internal/config"
)

// exported writes a bundle of the fixture's release and its closure to a
// file and returns its path and the store's key.
func exported(t *testing.T) (path, key string, b []byte) {
	t.Helper()
	f := bundletest.NewFixture(t)
	var buf bytes.Buffer
	req := bundle.Request{IDs: []string{f.Release}, Closure: bundle.ClosureAll, Checkpoint: f.S.Checkpoint(), Key: f.S.Key.VerifierKey()}
	if _, err := bundle.Export(context.Background(), f.S, req, &buf); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "evidence.tar")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, f.S.Key.VerifierKey(), buf.Bytes()
}

func runCmd(t *testing.T, stdin []byte, jsonOut bool, args ...string) (string, error) {
	t.Helper()
	ios, in, out, _ := iostreams.Test()
	in.Write(stdin)
	f := &cmdutil.Factory{IO: ios, Output: func() (config.Output, error) { return config.Output{JSON: jsonOut}, nil }}
	cmd := NewCmdVerifyBundle(f, nil)
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.Execute()
	return out.String(), err
}

func TestVerifyBundleSaysWhatItProved(t *testing.T) {
	path, key, _ := exported(t)
	out, err := runCmd(t, nil, false, path, "--key", key)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"ok: " + path + " is a valid artstore-bundle/1",
		"signed checkpoint of 9 events",
		"signed by:  " + key + " (the key you gave)",
		"team/release:1  (requested)",
		"registered  2026-12-01T10:05:00Z by alice (event 5)",
		"produced    by make, git abc123",
		"inputs      team/build:1 (build), team/old:1, sha256:",
		"team/build:1  (input, depth 1)",
		"tree of 3 files, bytes verified",
		"team/old:1  (input, depth 1)",
		"deleted: its events only, no bytes",
		"team/src:1  (input, depth 2)",
		"8 events, each in the checkpoint",
		"cannot prove that no event",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The key from a file, the bundle from standard input.
	kf := filepath.Join(t.TempDir(), "store.pub")
	os.WriteFile(kf, []byte(key+"\n"), 0o644)
	b, _ := os.ReadFile(path)
	if out, err := runCmd(t, b, false, "-", "--key-file", kf); err != nil || !strings.Contains(out, "ok: standard input") {
		t.Fatalf("stdin with --key-file: %v\n%s", err, out)
	}
	// No key: the report warns that the bundle's own key proves little.
	if out, err := runCmd(t, nil, false, path); err != nil || !strings.Contains(out, "the bundle's own key.pub") {
		t.Fatalf("without a key: %v\n%s", err, out)
	}
}

func TestVerifyBundleJSON(t *testing.T) {
	path, key, _ := exported(t)
	out, err := runCmd(t, nil, true, path, "--key", key)
	if err != nil {
		t.Fatal(err)
	}
	var rep bundle.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !rep.OK || len(rep.Artifacts) != 4 || rep.Key != key || rep.KeyFromBundle {
		t.Fatalf("%+v", rep)
	}
}

func TestVerifyBundleFails(t *testing.T) {
	path, key, b := exported(t)
	bad := bytes.Clone(b)
	i := bytes.Index(bad, []byte(`"actor":"alice"`))
	copy(bad[i:], `"actor":"alicf"`)
	badPath := filepath.Join(t.TempDir(), "bad.tar")
	os.WriteFile(badPath, bad, 0o644)

	out, err := runCmd(t, nil, false, badPath, "--key", key)
	if got := cmdutil.ExitCodeOf(err); got != cmdutil.ExitIntegrity {
		t.Fatalf("exit %d (%v), want %d", got, err, cmdutil.ExitIntegrity)
	}
	if !strings.Contains(out, "FAILED: artstore-bundle/events/00000000000000000001.proof") || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("output %q, error %v", out, err)
	}
	out, err = runCmd(t, nil, true, badPath, "--key", key)
	var rep bundle.Report
	if cmdutil.ExitCodeOf(err) != cmdutil.ExitIntegrity || json.Unmarshal([]byte(out), &rep) != nil || rep.OK || rep.Member == "" {
		t.Fatalf("--json of a failure: %v %s", err, out)
	}

	for _, tc := range []struct {
		name string
		args []string
		exit int
	}{
		{"missing file", []string{filepath.Join(t.TempDir(), "none.tar")}, cmdutil.ExitNotFound},
		{"both key flags", []string{path, "--key", key, "--key-file", path}, cmdutil.ExitUsage},
		{"no file", nil, cmdutil.ExitUsage},
		{"another key", []string{path, "--key", "other/x+01234567+AXmA3Zxp9fMsnUqUStWV71Kb3d3nB+2EBhdkTK2WwZ7g"}, cmdutil.ExitIntegrity},
	} {
		_, err := runCmd(t, nil, false, tc.args...)
		if got := cmdutil.ExitCodeOf(err); got != tc.exit {
			t.Errorf("%s: exit %d (%v), want %d", tc.name, got, err, tc.exit)
		}
	}
	_ = path
}
