package app_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/tlog"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// newSigningService opens a Service over a fresh SQLite log in dir with the
// checkpoint key at keyPath.
func newSigningService(t *testing.T, dir, keyPath string) (*app.Service, transfer.BlobStore) {
	t.Helper()
	be, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := app.Open(context.Background(), app.Config{Log: filepath.Join(dir, "log.db"), Backend: be, CheckpointKey: keyPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc, transfer.FromBackend(be)
}

func pushN(t *testing.T, svc *app.Service, blobs transfer.BlobStore, name string, n int) {
	t.Helper()
	for i := range n {
		if _, err := push(t, svc, blobs, app.Principal{Actor: "t"}, name, []byte(name+string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEnsureKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "checkpoint.key")
	k, created, err := app.EnsureKey(path)
	if err != nil || !created {
		t.Fatalf("first EnsureKey: created %v, %v", created, err)
	}
	if !strings.HasPrefix(k.Origin(), "artstore/") {
		t.Errorf("origin %q does not start with artstore/", k.Origin())
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := app.EnsureKey(path)
	if err != nil || created || k2.VerifierKey() != k.VerifierKey() {
		t.Fatalf("second EnsureKey: created %v, %v; same key %v", created, err, k2 != nil && k2.VerifierKey() == k.VerifierKey())
	}
}

func TestCheckpointAndProofs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	svc, blobs := newSigningService(t, dir, filepath.Join(dir, "checkpoint.key"))
	pushN(t, svc, blobs, "a", 5)
	key, err := svc.LogKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := svc.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := tlog.OpenCheckpoint([]byte(cp.Signed), key.VerifierKey)
	if err != nil {
		t.Fatalf("the checkpoint does not open with the log key: %v", err)
	}
	if opened.Size != cp.Size || opened.Root.String() != cp.Root || opened.Origin != key.Origin || cp.Size != 5 {
		t.Errorf("checkpoint %+v does not match its signed note %+v", cp, opened)
	}
	for seq := int64(1); seq <= 5; seq++ {
		ip, err := svc.InclusionProof(ctx, seq, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := app.ParseWireProof(ip.Proof)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.VerifyInclusion(ip.EventHash, seq-1, opened.Head, p); err != nil || ip.Size != 5 {
			t.Errorf("inclusion proof of %d (size %d): %v", seq, ip.Size, err)
		}
	}
	pushN(t, svc, blobs, "b", 3)
	cur, err := svc.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := svc.ConsistencyProof(ctx, 5, 0)
	if err != nil || pf.New != 8 {
		t.Fatalf("consistency proof: %+v, %v", pf, err)
	}
	rep, err := app.CheckCheckpoint([]byte(cp.Signed), key.VerifierKey, cur, pf)
	if err != nil || !rep.OK || rep.SavedSize != 5 || rep.Size != 8 {
		t.Errorf("honest log against its checkpoint: %+v, %v", rep, err)
	}
	if _, err := svc.InclusionProof(ctx, 9, 8); !errors.Is(err, tlog.ErrSize) || app.Classify(err) != api.CodeInvalid {
		t.Errorf("inclusion proof past the end: %v, want ErrSize (invalid)", err)
	}
	if _, err := svc.ConsistencyProof(ctx, 9, 8); !errors.Is(err, tlog.ErrSize) {
		t.Errorf("consistency proof backwards: %v, want ErrSize", err)
	}
}

func TestNoCheckpointKey(t *testing.T) {
	svc, _ := newService(t)
	if _, err := svc.Checkpoint(context.Background()); !errors.Is(err, app.ErrNoKey) {
		t.Errorf("checkpoint without a key: %v, want ErrNoKey", err)
	}
}

// TestCheckCheckpointFails: a rolled-back log, a forked one (other events
// under the same key) and a checkpoint signed by another key each fail,
// with a problem that says so.
func TestCheckCheckpointFails(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	keyPath := filepath.Join(root, "checkpoint.key")
	svc, blobs := newSigningService(t, filepath.Join(root, "one"), keyPath)
	pushN(t, svc, blobs, "a", 6)
	saved, err := svc.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := svc.LogKey(ctx)
	// Another log signed with the same key: first shorter, then longer.
	other, oblobs := newSigningService(t, filepath.Join(root, "two"), keyPath)
	pushN(t, other, oblobs, "x", 3)
	check := func(want string) {
		t.Helper()
		cur, err := other.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var pf api.ConsistencyProof
		if cur.Size >= saved.Size {
			if pf, err = other.ConsistencyProof(ctx, saved.Size, cur.Size); err != nil {
				t.Fatal(err)
			}
		}
		rep, err := app.CheckCheckpoint([]byte(saved.Signed), key.VerifierKey, cur, pf)
		if err != nil || rep.OK || !strings.Contains(rep.Problem, want) {
			t.Errorf("report %+v, %v; want a problem saying %q", rep, err, want)
		}
	}
	check("rolled back")
	pushN(t, other, oblobs, "y", 5)
	check("not an extension")

	otherKey, _, err := app.EnsureKey(filepath.Join(root, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := svc.Checkpoint(ctx)
	pf, _ := svc.ConsistencyProof(ctx, saved.Size, cur.Size)
	rep, err := app.CheckCheckpoint([]byte(saved.Signed), otherKey.VerifierKey(), cur, pf)
	if err != nil || rep.OK || !strings.Contains(rep.Problem, "not signed by this key") {
		t.Errorf("checkpoint against another key: %+v, %v", rep, err)
	}
}
