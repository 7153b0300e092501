package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
)

// server is an S3 endpoint the tests run against: the in-process fake or a
// real server named by the environment.
type server struct {
	endpoint string
	access   string
	secret   string
	region   string
	client   *http.Client // nil: the SDK's
}

// newFake starts gofakes3 on an in-memory backend for the test. clock, if
// not nil, is the fake's time (Last-Modified); hook, if not nil, sees every
// request first and may answer it instead of the fake.
func newFake(t testing.TB, clock gofakes3.TimeSource, hook func(op string, r *http.Request) *http.Response) server {
	t.Helper()
	opts := []gofakes3.Option{gofakes3.WithLogger(gofakes3.DiscardLog())}
	if clock != nil {
		opts = append(opts, gofakes3.WithTimeSource(clock), gofakes3.WithTimeSkewLimit(0))
	}
	faker := gofakes3.New(s3mem.New(), opts...)
	ts := httptest.NewServer(faker.Server())
	t.Cleanup(ts.Close)
	client := ts.Client()
	if hook != nil {
		client = &http.Client{Transport: hookTransport{base: client.Transport, hook: hook}}
	}
	return server{endpoint: ts.URL, access: "fake-access", secret: "fake-secret", region: "us-east-1", client: client}
}

// hookTransport lets a test observe or answer requests by S3 operation.
type hookTransport struct {
	base http.RoundTripper
	hook func(op string, r *http.Request) *http.Response
}

func (h hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if resp := h.hook(operation(r), r); resp != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		resp.Request = r
		return resp, nil
	}
	return h.base.RoundTrip(r)
}

// operation names the S3 operation of a path-style request.
func operation(r *http.Request) string {
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	bucketOnly := strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0
	switch r.Method {
	case http.MethodHead:
		if bucketOnly {
			return "HeadBucket"
		}
		return "HeadObject"
	case http.MethodGet:
		switch {
		case has("uploads"):
			return "ListMultipartUploads"
		case bucketOnly:
			return "ListObjects"
		}
		return "GetObject"
	case http.MethodPut:
		switch {
		case has("partNumber"):
			return "UploadPart"
		case r.Header.Get("X-Amz-Copy-Source") != "":
			return "CopyObject"
		case bucketOnly:
			return "CreateBucket"
		}
		return "PutObject"
	case http.MethodPost:
		if has("uploads") {
			return "CreateMultipartUpload"
		}
		if has("uploadId") {
			return "CompleteMultipartUpload"
		}
		return "Post"
	case http.MethodDelete:
		if has("uploadId") {
			return "AbortMultipartUpload"
		}
		if bucketOnly {
			return "DeleteBucket"
		}
		return "DeleteObject"
	}
	return r.Method
}

// s3Error returns an S3 error response.
func s3Error(status int, code string) *http.Response {
	body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>injected by the test</Message></Error>`
	return &http.Response{
		StatusCode:    status,
		Status:        http.StatusText(status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/xml"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
	}
}

// clock is a settable gofakes3.TimeSource, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// config returns a Config for bucket on the server.
func (s server) config(bucket string) Config {
	return Config{
		ID:              "s3-test",
		Bucket:          bucket,
		Prefix:          "artstore/",
		Region:          s.region,
		Endpoint:        s.endpoint,
		PathStyle:       true,
		AccessKeyID:     s.access,
		SecretAccessKey: s.secret,
		MaxAttempts:     2,
		HTTPClient:      s.client,
		backoff:         noBackoff{},
	}
}

// noBackoff retries at once, so tests of retries take no time.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// newBucket creates a fresh bucket and removes it (with everything in it)
// when the test ends.
func (s server) newBucket(t testing.TB) string {
	t.Helper()
	var rnd [6]byte
	rand.Read(rnd[:])
	bucket := "artstore-test-" + hex.EncodeToString(rnd[:])
	c := s.rawClient(t)
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("create bucket %s at %s: %v", bucket, s.endpoint, err)
	}
	t.Cleanup(func() {
		if err := removeBucket(context.Background(), c, bucket); err != nil {
			t.Errorf("remove bucket %s: %v", bucket, err)
		}
	})
	return bucket
}

// rawClient returns an SDK client for the server, bypassing the backend.
func (s server) rawClient(t testing.TB) *s3.Client {
	t.Helper()
	cfg := s.config("unused")
	c, err := newClient(context.Background(), cfg, 1, DefaultMaxAttempts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newBackend returns a backend on a fresh bucket, with cfg adjusted by tune.
func (s server) newBackend(t testing.TB, tune func(*Config)) *Backend {
	t.Helper()
	cfg := s.config(s.newBucket(t))
	if tune != nil {
		tune(&cfg)
	}
	b, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// removeBucket aborts pending uploads, deletes every object and then the
// bucket. A bucket that is already gone is not an error.
func removeBucket(ctx context.Context, c *s3.Client, bucket string) error {
	ups, err := listUploads(ctx, c, bucket)
	if apiCode(err) == "NoSuchBucket" {
		return nil
	}
	if err != nil {
		return err
	}
	for _, u := range ups {
		if _, err := c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId}); err != nil {
			return err
		}
	}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key}); err != nil {
				return err
			}
		}
	}
	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket})
	if apiCode(err) == "NoSuchBucket" {
		return nil
	}
	return err
}

// pendingUploads lists the multipart uploads in progress in b's bucket.
func pendingUploads(t testing.TB, b *Backend) []types.MultipartUpload {
	t.Helper()
	ups, err := listUploads(context.Background(), b.client, b.bucket)
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	return ups
}

// listUploads lists the multipart uploads in progress in a bucket. gofakes3
// answers NoSuchUpload for a bucket that never had one.
func listUploads(ctx context.Context, c *s3.Client, bucket string) ([]types.MultipartUpload, error) {
	out, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if apiCode(err) == "NoSuchUpload" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return out.Uploads, nil
}

// rawKeys lists every object key in b's bucket.
func rawKeys(t testing.TB, b *Backend) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{Bucket: &b.bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// rawPut writes an object directly.
func rawPut(t testing.TB, b *Backend, key string, data []byte) {
	t.Helper()
	_, err := b.client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: &b.bucket, Key: &key, Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// suiteOptions returns the conformance suite's hooks for S3 backends made by
// server.newBackend.
func suiteOptions(s server) storagetest.Options {
	return storagetest.Options{
		CapacityKnown:      false,
		ModTimeGranularity: time.Second,
		Vanish: func(t *testing.T, sb storage.Backend) {
			b := sb.(*Backend)
			if err := removeBucket(t.Context(), b.client, b.bucket); err != nil {
				t.Fatalf("remove bucket %s: %v", b.bucket, err)
			}
		},
		PlantJunk: func(t *testing.T, sb storage.Backend) {
			plantJunk(t, sb.(*Backend))
		},
		RawExists: func(t *testing.T, sb storage.Backend, key string) bool {
			b := sb.(*Backend)
			k := b.prefix + key
			_, err := b.client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &b.bucket, Key: &k})
			if err == nil {
				return true
			}
			if !errors.Is(mapError(err), storage.ErrNotFound) {
				t.Fatalf("HeadObject %s: %v", k, err)
			}
			return false
		},
	}
}

// plantJunk writes objects that are not blobs of b (foreign keys, near misses
// of the layout, blobs outside the prefix) and leaves a multipart upload
// pending under a valid key; Walk must skip all of them.
func plantJunk(t testing.TB, b *Backend) {
	t.Helper()
	d := content.FromBytes([]byte("junk"))
	h := d.Hex()
	for _, k := range []string{
		b.prefix + "README",
		b.prefix + "sha256/",
		b.prefix + "sha256/" + h,
		b.prefix + "sha256/" + h[:2] + "/" + h,
		b.prefix + "sha256/" + h[2:4] + "/" + h[:2] + "/" + h, // shards swapped
		b.prefix + "sha256/" + h[:2] + "/" + h[2:4] + "/" + h + ".tmp",
		b.prefix + "sha256/" + h[:2] + "/" + h[2:4] + "/" + h + "/x",
		b.prefix + "sha256/" + h[:2] + "/" + h[2:4] + "/" + h[:63],
		b.prefix + "sha256/" + upper(h[:2]) + "/" + upper(h[2:4]) + "/" + upper(h),
		b.prefix + "sha512/" + h[:2] + "/" + h[2:4] + "/" + h + h,
		"elsewhere/" + d.Key(), // a valid layout outside the prefix
		d.Key(),
	} {
		rawPut(t, b, k, []byte("junk"))
	}
	k := b.prefix + content.FromBytes([]byte("pending")).Key()
	if _, err := b.client.CreateMultipartUpload(context.Background(), &s3.CreateMultipartUploadInput{Bucket: &b.bucket, Key: &k}); err != nil {
		t.Fatalf("create multipart upload: %v", err)
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
