package storagetest_test

import (
	"path/filepath"
	"testing"

	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
)

// TestPresigningConformance runs the suite against the test presigner the
// daemon's and client's direct-transfer tests use, so that what they rely
// on is what S3 does.
func TestPresigningConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		b, err := local.New("default", filepath.Join(t.TempDir(), "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		return storagetest.NewPresigning(t, b)
	}, storagetest.Options{PresignEnforced: true, ModTimeGranularity: 1, CapacityKnown: true})
}
