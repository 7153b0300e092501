package s3

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
)

// Environment of the integration tests; scripts/ceph-rgw.sh writes it.
const (
	envEndpoint  = "ARTSTORE_TEST_S3_ENDPOINT"
	envAccessKey = "ARTSTORE_TEST_S3_ACCESS_KEY"
	envSecretKey = "ARTSTORE_TEST_S3_SECRET_KEY"
	envRegion    = "ARTSTORE_TEST_S3_REGION"
)

// realServer returns the S3 server named by the environment. It skips the
// test when none is configured, and fails it instead when CI is set, so a
// CI run can never pass by silently skipping the real server.
func realServer(t testing.TB) server {
	t.Helper()
	endpoint := os.Getenv(envEndpoint)
	if endpoint == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is not: the S3 integration tests must run in CI (start a server with scripts/ceph-rgw.sh and source its env file)", envEndpoint)
		}
		t.Skipf("%s not set: skipping the tests against a real S3 server (scripts/ceph-rgw.sh start DIR starts one)", envEndpoint)
	}
	region := os.Getenv(envRegion)
	if region == "" {
		region = DefaultRegion
	}
	return server{endpoint: endpoint, access: os.Getenv(envAccessKey), secret: os.Getenv(envSecretKey), region: region}
}

// realSuiteOptions are the conformance options against a real server: the
// server is another process, so the memory bound measures only this one.
func realSuiteOptions(s server, partSize int64, concurrency int) storagetest.Options {
	opts := suiteOptions(s)
	// Ceph RGW and AWS S3 check a body against its signed SHA-256.
	opts.PresignEnforced = true
	// The Put's part buffers, plus room for the SDK, HTTP and the test.
	opts.MaxMemoryGrowth = uint64(partSize)*uint64(concurrency) + 32<<20
	return opts
}

func TestIntegrationConformance(t *testing.T) {
	srv := realServer(t)
	opts := realSuiteOptions(srv, DefaultPartSize, DefaultConcurrency)
	storagetest.Run(t, func(t *testing.T) storage.Backend { return srv.newBackend(t, nil) }, opts)
}

func TestIntegrationConformanceMultipart(t *testing.T) {
	srv := realServer(t)
	// The smallest parts the server accepts, and a threshold that sends
	// every blob above it through the multipart path.
	tune := func(c *Config) {
		c.MultipartThreshold = 64 << 10
		c.PartSize = MinPartSize
		c.Concurrency = 3
	}
	opts := realSuiteOptions(srv, MinPartSize, 3)
	opts.BigObjectSize = 256 << 20
	storagetest.Run(t, func(t *testing.T) storage.Backend { return srv.newBackend(t, tune) }, opts)
}

// TestIntegrationMultipart checks against the real server what the fake
// cannot show: parts of the real minimum size, the abort of a mismatched
// upload leaving nothing behind, and HeadObject after a completion whose
// ETag the server may leave empty (Ceph RGW 16.2).
func TestIntegrationMultipart(t *testing.T) {
	srv := realServer(t)
	b := srv.newBackend(t, func(c *Config) {
		c.MultipartThreshold = MinPartSize
		c.PartSize = MinPartSize
		c.Concurrency = 2
	})
	data := storagetest.Blob(21, 3*MinPartSize+123)
	d := content.FromBytes(data)

	bad := append([]byte(nil), data...)
	bad[len(bad)-1] ^= 1
	created, err := b.Put(t.Context(), d, int64(len(bad)), bytes.NewReader(bad))
	if created || !errors.Is(err, storage.ErrDigestMismatch) {
		t.Fatalf("Put of wrong bytes = %v, %v; want ErrDigestMismatch", created, err)
	}
	wantNothingStored(t, b, d)

	if created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil || !created {
		t.Fatalf("Put = %v, %v", created, err)
	}
	info, err := b.Head(t.Context(), d)
	if err != nil || info.Size != int64(len(data)) {
		t.Fatalf("Head = %+v, %v", info, err)
	}
	rc, err := b.Get(t.Context(), d, &content.Range{Start: MinPartSize - 10, End: MinPartSize + 9})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data[MinPartSize-10:MinPartSize+10]) {
		t.Errorf("range across a part boundary: %d bytes, %v", len(got), err)
	}
	if ups := pendingUploads(t, b); len(ups) != 0 {
		t.Errorf("%d multipart uploads pending after a completed Put", len(ups))
	}
}
