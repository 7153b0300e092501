package testscript_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/rogpeppe/go-internal/testscript"
)

// Custom commands for the artifact scripts. The ones that reach into a
// local store's files (corrupt-blob, rm-chunk) only make sense in local
// mode: guard them with [!remote].

// blobPath is where the store's implicit local backend keeps digest's blob.
func blobPath(ts *testscript.TestScript, store, digest string) string {
	d, err := content.ParseDigest(digest)
	if err != nil {
		ts.Fatalf("%q is not a digest: %v", digest, err)
	}
	return filepath.Join(ts.MkAbs(store), "blobs", filepath.FromSlash(d.Key()))
}

// corrupt-blob STORE DIGEST: flip one byte in the middle of the blob DIGEST
// of the local store STORE (blobs are stored read-only, so the file is
// made writable for the change and read-only again after). The size does
// not change, so only reading the bytes can notice.
func cmdCorruptBlob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: corrupt-blob STORE DIGEST")
	}
	path := blobPath(ts, args[0], args[1])
	b, err := os.ReadFile(path)
	ts.Check(err)
	if len(b) == 0 {
		ts.Fatalf("corrupt-blob: %s is empty", path)
	}
	b[len(b)/2] ^= 0xff
	ts.Check(os.Chmod(path, 0o644))
	ts.Check(os.WriteFile(path, b, 0o644))
	ts.Check(os.Chmod(path, 0o444))
}

// rm-chunk STORE MANIFEST_DIGEST INDEX VAR: delete chunk INDEX (from 0) of
// the file manifest MANIFEST_DIGEST from the local store STORE, as if a
// push had been interrupted before uploading it, and set the environment
// variable VAR to the chunk's size.
func cmdRmChunk(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: rm-chunk STORE MANIFEST_DIGEST INDEX VAR")
	}
	b, err := os.ReadFile(blobPath(ts, args[0], args[1]))
	ts.Check(err)
	m, err := content.ParseManifest(b)
	ts.Check(err)
	i, err := strconv.Atoi(args[2])
	if err != nil || i < 0 || i >= len(m.Chunks) {
		ts.Fatalf("rm-chunk: index %q out of range (the manifest has %d chunks)", args[2], len(m.Chunks))
	}
	c := m.Chunks[i]
	ts.Check(os.Remove(blobPath(ts, args[0], c.Digest.String())))
	ts.Setenv(args[3], strconv.FormatInt(c.Size, 10))
}

// chunk STORE MANIFEST_DIGEST INDEX VAR: set the environment variable VAR
// to the digest of chunk INDEX (from 0) of the file manifest
// MANIFEST_DIGEST in the local store STORE.
func cmdChunk(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: chunk STORE MANIFEST_DIGEST INDEX VAR")
	}
	b, err := os.ReadFile(blobPath(ts, args[0], args[1]))
	ts.Check(err)
	m, err := content.ParseManifest(b)
	ts.Check(err)
	i, err := strconv.Atoi(args[2])
	if err != nil || i < 0 || i >= len(m.Chunks) {
		ts.Fatalf("chunk: index %q out of range (the manifest has %d chunks)", args[2], len(m.Chunks))
	}
	ts.Setenv(args[3], m.Chunks[i].Digest.String())
}

// rm-blob STORE DIGEST: delete the blob DIGEST (a chunk or a manifest)
// from the local store STORE.
func cmdRmBlob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: rm-blob STORE DIGEST")
	}
	ts.Check(os.Remove(blobPath(ts, args[0], args[1])))
}

// jsonfield VAR PATH: parse the previous command's stdout as JSON and set
// the environment variable VAR to the value at PATH, a dot-separated list
// of object keys and array indexes (content_digest, nodes.0.ref). Strings
// are set as they are, other values as JSON.
func cmdJSONField(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: jsonfield VAR PATH")
	}
	var v any
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &v); err != nil {
		ts.Fatalf("jsonfield: stdout is not JSON: %v", err)
	}
	got, err := jsonPath(v, args[1])
	if err != nil {
		ts.Fatalf("jsonfield: %v", err)
	}
	ts.Setenv(args[0], got)
}

func jsonPath(v any, path string) (string, error) {
	for _, key := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[key]
			if !ok {
				return "", fmt.Errorf("no key %q in %v", key, x)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(x) {
				return "", fmt.Errorf("index %q out of range (length %d)", key, len(x))
			}
			v = x[i]
		default:
			return "", fmt.Errorf("cannot take %q of %v", key, x)
		}
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// condition evaluates the harness's own script conditions. [remote] is
// true when the scripts run against a daemon (not yet: always false).
func condition(cond string) (bool, error) {
	switch cond {
	case "remote", "pglog":
		return false, nil
	case "s3":
		_, ok := s3FromEnv()
		return ok, nil
	case "mknod":
		return canMknod(), nil
	case "oci":
		_, ok := ociTools()
		return ok, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

// flipbyte FILE TEXT: flip the low bit of the first byte of the first
// occurrence of TEXT in FILE, as damage in transit or an edit would; the
// size does not change.
func cmdFlipByte(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: flipbyte FILE TEXT")
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	i := bytes.Index(b, []byte(args[1]))
	if i < 0 {
		ts.Fatalf("flipbyte: %q is not in %s", args[1], args[0])
	}
	b[i] ^= 1
	ts.Check(os.WriteFile(path, b, 0o644))
}
