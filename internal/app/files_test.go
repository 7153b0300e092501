package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// pushTree stores the directory dir and registers it under name for p.
func pushTree(t *testing.T, svc *app.Service, blobs transfer.BlobStore, p app.Principal, name, dir string) (api.Artifact, transfer.PushResult) {
	t.Helper()
	tr, err := transfer.PushTree(context.Background(), dir, blobs, transfer.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := svc.Register(context.Background(), p, api.RegisterRequest{Name: name, MediaType: api.TreeMediaType,
		ContentDigest: tr.ContentDigest.String(), ManifestDigest: tr.ManifestDigest.String(), Size: tr.Size})
	if err != nil {
		t.Fatal(err)
	}
	return a, tr
}

// newServiceBackend is newService, returning the backend itself.
func newServiceBackend(t *testing.T) (*app.Service, storage.Backend) {
	t.Helper()
	dir := t.TempDir()
	be, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := app.Open(context.Background(), app.Config{Log: filepath.Join(dir, "log.db"), Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc, be
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestFiles(t *testing.T) {
	ctx := context.Background()
	svc, blobs := newService(t)
	admin := app.Principal{Actor: "admin"}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("notes"), 0o640); err != nil {
		t.Fatal(err)
	}
	pushTree(t, svc, blobs, admin, "team/site", dir)
	if _, err := push(t, svc, blobs, admin, "team/file", []byte("a file")); err != nil {
		t.Fatal(err)
	}

	var got []api.TreeEntry
	collect := func(e api.TreeEntry) error { got = append(got, e); return nil }
	if err := svc.Files(ctx, admin, "team/site", collect); err != nil {
		t.Fatal(err)
	}
	want := []api.TreeEntry{
		{Path: "bin", Type: api.EntryDir, Mode: "0755"},
		{Path: "bin/run", Type: api.EntryFile, Mode: "0755", Size: 10, Digest: "sha256:" + sha256hex("#!/bin/sh\n")},
		{Path: "notes.txt", Type: api.EntryFile, Mode: "0640", Size: 5, Digest: "sha256:" + sha256hex("notes")},
	}
	if len(got) != len(want) {
		t.Fatalf("entries %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	// A token limited to team/ lists its own trees; one limited to other/ learns nothing.
	got = nil
	if err := svc.Files(ctx, app.Principal{Actor: "ci", Prefix: "team/", Token: "t1"}, "team/site:1", collect); err != nil || len(got) != 3 {
		t.Fatalf("prefix team/: %v, %d entries", err, len(got))
	}
	got = nil
	if err := svc.Files(ctx, app.Principal{Actor: "ci", Prefix: "other/", Token: "t2"}, "team/site", collect); !errors.Is(err, api.ErrForbidden) || got != nil {
		t.Fatalf("prefix other/: %v, %d entries, want ErrForbidden and none", err, len(got))
	}
	if err := svc.Files(ctx, admin, "team/file", collect); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("a file artifact: %v, want ErrInvalid", err)
	}
	if err := svc.Files(ctx, admin, "team/none", collect); app.Classify(err) != api.CodeNotFound {
		t.Fatalf("an unknown name: %v, want not found", err)
	}
}

func TestFilesOfADamagedTree(t *testing.T) {
	ctx := context.Background()
	svc, be := newServiceBackend(t)
	blobs := transfer.FromBackend(be)
	admin := app.Principal{Actor: "admin"}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("f"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, tr := pushTree(t, svc, blobs, admin, "site", dir)
	if _, err := be.Delete(ctx, tr.ManifestDigest); err != nil {
		t.Fatal(err)
	}
	called := false
	err := svc.Files(ctx, admin, "site", func(api.TreeEntry) error { called = true; return nil })
	if !errors.Is(app.Sentinel(err), api.ErrIntegrity) || called {
		t.Fatalf("a missing manifest: %v (fn called: %v), want an integrity failure before any entry", err, called)
	}
}

// TestTreeEntryLink: a symbolic link entry keeps its target on the wire.
func TestTreeEntryLink(t *testing.T) {
	got := app.TreeEntry(content.TreeEntry{Path: "lib/libfoo.so", Type: content.EntrySymlink, Target: "libfoo.so.1"})
	if got.Type != api.EntrySymlink || got.Target != "libfoo.so.1" || got.Mode != "0000" || got.Digest != "" {
		t.Fatalf("TreeEntry = %+v", got)
	}
}
