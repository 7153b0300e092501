package s3_test

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage/backends"
)

// TestOpenThroughBackends checks that backends.Open maps a Spec onto this
// package's Config: the backend it opens stores blobs where the Spec says.
func TestOpenThroughBackends(t *testing.T) {
	mem := s3mem.New()
	if err := mem.CreateBucket("spec-bucket"); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(gofakes3.New(mem, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(ts.Close)

	spec := backends.Spec{
		ID: "from-spec", Type: backends.TypeS3,
		Bucket: "spec-bucket", Prefix: "p/", Region: "us-east-1",
		Endpoint: ts.URL, PathStyle: true,
		AccessKeyID: "k", SecretAccessKey: "s",
	}
	b, err := backends.Open(t.Context(), spec)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if b.ID() != "from-spec" {
		t.Errorf("ID() = %q", b.ID())
	}
	data := []byte("opened through backends.Open")
	d := content.FromBytes(data)
	if _, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := mem.HeadObject("spec-bucket", "p/"+d.Key()); err != nil {
		t.Errorf("no object at p/%s in spec-bucket: %v", d.Key(), err)
	}

	for _, tt := range []struct {
		name string
		edit func(*backends.Spec)
		want string
	}{
		{"bucket", func(s *backends.Spec) { s.Bucket = "" }, "no bucket"},
		{"part size", func(s *backends.Spec) { s.PartSize = 1 << 20 }, "part size 1048576"},
		{"threshold", func(s *backends.Spec) { s.MultipartThreshold = -1 }, "multipart threshold -1"},
		{"concurrency", func(s *backends.Spec) { s.Concurrency = -1 }, "concurrency -1"},
		{"timeout", func(s *backends.Spec) { s.Timeout = -1 }, "response timeout"},
		{"keys", func(s *backends.Spec) { s.SecretAccessKey = "" }, "both an access key"},
	} {
		bad := spec
		tt.edit(&bad)
		if _, err := backends.Open(t.Context(), bad); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Open = %v; want an error containing %q", tt.name, err, tt.want)
		}
	}
}
