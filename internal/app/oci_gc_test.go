package app_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// TestOCIGCRacesManifestPushes races OCI pushes (blobs uploaded and linked,
// then a manifest naming them) against collections with no grace: the
// blobs of a deleted manifest are garbage when the race starts, and the
// push that takes them again either registers a manifest whose every blob
// survives this and later collections, or is refused MANIFEST_BLOB_UNKNOWN
// (after which a client uploads again, as here). Removing gc's Keep option
// or the registration's check of the manifest's closure makes it fail.
func TestOCIGCRacesManifestPushes(t *testing.T) {
	iterations := 100
	if testing.Short() {
		iterations = 20
	}
	ctx := context.Background()
	svc, be := newClaimedService(t)
	blobs := transfer.FromBackend(be)
	p := app.Principal{Actor: "oci"}
	config := []byte(`{"architecture":"race"}`)
	layers := [][]byte{bytes.Repeat([]byte("layer one "), 500), bytes.Repeat([]byte("layer two "), 700)}
	upload := func() []map[string]any {
		var descs []map[string]any
		for _, l := range layers {
			descs = append(descs, ociBlob(t, svc, blobs, p, "race/r", "application/octet-stream", l, nil))
		}
		return descs
	}
	cfg := ociBlob(t, svc, blobs, p, "race/r", "application/vnd.example.config", config, nil)
	body := imageManifest(t, cfg, upload(), nil)
	put := func() error {
		_, err := svc.OCIPutManifest(ctx, p, "race/r", "v", app.OCIManifestType, body, nil)
		return err
	}
	var registered, refused int
	for it := range iterations {
		if err := put(); err != nil {
			// The previous iteration's collection took the blobs: upload again.
			ociBlob(t, svc, blobs, p, "race/r", "application/vnd.example.config", config, nil)
			upload()
			if err := put(); err != nil {
				t.Fatalf("iteration %d: seed push: %v", it, err)
			}
		}
		if err := svc.OCIDeleteManifest(ctx, p, "race/r", sha(body)); err != nil {
			t.Fatalf("iteration %d: delete: %v", it, err)
		}
		var wg sync.WaitGroup
		var putErr, gcErr error
		start := make(chan struct{})
		wg.Go(func() { <-start; putErr = put() })
		wg.Go(func() { <-start; _, _, gcErr = svc.GC(ctx, p, api.GCOptions{Grace: 0}) })
		close(start)
		wg.Wait()
		if gcErr != nil {
			t.Fatalf("iteration %d: gc: %v", it, gcErr)
		}
		if putErr != nil {
			if _, code := ociCode(putErr); code != "MANIFEST_BLOB_UNKNOWN" {
				t.Fatalf("iteration %d: push: %v", it, putErr)
			}
			refused++
			continue
		}
		registered++
		// Registered: everything it names survives a further collection.
		if _, _, err := svc.GC(ctx, p, api.GCOptions{Grace: 0}); err != nil {
			t.Fatal(err)
		}
		m, err := svc.OCIGetManifest(ctx, p, "race/r", "v", false)
		if err != nil || !bytes.Equal(m.Body, body) {
			t.Fatalf("iteration %d: manifest after gc: %v", it, err)
		}
		for _, want := range append([][]byte{config}, layers...) {
			readBlob(t, svc, blobs, p, "race/r", want, it)
		}
	}
	if registered == 0 {
		t.Fatalf("no push registered in %d iterations", iterations)
	}
	t.Logf("%d iterations: %d manifests registered, %d refused MANIFEST_BLOB_UNKNOWN", iterations, registered, refused)
}

// readBlob reads blob want of repo through the Service and compares it.
func readBlob(t *testing.T, svc *app.Service, blobs transfer.BlobStore, p app.Principal, repo string, want []byte, it int) {
	t.Helper()
	ctx := context.Background()
	d, _ := app.ParseOCIDigest(sha(want))
	b, err := svc.OCIBlobStat(ctx, p, repo, d)
	if err != nil {
		t.Fatalf("iteration %d: blob %s of a live manifest: %v", it, d, err)
	}
	f, err := transfer.OpenFile(ctx, b.Manifest, blobs, transfer.PullOptions{})
	if err != nil {
		t.Fatalf("iteration %d: blob %s of a live manifest: %v", it, d, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := f.WriteRange(ctx, &buf, nil); err != nil || !bytes.Equal(buf.Bytes(), want) || b.Content != content.FromBytes(want) {
		t.Fatalf("iteration %d: blob %s reads %d bytes (%v)", it, d, buf.Len(), err)
	}
}
