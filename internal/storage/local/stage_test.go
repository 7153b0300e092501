package local_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
)

// TestStageFiles checks the local stage's files: a staged blob is a
// temporary file only; Commit leaves no temporary file and the blob
// read-only at its key; Abort removes what was staged.
func TestStageFiles(t *testing.T) {
	b := newLocal(t)
	st := b.NewStage()
	data := storagetest.Blob(1, 300<<10+123) // written with O_DIRECT where the filesystem has it, the tail without
	d := content.FromBytes(data)
	if _, err := st.PutVerified(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if tmp := tempFiles(t, b); len(tmp) != 1 {
		t.Fatalf("tmp/ holds %d upload files while one blob is staged; want 1", len(tmp))
	}
	if _, err := os.Stat(blobPath(b, d)); !os.IsNotExist(err) {
		t.Fatalf("staged blob exists at its key before Commit (%v)", err)
	}
	if err := st.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantNoTemp(t, b)
	fi, err := os.Stat(blobPath(b, d))
	if err != nil || fi.Mode().Perm() != 0o444 || fi.Size() != int64(len(data)) {
		t.Fatalf("committed blob: %v, %v; want mode 0444 and %d bytes", fi, err, len(data))
	}
	if got, err := os.ReadFile(blobPath(b, d)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("committed blob holds other bytes than were staged (%v)", err)
	}

	other := storagetest.Blob(2, 10)
	if _, err := st.PutVerified(t.Context(), content.FromBytes(other), 10, bytes.NewReader(other)); err != nil {
		t.Fatal(err)
	}
	st.Abort()
	wantNoTemp(t, b)
	if _, err := os.Stat(blobPath(b, content.FromBytes(other))); !os.IsNotExist(err) {
		t.Fatalf("aborted blob exists (%v)", err)
	}
}

// TestStageCommitRetry makes Commit fail (a file blocks a shard directory)
// and checks that the blob stays staged, so Commit succeeds once the cause
// is gone, and that blobs published before the failure stay published.
func TestStageCommitRetry(t *testing.T) {
	b := newLocal(t)
	st := b.NewStage()
	defer st.Abort()
	data := storagetest.Blob(3, 1000)
	d := content.FromBytes(data)
	shard := filepath.Join(b.Root(), filepath.Dir(filepath.Dir(filepath.FromSlash(d.Key()))))
	if _, err := st.PutVerified(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(shard), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shard, []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(t.Context()); err == nil {
		t.Fatal("Commit succeeded with a file where the shard directory must go")
	}
	if _, err := b.Head(t.Context(), d); err == nil {
		t.Fatal("the blob is visible after a failed Commit")
	}
	if err := os.Remove(shard); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(t.Context()); err != nil {
		t.Fatalf("retried Commit: %v", err)
	}
	wantNoTemp(t, b)
	if i, err := b.Head(t.Context(), d); err != nil || i.Size != int64(len(data)) {
		t.Fatalf("Head after the retried Commit = %+v, %v", i, err)
	}
}
