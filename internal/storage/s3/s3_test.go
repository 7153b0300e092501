package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
)

// Small multipart settings so the fake exercises many parts cheaply.
func tinyParts(c *Config) {
	c.MultipartThreshold = 64 << 10
	c.PartSize = 16 << 10
	c.MinPartSize = 1 << 10
	c.Concurrency = 3
}

func TestConformanceFake(t *testing.T) {
	srv := newFake(t, nil, nil)
	opts := suiteOptions(srv)
	// The fake keeps every object in this process's memory, so the memory
	// bound covers the stored object too; the real bound is checked against
	// a separate server in the integration test.
	opts.BigObjectSize = 24 << 20
	opts.MaxMemoryGrowth = 160 << 20
	storagetest.Run(t, func(t *testing.T) storage.Backend { return srv.newBackend(t, nil) }, opts)
}

func TestConformanceFakeMultipart(t *testing.T) {
	srv := newFake(t, nil, nil)
	opts := suiteOptions(srv)
	opts.BigObjectSize = 8 << 20
	opts.MaxMemoryGrowth = 96 << 20
	storagetest.Run(t, func(t *testing.T) storage.Backend { return srv.newBackend(t, tinyParts) }, opts)
}

// counter records the S3 operations a backend sends.
type counter struct {
	mu  sync.Mutex
	ops []string
}

func (c *counter) hook(op string, _ *http.Request) *http.Response {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, op)
	return nil
}

func (c *counter) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, o := range c.ops {
		if o == op {
			n++
		}
	}
	return n
}

func (c *counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = nil
}

// wantNothingStored checks that no object exists under d and no multipart
// upload is pending in b's bucket.
func wantNothingStored(t *testing.T, b *Backend, d content.Digest) {
	t.Helper()
	if _, err := b.Head(t.Context(), d); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Head = %v; want ErrNotFound", err)
	}
	for _, k := range rawKeys(t, b) {
		if strings.Contains(k, d.Hex()) {
			t.Errorf("object %s exists", k)
		}
	}
	if ups := pendingUploads(t, b); len(ups) != 0 {
		t.Errorf("%d multipart uploads pending, first for %s", len(ups), *ups[0].Key)
	}
}

func TestMultipartFailuresAbort(t *testing.T) {
	data := storagetest.Blob(1, 200<<10+17) // 13 parts of 16 KiB
	d := content.FromBytes(data)
	n := int64(len(data))
	boom := errors.New("source broke")
	flipped := append([]byte(nil), data...)
	flipped[n-1] ^= 1
	tests := []struct {
		name     string
		size     int64
		r        io.Reader
		failPart string // UploadPart partNumber answered with an error
		failDone bool   // CompleteMultipartUpload answered with an error
		wantErr  error
	}{
		{name: "last byte wrong", size: n, r: bytes.NewReader(flipped), wantErr: storage.ErrDigestMismatch},
		{name: "short stream", size: n, r: bytes.NewReader(data[:n-1]), wantErr: storage.ErrDigestMismatch},
		{name: "long stream", size: n, r: io.MultiReader(bytes.NewReader(data), strings.NewReader("x")), wantErr: storage.ErrDigestMismatch},
		{name: "reader fails in part 5", size: n, r: io.MultiReader(bytes.NewReader(data[:70<<10]), iotest.ErrReader(boom)), wantErr: boom},
		{name: "part 4 refused", size: n, r: bytes.NewReader(data), failPart: "4", wantErr: storage.ErrUnavailable},
		{name: "complete refused", size: n, r: bytes.NewReader(data), failDone: true, wantErr: storage.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c counter
			srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
				c.hook(op, r)
				switch {
				case op == "UploadPart" && r.URL.Query().Get("partNumber") == tt.failPart:
					return s3Error(http.StatusForbidden, "AccessDenied")
				case op == "CompleteMultipartUpload" && tt.failDone:
					return s3Error(http.StatusForbidden, "AccessDenied")
				}
				return nil
			})
			b := srv.newBackend(t, tinyParts)
			created, err := b.Put(t.Context(), d, tt.size, tt.r)
			if created || !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put = %v, %v; want %v", created, err, tt.wantErr)
			}
			if got := c.count("AbortMultipartUpload"); got != 1 {
				t.Errorf("%d AbortMultipartUpload requests; want 1", got)
			}
			if got := c.count("CreateMultipartUpload"); got != 1 {
				t.Errorf("%d CreateMultipartUpload requests; want 1", got)
			}
			if tt.failDone {
				if got := c.count("CompleteMultipartUpload"); got != 1 {
					t.Errorf("%d CompleteMultipartUpload requests; want 1", got)
				}
			} else if got := c.count("CompleteMultipartUpload"); got != 0 {
				t.Errorf("a failed upload sent CompleteMultipartUpload %d times", got)
			}
			wantNothingStored(t, b, d)
		})
	}
}

// TestSinglePartNeverSendsWrongBytesWhole: a single-part Put streams, and
// holds back the last byte until the stream has verified, so a server
// never receives the whole body of bytes that fail verification (and
// could not store them even if it did not check the signed payload hash,
// as gofakes3 does not).
func TestSinglePartNeverSendsWrongBytesWhole(t *testing.T) {
	data := storagetest.Blob(2, 10000)
	d := content.FromBytes(data)
	for _, tt := range []struct {
		name string
		size int64
		r    io.Reader
	}{
		{"wrong bytes", 10000, bytes.NewReader(storagetest.Blob(3, 10000))},
		{"short", 10000, bytes.NewReader(data[:9999])},
		{"long", 10000, io.MultiReader(bytes.NewReader(data), strings.NewReader("x"))},
		{"declared too small", 9999, bytes.NewReader(data)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var bodies []*countingBody
			b := newFake(t, nil, func(op string, r *http.Request) *http.Response {
				if op == "PutObject" || op == "CreateMultipartUpload" {
					cb := &countingBody{ReadCloser: r.Body}
					r.Body = cb
					mu.Lock()
					bodies = append(bodies, cb)
					mu.Unlock()
				}
				return nil
			}).newBackend(t, nil)
			created, err := b.Put(t.Context(), d, tt.size, tt.r)
			if created || !errors.Is(err, storage.ErrDigestMismatch) {
				t.Fatalf("Put = %v, %v; want ErrDigestMismatch", created, err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, cb := range bodies {
				if n := cb.n.Load(); n >= tt.size {
					t.Errorf("a write carried %d bytes of %d that failed verification", n, tt.size)
				}
			}
			wantNothingStored(t, b, d)
		})
	}
}

func TestMultipartUploadsPartsConcurrently(t *testing.T) {
	const conc = 3
	var (
		mu       sync.Mutex
		inFlight int
		maxSeen  int
		arrived  int
		release  = make(chan struct{})
	)
	srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
		if op != "UploadPart" {
			return nil
		}
		mu.Lock()
		inFlight++
		maxSeen = max(maxSeen, inFlight)
		arrived++
		if arrived == conc {
			close(release)
		}
		mu.Unlock()
		// The first conc parts wait for each other: a backend that uploads
		// one part at a time never gets past the first.
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(time.Minute):
			t.Error("parts were not uploaded concurrently")
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	})
	b := srv.newBackend(t, func(c *Config) { tinyParts(c); c.Concurrency = conc })
	data := storagetest.Blob(4, 300<<10)
	d := content.FromBytes(data)
	if created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil || !created {
		t.Fatalf("Put = %v, %v", created, err)
	}
	if maxSeen > conc {
		t.Errorf("%d parts in flight at once; Concurrency is %d", maxSeen, conc)
	}
	rc, err := b.Get(t.Context(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); !bytes.Equal(got, data) {
		t.Error("read back different bytes")
	}
}

func TestPartSizeFor(t *testing.T) {
	b := &Backend{partSize: 16 << 20}
	for _, tt := range []struct{ size, want int64 }{
		{17 << 20, 16 << 20},
		{MaxParts * (16 << 20), 16 << 20},
		{MaxParts*(16<<20) + 1, 16<<20 + 1},
		{5 << 40, (5<<40 + MaxParts - 1) / MaxParts},
	} {
		got := b.partSizeFor(tt.size)
		if got != tt.want {
			t.Errorf("partSizeFor(%d) = %d, want %d", tt.size, got, tt.want)
		}
		if parts := (tt.size + got - 1) / got; parts > MaxParts {
			t.Errorf("partSizeFor(%d) = %d gives %d parts", tt.size, got, parts)
		}
	}
}

func TestRePutRefreshesModTime(t *testing.T) {
	for _, tune := range []struct {
		name string
		fn   func(*Config)
	}{{"single part", nil}, {"multipart", tinyParts}} {
		t.Run(tune.name, func(t *testing.T) {
			clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			var c counter
			b := newFake(t, clk, c.hook).newBackend(t, tune.fn)
			data := storagetest.Blob(5, 100<<10)
			d := content.FromBytes(data)
			if _, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			first, err := b.Head(t.Context(), d)
			if err != nil || !first.ModTime.Equal(clk.Now()) {
				t.Fatalf("Head = %+v, %v; want ModTime %s", first, err, clk.Now())
			}
			clk.Advance(time.Hour)
			c.reset()
			created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data))
			if err != nil || created {
				t.Fatalf("re-put = %v, %v", created, err)
			}
			again, err := b.Head(t.Context(), d)
			if err != nil || !again.ModTime.Equal(clk.Now()) {
				t.Errorf("Head after re-put = %+v, %v; want ModTime %s", again, err, clk.Now())
			}
			if n := c.count("PutObject") + c.count("UploadPart"); n != 0 {
				t.Errorf("re-put uploaded the bytes again (%d requests)", n)
			}
			if n := c.count("CopyObject"); n != 1 {
				t.Errorf("%d CopyObject requests; want 1 self-copy", n)
			}
		})
	}
}

func TestRePutFallsBackToUploadWhenCopyRefused(t *testing.T) {
	var c counter
	srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
		c.hook(op, r)
		if op == "CopyObject" {
			return s3Error(http.StatusBadRequest, "InvalidRequest")
		}
		return nil
	})
	b := srv.newBackend(t, nil)
	data := storagetest.Blob(6, 5000)
	d := content.FromBytes(data)
	if _, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	c.reset()
	created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data))
	if err != nil || created {
		t.Fatalf("re-put = %v, %v; want false, nil", created, err)
	}
	if c.count("PutObject") != 1 {
		t.Errorf("operations %v; want a re-upload after the refused copy", c.ops)
	}
}

// countingBody counts the bytes a request body yields.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestConditionalPut(t *testing.T) {
	data := storagetest.Blob(7, 3000)
	d := content.FromBytes(data)

	t.Run("not implemented: fall back and remember", func(t *testing.T) {
		var withHeader, without atomic.Int32
		srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
			if op != "PutObject" {
				return nil
			}
			if r.Header.Get("If-None-Match") != "" {
				withHeader.Add(1)
				return s3Error(http.StatusNotImplemented, "NotImplemented")
			}
			without.Add(1)
			return nil
		})
		b := srv.newBackend(t, nil)
		for i := range 3 {
			blob := storagetest.Blob(uint64(100+i), 1000)
			if created, err := b.Put(t.Context(), content.FromBytes(blob), 1000, bytes.NewReader(blob)); err != nil || !created {
				t.Fatalf("Put #%d = %v, %v", i, created, err)
			}
		}
		if withHeader.Load() != 1 || without.Load() != 3 {
			t.Errorf("%d puts with If-None-Match, %d without; want 1 and 3", withHeader.Load(), without.Load())
		}
	})

	t.Run("precondition failed: another writer won", func(t *testing.T) {
		// The object appears between Put's HeadObject and its PutObject: the
		// test hides it from the first HeadObject.
		var heads atomic.Int32
		var c counter
		srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
			c.hook(op, r)
			if op == "HeadObject" && heads.Add(1) == 1 {
				return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: http.NoBody}
			}
			return nil
		})
		b := srv.newBackend(t, nil)
		rawPut(t, b, b.prefix+d.Key(), data)
		c.reset()
		created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data))
		if err != nil || created {
			t.Fatalf("Put = %v, %v; want created=false after a lost race", created, err)
		}
		if c.count("PutObject") != 1 || c.count("CopyObject") != 1 {
			t.Errorf("operations %v; want one conditional PutObject and a refreshing CopyObject", c.ops)
		}
	})
}

// TestConditionalComplete is TestConditionalPut for a multipart upload,
// whose CompleteMultipartUpload carries the If-None-Match header.
func TestConditionalComplete(t *testing.T) {
	const size = 100 << 10 // above tinyParts' multipart threshold
	data := storagetest.Blob(9, size)
	d := content.FromBytes(data)

	t.Run("not implemented: fall back and remember", func(t *testing.T) {
		var withHeader, without atomic.Int32
		srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
			if op != "CompleteMultipartUpload" {
				return nil
			}
			if r.Header.Get("If-None-Match") != "" {
				withHeader.Add(1)
				return s3Error(http.StatusNotImplemented, "NotImplemented")
			}
			without.Add(1)
			return nil
		})
		b := srv.newBackend(t, tinyParts)
		for i := range 3 {
			blob := storagetest.Blob(uint64(200+i), size)
			if created, err := b.Put(t.Context(), content.FromBytes(blob), size, bytes.NewReader(blob)); err != nil || !created {
				t.Fatalf("Put #%d = %v, %v", i, created, err)
			}
		}
		if withHeader.Load() != 1 || without.Load() != 3 {
			t.Errorf("%d completes with If-None-Match, %d without; want 1 and 3", withHeader.Load(), without.Load())
		}
	})

	t.Run("precondition failed: another writer won", func(t *testing.T) {
		var heads atomic.Int32
		var c counter
		srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
			c.hook(op, r)
			switch {
			case op == "HeadObject" && heads.Add(1) == 1:
				return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: http.NoBody}
			case op == "CompleteMultipartUpload" && r.Header.Get("If-None-Match") != "":
				return s3Error(http.StatusPreconditionFailed, "PreconditionFailed")
			}
			return nil
		})
		b := srv.newBackend(t, tinyParts)
		rawPut(t, b, b.prefix+d.Key(), data)
		c.reset()
		created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data))
		if err != nil || created {
			t.Fatalf("Put = %v, %v; want created=false after a lost race", created, err)
		}
		if c.count("CompleteMultipartUpload") != 1 || c.count("AbortMultipartUpload") != 1 || c.count("CopyObject") != 1 {
			t.Errorf("operations %v; want one conditional Complete, an Abort and a refreshing CopyObject", c.ops)
		}
	})
}

func TestGetWhenServerIgnoresRange(t *testing.T) {
	srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
		if op == "GetObject" {
			r.Header.Del("Range") // gofakes3 does not check signatures
		}
		return nil
	})
	b := srv.newBackend(t, nil)
	data := storagetest.Blob(8, 1000)
	d := mustPutT(t, b, data)
	for _, r := range []content.Range{{Start: 0, End: 999}, {Start: 10, End: 19}, {Start: 999, End: 999}} {
		rc, err := b.Get(t.Context(), d, &r)
		if err != nil {
			t.Fatalf("Get(%v): %v", r, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data[r.Start:r.End+1]) {
			t.Errorf("Get(%v) = %d bytes, %v", r, len(got), err)
		}
	}
	if rc, err := b.Get(t.Context(), d, &content.Range{Start: 500, End: 1000}); !errors.Is(err, storage.ErrInvalidRange) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Get past the end: %v; want ErrInvalidRange", err)
	}
}

func mustPutT(t *testing.T, b *Backend, data []byte) content.Digest {
	t.Helper()
	d := content.FromBytes(data)
	if _, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	return d
}

func TestPrefix(t *testing.T) {
	srv := newFake(t, nil, nil)
	bucket := srv.newBucket(t)
	open := func(prefix string) *Backend {
		cfg := srv.config(bucket)
		cfg.Prefix = prefix
		b, err := New(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, other, root := open("team-a"), open("team-b/"), open("")
	if a.Prefix() != "team-a/" {
		t.Errorf("Prefix() = %q; want a trailing slash added", a.Prefix())
	}
	data := []byte("prefixed")
	d := mustPutT(t, a, data)
	if keys := rawKeys(t, a); !slices.Equal(keys, []string{"team-a/" + d.Key()}) {
		t.Errorf("bucket holds %v; want only team-a/%s", keys, d.Key())
	}
	for _, b := range []*Backend{other, root} {
		if _, err := b.Head(t.Context(), d); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("backend with prefix %q: Head = %v; want ErrNotFound", b.Prefix(), err)
		}
		n := 0
		if err := b.Walk(t.Context(), func(storage.Info) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("backend with prefix %q: Walk saw %d blobs, %v; want none", b.Prefix(), n, err)
		}
	}
}

func TestWalkWithoutPrefixSkipsForeignKeys(t *testing.T) {
	srv := newFake(t, nil, nil)
	b := srv.newBackend(t, func(c *Config) { c.Prefix = "" })
	want := mustPutT(t, b, []byte("a real blob"))
	plantJunk(t, b)
	// plantJunk also writes the valid blob for "junk" at the bucket's root,
	// which is inside this backend's (empty) prefix.
	junk := content.FromBytes([]byte("junk"))
	var got []content.Digest
	if err := b.Walk(t.Context(), func(i storage.Info) error { got = append(got, i.Digest); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(x, y content.Digest) int { return strings.Compare(x.String(), y.String()) })
	wantList := []content.Digest{want, junk}
	slices.SortFunc(wantList, func(x, y content.Digest) int { return strings.Compare(x.String(), y.String()) })
	if !slices.Equal(got, wantList) {
		t.Errorf("Walk = %v; want %v", got, wantList)
	}
}

func TestHealth(t *testing.T) {
	srv := newFake(t, nil, nil)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	deny := newFake(t, nil, func(op string, r *http.Request) *http.Response {
		return &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{}, Body: http.NoBody}
	})
	tests := []struct {
		name    string
		cfg     Config
		healthy bool
		detail  []string
	}{
		{"reachable", srv.config(srv.newBucket(t)), true, []string{"reachable"}},
		{"missing bucket", srv.config("no-such-bucket"), false, []string{`"no-such-bucket"`, srv.endpoint, "does not exist"}},
		{"server down", server{endpoint: closed.URL, access: "k", secret: "s", region: "us-east-1"}.config("b"), false, []string{closed.URL, "cannot reach"}},
		{"credentials refused", deny.config("b"), false, []string{"access denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.MaxAttempts = 1
			b, err := New(t.Context(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			h := b.Health(t.Context())
			if h.Healthy != tt.healthy || h.TotalBytes != -1 || h.UsedBytes != -1 || h.FreeBytes != -1 {
				t.Errorf("Health = %+v; want healthy=%v and capacity -1", h, tt.healthy)
			}
			for _, s := range tt.detail {
				if !strings.Contains(h.Detail, s) {
					t.Errorf("Detail %q does not mention %q", h.Detail, s)
				}
			}
		})
	}
}

func TestUnreachableServerIsUnavailable(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cfg := server{endpoint: closed.URL, access: "k", secret: "s", region: "us-east-1"}.config("b")
	cfg.MaxAttempts = 1
	b, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := content.FromBytes([]byte("x"))
	if _, err := b.Head(t.Context(), d); !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), closed.URL) {
		t.Errorf("Head = %v; want ErrUnavailable naming %s", err, closed.URL)
	}
	if _, err := b.Put(t.Context(), d, 1, strings.NewReader("x")); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Put = %v; want ErrUnavailable", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	ok := Config{ID: "s3", Bucket: "b"}
	tests := []struct {
		name string
		edit func(*Config)
		want string // substring of the error; "" means valid
	}{
		{"minimal", func(*Config) {}, ""},
		{"no ID", func(c *Config) { c.ID = "" }, "empty ID"},
		{"no bucket", func(c *Config) { c.Bucket = "" }, "no bucket"},
		{"access key without secret", func(c *Config) { c.AccessKeyID = "k" }, "both an access key"},
		{"secret without access key", func(c *Config) { c.SecretAccessKey = "s" }, "both an access key"},
		{"leading slash in prefix", func(c *Config) { c.Prefix = "/x" }, "must not start with '/'"},
		{"endpoint", func(c *Config) { c.Endpoint = "https://s3.example.com:9000" }, ""},
		{"endpoint without scheme", func(c *Config) { c.Endpoint = "127.0.0.1:7480" }, "not an http:// or https:// URL"},
		{"endpoint with another scheme", func(c *Config) { c.Endpoint = "ftp://host" }, "not an http:// or https:// URL"},
		{"endpoint without host", func(c *Config) { c.Endpoint = "http://" }, "not an http:// or https:// URL"},
		{"negative threshold", func(c *Config) { c.MultipartThreshold = -1 }, "multipart threshold"},
		{"threshold above 5 GiB", func(c *Config) { c.MultipartThreshold = MaxSinglePut + 1 }, "multipart threshold"},
		{"part below 5 MiB", func(c *Config) { c.PartSize = MinPartSize - 1 }, "part size"},
		{"small part with lowered minimum", func(c *Config) { c.PartSize = 1024; c.MinPartSize = 1024 }, ""},
		{"negative minimum part", func(c *Config) { c.MinPartSize = -1 }, "minimum part size"},
		{"negative concurrency", func(c *Config) { c.Concurrency = -1 }, "concurrency"},
		{"negative attempts", func(c *Config) { c.MaxAttempts = -1 }, "max attempts"},
		{"negative timeout", func(c *Config) { c.ResponseTimeout = -time.Second }, "response timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			b, err := newBackend(cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("newBackend: %v", err)
				}
				if b.threshold <= 0 || b.partSize < b.minPartSize || b.concurrency <= 0 {
					t.Errorf("defaults not applied: %+v", b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("newBackend error = %v; want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNewRegionDefaults(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	if _, err := New(context.Background(), Config{ID: "x", Bucket: "b", AccessKeyID: "k", SecretAccessKey: "s"}); err == nil || !strings.Contains(err.Error(), "no region") {
		t.Errorf("New without region or endpoint: %v; want a 'no region' error", err)
	}
	b, err := New(context.Background(), Config{ID: "x", Bucket: "b", Endpoint: "http://127.0.0.1:1", AccessKeyID: "k", SecretAccessKey: "s"})
	if err != nil {
		t.Fatalf("New with an endpoint and no region: %v", err)
	}
	if got := b.client.Options().Region; got != DefaultRegion {
		t.Errorf("region = %q; want %q", got, DefaultRegion)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		failures int // leading PutObject requests answered 503 SlowDown
		attempts int
		wantErr  error
		wantReqs int
	}{
		{"recovers", 2, 3, nil, 3},
		{"bounded", 100, 4, storage.ErrUnavailable, 4},
		{"one attempt", 100, 1, storage.ErrUnavailable, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var puts atomic.Int32
			srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
				if op == "PutObject" && int(puts.Add(1)) <= tt.failures {
					return s3Error(http.StatusServiceUnavailable, "SlowDown")
				}
				return nil
			})
			b := srv.newBackend(t, func(c *Config) { c.MaxAttempts = tt.attempts })
			data := []byte("retried")
			_, err := b.Put(t.Context(), content.FromBytes(data), int64(len(data)), bytes.NewReader(data))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Put = %v; want %v", err, tt.wantErr)
			}
			if got := int(puts.Load()); got != tt.wantReqs {
				t.Errorf("%d PutObject requests; want %d", got, tt.wantReqs)
			}
		})
	}
}

func TestHealthRetriesAtMostOnce(t *testing.T) {
	var heads atomic.Int32
	srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
		if op == "HeadBucket" {
			heads.Add(1)
			return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{}, Body: http.NoBody}
		}
		return nil
	})
	cfg := srv.config("bucket")
	cfg.MaxAttempts = 5
	b, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h := b.Health(t.Context()); h.Healthy {
		t.Errorf("Health = %+v; want unhealthy", h)
	}
	if n := heads.Load(); n != 2 {
		t.Errorf("%d HeadBucket requests; want 2", n)
	}
}

// failingBody yields some bytes, then the error a connection lost mid-body
// gives.
type failingBody struct{ n int }

func (f *failingBody) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func (f *failingBody) Close() error { return nil }

func TestGetTruncatedBodyIsUnavailable(t *testing.T) {
	srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
		if op != "GetObject" {
			return nil
		}
		return &http.Response{
			StatusCode:    http.StatusOK,
			Header:        http.Header{"Content-Length": {"1000"}},
			ContentLength: 1000,
			Body:          &failingBody{n: 500},
		}
	})
	b := srv.newBackend(t, nil)
	rc, err := b.Get(t.Context(), content.FromBytes([]byte("x")), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if n != 500 || !errors.Is(err, storage.ErrUnavailable) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read %d bytes, %v; want 500 and ErrUnavailable", n, err)
	}
}

func TestMissingCredentialsAreUnavailable(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	srv := newFake(t, nil, nil)
	cfg := srv.config("bucket")
	cfg.AccessKeyID, cfg.SecretAccessKey = "", ""
	b, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Head(t.Context(), content.FromBytes([]byte("x")))
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "no usable AWS credentials") {
		t.Errorf("Head without credentials = %v; want ErrUnavailable with a hint", err)
	}
	if h := b.Health(t.Context()); h.Healthy || !strings.Contains(h.Detail, "no usable AWS credentials") {
		t.Errorf("Health without credentials = %+v", h)
	}

	// The same configuration picks up keys from the environment.
	t.Setenv("AWS_ACCESS_KEY_ID", "from-env")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "from-env-secret")
	cfg.Bucket = srv.newBucket(t)
	if b, err = New(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if h := b.Health(t.Context()); !h.Healthy {
		t.Errorf("Health with keys in the environment = %+v; want healthy", h)
	}
}

// TestMarker: the store marker lives at <prefix>artstore-store.json, one
// per prefix (daemons sharing a bucket under one prefix share it), and
// Walk never reports it as a blob.
func TestMarker(t *testing.T) {
	srv := newFake(t, nil, nil)
	bucket := srv.newBucket(t)
	open := func(prefix string) *Backend {
		cfg := srv.config(bucket)
		cfg.Prefix = prefix
		b, err := New(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, other := open("team-a/"), open("team-b/")
	if _, err := a.ReadMarker(t.Context()); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ReadMarker before any: %v, want ErrNotFound", err)
	}
	for _, want := range []string{`{"format":1}`, `{"format":2}`} {
		if err := a.WriteMarker(t.Context(), []byte(want)); err != nil {
			t.Fatal(err)
		}
		if got, err := a.ReadMarker(t.Context()); err != nil || string(got) != want {
			t.Fatalf("ReadMarker = %q, %v; want %q", got, err, want)
		}
	}
	if keys := rawKeys(t, a); !slices.Equal(keys, []string{"team-a/" + storage.MarkerName}) {
		t.Errorf("bucket holds %v; want only team-a/%s", keys, storage.MarkerName)
	}
	if _, err := other.ReadMarker(t.Context()); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("another prefix sees the marker: %v", err)
	}
	n := 0
	if err := a.Walk(t.Context(), func(storage.Info) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("Walk saw %d blobs, %v; want none (the marker is not a blob)", n, err)
	}
}

// TestGetBare404 covers a GetObject 404 whose body names no S3 error code
// (a proxy's empty answer, or a body that could not be read): Get asks
// HeadBucket, so a vanished bucket reads as unavailable, never as a
// missing blob.
func TestGetBare404(t *testing.T) {
	d := content.FromBytes([]byte("anything"))
	for _, tt := range []struct {
		name          string
		bucketMissing bool
		want          error
	}{
		{"bucket present", false, storage.ErrNotFound},
		{"bucket missing", true, storage.ErrUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c counter
			srv := newFake(t, nil, func(op string, r *http.Request) *http.Response {
				c.hook(op, r)
				switch {
				case op == "GetObject", op == "HeadBucket" && tt.bucketMissing:
					return &http.Response{StatusCode: http.StatusNotFound, Header: http.Header{}, Body: http.NoBody}
				}
				return nil
			})
			b := srv.newBackend(t, nil)
			rc, err := b.Get(t.Context(), d, nil)
			if rc != nil {
				rc.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Get = %v; want %v", err, tt.want)
			}
			if c.count("HeadBucket") != 1 {
				t.Errorf("operations %v; want one HeadBucket to tell the bucket from the key", c.ops)
			}
		})
	}
}
