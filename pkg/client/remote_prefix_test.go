package client_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/pkg/client"
)

// TestRemotePrefixedPull pulls with a token limited to a name prefix,
// which may not read blobs by digest: the client reads the bytes from the
// content route instead (whole, to a path, and a range), each pull
// appends exactly one retrieval record with the bytes served, and a
// directory artifact is refused with a message that says why. A pull the
// client cannot write records nothing.
func TestRemotePrefixedPull(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	secret, _, err := d.srv.Tokens().Create(ctx, "test", auth.Spec{Name: "team-bot", Scope: auth.ScopeWrite, Prefix: "team/"})
	if err != nil {
		t.Fatal(err)
	}
	d.token["team"] = secret
	w := d.open(t, "write")
	r := d.open(t, "team")
	dir := t.TempDir()
	path, data := randomFile(t, dir, "big.bin", 9<<20+77, 3)
	if _, err := r.Push(ctx, client.PushRequest{Path: path, Name: "team/app"}); err != nil {
		t.Fatal(err)
	}
	treeDir := filepath.Join(dir, "tree")
	if err := os.MkdirAll(treeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	randomFile(t, treeDir, "f.bin", 1000, 4)
	if _, err := w.Push(ctx, client.PushRequest{Path: treeDir, Name: "team/tree"}); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	pr, err := r.Pull(ctx, "team/app:1", &buf, client.PullOptions{})
	if err != nil || !bytes.Equal(buf.Bytes(), data) || pr.Bytes != int64(len(data)) {
		t.Fatalf("pull: %v, %+v, equal=%v", err, pr, bytes.Equal(buf.Bytes(), data))
	}
	out := filepath.Join(dir, "out.bin")
	if _, err := r.PullToPath(ctx, "team/app", out, client.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("PullToPath wrote other bytes")
	}
	buf.Reset()
	pr, err = r.Pull(ctx, "team/app:1", &buf, client.PullOptions{Range: "-1000"})
	if err != nil || !bytes.Equal(buf.Bytes(), data[len(data)-1000:]) || pr.Bytes != 1000 {
		t.Fatalf("range pull: %v, %+v", err, pr)
	}
	a, err := w.Get(ctx, "team/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if want := 2*int64(len(data)) + 1000; a.Retrievals.Count != 3 || a.Retrievals.Bytes != want || a.Retrievals.LastBy != "team-bot" {
		t.Errorf("retrievals = %+v, want 3 pulls of %d bytes by team-bot", a.Retrievals, want)
	}

	// A directory under the prefix: through the blob route scoped to it,
	// one retrieval record.
	if _, err := r.PullToPath(ctx, "team/tree", filepath.Join(dir, "tree-prefixed"), client.PullOptions{}); err != nil {
		t.Fatalf("tree pull with a prefixed token: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "tree-prefixed", "f.bin"))
	if want, _ := os.ReadFile(filepath.Join(treeDir, "f.bin")); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the prefixed tree pull wrote other bytes (%v)", err)
	}
	for _, ref := range []string{"team/app:1", "team/tree"} {
		if rep, err := r.Verify(ctx, client.VerifyOptions{Ref: ref, Deep: true}); err != nil || !rep.OK {
			t.Errorf("verify of %s with a prefixed token: %+v, %v", ref, rep, err)
		}
	}
	if _, err := r.Verify(ctx, client.VerifyOptions{Ref: "other/app"}); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("verify outside the prefix: %v, want ErrForbidden", err)
	}
	if _, err := r.Pull(ctx, "other/app", &buf, client.PullOptions{}); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("pull outside the prefix: %v, want ErrForbidden", err)
	}
	// A pull the client cannot write (a tree to a stream, a file into an
	// existing directory) is refused before anything is recorded.
	if _, err := w.Pull(ctx, "team/tree", &buf, client.PullOptions{}); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("tree to a stream: %v, want ErrInvalid", err)
	}
	if _, err := w.PullToPath(ctx, "team/app:1", dir, client.PullOptions{}); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("file into a directory: %v, want ErrInvalid", err)
	}
	// The same pulls with a token without a prefix go through the blob
	// routes and also append one record each.
	if _, err := w.Pull(ctx, "team/app:1", &buf, client.PullOptions{Range: "0-9"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.PullToPath(ctx, "team/tree", filepath.Join(dir, "tree-out"), client.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	a, _ = w.Get(ctx, "team/app:1")
	tr, _ := w.Get(ctx, "team/tree")
	if a.Retrievals.Count != 4 || tr.Retrievals.Count != 2 || tr.Retrievals.Bytes != 2000 {
		t.Errorf("retrievals after unrestricted pulls: app %+v, tree %+v", a.Retrievals, tr.Retrievals)
	}
}
