package testscript_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// OCI scripts run real registry clients (oras, crane) against the
// daemon's /v2. scripts/oci-tools.sh builds them into a directory that
// ARTSTORE_OCI_TOOLS names (.ci/run exports it); without it the [oci]
// condition is false and the scripts skip, except under CI, where
// TestOCIToolsConfigured fails instead.
const envOCITools = "ARTSTORE_OCI_TOOLS"

// ociTools returns the tools directory when it holds oras and crane.
func ociTools() (string, bool) {
	dir := os.Getenv(envOCITools)
	if dir == "" {
		return "", false
	}
	for _, tool := range []string{"oras", "crane"} {
		if fi, err := os.Stat(filepath.Join(dir, tool)); err != nil || fi.Mode()&0o111 == 0 {
			return dir, false
		}
	}
	return dir, true
}

// TestOCIToolsConfigured makes missing OCI clients a failure in CI, so the
// OCI scripts can never silently stop running there.
func TestOCIToolsConfigured(t *testing.T) {
	if dir, ok := ociTools(); !ok {
		msg := fmt.Sprintf("%s=%q does not hold oras and crane: the OCI client scripts skip (run scripts/oci-tools.sh DIR and export %s=DIR to run them)", envOCITools, dir, envOCITools)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// ociSetup puts the OCI tools first in a script's PATH.
func ociSetup(env *testscript.Env) error {
	if dir, ok := ociTools(); ok {
		env.Setenv("PATH", dir+string(os.PathListSeparator)+env.Getenv("PATH"))
	}
	return nil
}

// urlhost VAR URL: set VAR to the host:port of URL (what registry clients
// take as the registry's name).
func cmdURLHost(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: urlhost VAR URL")
	}
	u, err := url.Parse(args[1])
	if err != nil || u.Host == "" {
		ts.Fatalf("urlhost: %q is not a URL with a host", args[1])
	}
	ts.Setenv(args[0], u.Host)
}

// mktree DIR N: write N small files of distinct bytes under DIR, ten to a
// subdirectory (DIR/d0/f0 ... DIR/d9/f9, DIR/d10/f0 ...).
func cmdMktree(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mktree DIR N")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 0 {
		ts.Fatalf("mktree: N %q is not a non-negative integer", args[1])
	}
	for i := range n {
		dir := filepath.Join(ts.MkAbs(args[0]), "d"+strconv.Itoa(i/10))
		ts.Check(os.MkdirAll(dir, 0o755))
		ts.Check(os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i%10)), []byte(fmt.Sprintf("file %d of %d\n", i, n)), 0o644))
	}
}
