package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/transfer"
	"github.com/artifact-store/artstore/pkg/api"
)

// newOCIEnv is newEnv with the given /v2 options.
func newOCIEnv(t *testing.T, oci OCIOptions) *env {
	t.Helper()
	log, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "log.db"), eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	return newEnvOCI(t, log, oci)
}

func sha256Of(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// ociDo sends a /v2 request with the role's token as a Bearer ("" none).
func (e *env) ociDo(method, path, role string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	resp := e.request(method, path, role, r, hdr)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// ociCode is the first error code of an OCI error body.
func ociCode(t *testing.T, b []byte) string {
	t.Helper()
	var eb ociErrorBody
	if err := json.Unmarshal(b, &eb); err != nil || len(eb.Errors) == 0 {
		t.Fatalf("not an OCI error body: %s", b)
	}
	return eb.Errors[0].Code
}

func wantStatus(t *testing.T, what string, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d: %s", what, resp.StatusCode, want, body)
	}
}

// startUpload opens a session and returns its location.
func (e *env) startUpload(name, role string) string {
	e.t.Helper()
	resp, b := e.ociDo("POST", "/v2/"+name+"/blobs/uploads/", role, nil, nil)
	wantStatus(e.t.(*testing.T), "POST upload", resp, b, http.StatusAccepted)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/v2/"+name+"/blobs/uploads/") {
		e.t.Fatalf("Location %q", loc)
	}
	return loc
}

// getBlob reads a blob and checks its bytes and digest header.
func (e *env) getBlob(name, digest, role string, want []byte) {
	e.t.Helper()
	resp, b := e.ociDo("GET", "/v2/"+name+"/blobs/"+digest, role, nil, nil)
	wantStatus(e.t.(*testing.T), "GET blob", resp, b, http.StatusOK)
	if !bytes.Equal(b, want) || resp.Header.Get("Docker-Content-Digest") != digest {
		e.t.Fatalf("GET blob %s: %d bytes, digest header %q", digest, len(b), resp.Header.Get("Docker-Content-Digest"))
	}
}

func TestOCIAuth(t *testing.T) {
	e := newEnv(t)
	// No credentials: 401 with the Basic challenge.
	resp, b := e.ociDo("GET", "/v2/", "", nil, nil)
	wantStatus(t, "ping without credentials", resp, b, http.StatusUnauthorized)
	if resp.Header.Get("WWW-Authenticate") != `Basic realm="artstore"` || ociCode(t, b) != "UNAUTHORIZED" {
		t.Fatalf("challenge %q, body %s", resp.Header.Get("WWW-Authenticate"), b)
	}
	if v := resp.Header.Get("Docker-Distribution-API-Version"); v != "registry/2.0" {
		t.Errorf("401 ping: Docker-Distribution-API-Version %q", v)
	}
	// Bearer and Basic (any user name, the token as the password).
	resp, b = e.ociDo("GET", "/v2/", "read", nil, nil)
	wantStatus(t, "ping with Bearer", resp, b, http.StatusOK)
	if v := resp.Header.Get("Docker-Distribution-API-Version"); v != "registry/2.0" {
		t.Errorf("ping: Docker-Distribution-API-Version %q", v)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("whoever:"+e.tok["read"]))
	resp, b = e.ociDo("GET", "/v2/", "", nil, map[string]string{"Authorization": basic})
	wantStatus(t, "ping with Basic", resp, b, http.StatusOK)
	for _, h := range []string{"Basic !!!", "Basic " + base64.StdEncoding.EncodeToString([]byte("user-only")), "Digest x", "Bearer art_nope"} {
		resp, b = e.ociDo("GET", "/v2/", "", nil, map[string]string{"Authorization": h})
		wantStatus(t, "ping with "+h, resp, b, http.StatusUnauthorized)
	}
	for _, role := range []string{"expired", "revoked"} {
		resp, b = e.ociDo("GET", "/v2/", role, nil, nil)
		wantStatus(t, "ping with "+role, resp, b, http.StatusUnauthorized)
	}
	// Scopes: a read token cannot push or delete.
	resp, b = e.ociDo("POST", "/v2/a/b/blobs/uploads/", "read", nil, nil)
	wantStatus(t, "read token push", resp, b, http.StatusForbidden)
	if ociCode(t, b) != "DENIED" {
		t.Errorf("read token push: %s", b)
	}
	resp, b = e.ociDo("DELETE", "/v2/a/b/blobs/"+sha256Of(nil), "read", nil, nil)
	wantStatus(t, "read token delete", resp, b, http.StatusForbidden)
	// Prefixes, as on /v1: refused before any lookup.
	resp, b = e.ociDo("POST", "/v2/other/x/blobs/uploads/", "prefixed", nil, nil)
	wantStatus(t, "prefixed token outside its prefix", resp, b, http.StatusForbidden)
	resp, b = e.ociDo("GET", "/v2/other/x/blobs/"+sha256Of(nil), "prefixed-read", nil, nil)
	wantStatus(t, "prefixed-read token outside its prefix", resp, b, http.StatusForbidden)
	e.startUpload("team/x", "prefixed")
	// Anonymous pull is off by default.
	resp, b = e.ociDo("GET", "/v2/a/blobs/"+sha256Of(nil), "", nil, nil)
	wantStatus(t, "anonymous pull, off", resp, b, http.StatusUnauthorized)
}

func TestOCIAnonymousPull(t *testing.T) {
	e := newOCIEnv(t, OCIOptions{AnonymousPull: true})
	data := []byte("public bytes")
	d := sha256Of(data)
	resp, b := e.ociDo("POST", "/v2/pub/blobs/uploads/?digest="+d, "write", data, nil)
	wantStatus(t, "monolithic POST", resp, b, http.StatusCreated)
	e.getBlob("pub", d, "", data)
	resp, b = e.ociDo("GET", "/v2/", "", nil, nil)
	wantStatus(t, "anonymous ping", resp, b, http.StatusOK)
	// Never a push or a delete.
	resp, b = e.ociDo("POST", "/v2/pub/blobs/uploads/", "", nil, nil)
	wantStatus(t, "anonymous push", resp, b, http.StatusUnauthorized)
	resp, b = e.ociDo("DELETE", "/v2/pub/blobs/"+d, "", nil, nil)
	wantStatus(t, "anonymous delete", resp, b, http.StatusUnauthorized)
}

func TestOCIDisabled(t *testing.T) {
	e := newOCIEnv(t, OCIOptions{Disabled: true})
	resp, b := e.ociDo("GET", "/v2/", "read", nil, nil)
	wantStatus(t, "ping with /v2 off", resp, b, http.StatusNotFound)
}

func TestOCIBlobUploads(t *testing.T) {
	e := newEnv(t)
	small := []byte("hello, registry")
	big := randomBytes(t, 3<<20+17) // several chunks
	// Monolithic POST.
	resp, b := e.ociDo("POST", "/v2/r/blobs/uploads/?digest="+sha256Of(small), "write", small, nil)
	wantStatus(t, "monolithic POST", resp, b, http.StatusCreated)
	if resp.Header.Get("Location") != "/v2/r/blobs/"+sha256Of(small) {
		t.Errorf("Location %q", resp.Header.Get("Location"))
	}
	e.getBlob("r", sha256Of(small), "read", small)

	// POST + PUT with the body.
	loc := e.startUpload("r", "write")
	resp, b = e.ociDo("PUT", loc+"?digest="+sha256Of(big), "write", big, nil)
	wantStatus(t, "PUT", resp, b, http.StatusCreated)
	e.getBlob("r", sha256Of(big), "read", big)

	// Chunked PATCH, an out-of-order chunk answered 416 with the range.
	other := randomBytes(t, 5000)
	loc = e.startUpload("r", "write")
	resp, b = e.ociDo("PATCH", loc, "write", other[:2000], map[string]string{"Content-Range": "0-1999"})
	wantStatus(t, "PATCH 1", resp, b, http.StatusAccepted)
	if resp.Header.Get("Range") != "0-1999" {
		t.Errorf("Range after PATCH 1: %q", resp.Header.Get("Range"))
	}
	loc = resp.Header.Get("Location")
	resp, b = e.ociDo("PATCH", loc, "write", other[3000:], map[string]string{"Content-Range": "3000-4999"})
	wantStatus(t, "out-of-order PATCH", resp, b, http.StatusRequestedRangeNotSatisfiable)
	if resp.Header.Get("Range") != "0-1999" || resp.Header.Get("Location") == "" {
		t.Errorf("416 headers: Range %q Location %q", resp.Header.Get("Range"), resp.Header.Get("Location"))
	}
	resp, b = e.ociDo("GET", loc, "write", nil, nil)
	wantStatus(t, "status", resp, b, http.StatusNoContent)
	if resp.Header.Get("Range") != "0-1999" {
		t.Errorf("status Range %q", resp.Header.Get("Range"))
	}
	// A chunk whose Content-Length disagrees with its range changes nothing.
	resp, b = e.ociDo("PATCH", loc, "write", other[2000:2500], map[string]string{"Content-Range": "2000-2999"})
	wantStatus(t, "short chunk", resp, b, http.StatusBadRequest)
	resp, b = e.ociDo("PATCH", loc, "write", other[2000:3000], map[string]string{"Content-Range": "2000-2999"})
	wantStatus(t, "PATCH 2", resp, b, http.StatusAccepted)
	resp, b = e.ociDo("PUT", loc+"?digest="+sha256Of(other), "write", other[3000:], map[string]string{"Content-Range": "3000-4999"})
	wantStatus(t, "PUT last chunk", resp, b, http.StatusCreated)
	e.getBlob("r", sha256Of(other), "read", other)

	// Streamed PATCH (no Content-Range), then PUT without a body; sha512.
	loc = e.startUpload("r", "write")
	resp, b = e.ociDo("PATCH", loc, "write", small, nil)
	wantStatus(t, "streamed PATCH", resp, b, http.StatusAccepted)
	d512 := fmt.Sprintf("sha512:%x", sha512.Sum512(small))
	resp, b = e.ociDo("PUT", resp.Header.Get("Location")+"?digest="+d512, "write", nil, nil)
	wantStatus(t, "PUT sha512", resp, b, http.StatusCreated)
	e.getBlob("r", d512, "read", small)

	// Ranges.
	for _, c := range []struct {
		rng    string
		status int
		body   []byte
		cr     string
	}{
		{"bytes=10-19", http.StatusPartialContent, big[10:20], fmt.Sprintf("bytes 10-19/%d", len(big))},
		{"bytes=-5", http.StatusPartialContent, big[len(big)-5:], fmt.Sprintf("bytes %d-%d/%d", len(big)-5, len(big)-1, len(big))},
		{fmt.Sprintf("bytes=%d-", len(big)-3), http.StatusPartialContent, big[len(big)-3:], ""},
		{fmt.Sprintf("bytes=%d-", len(big)), http.StatusRequestedRangeNotSatisfiable, nil, fmt.Sprintf("bytes */%d", len(big))},
		{"bytes=500-0", http.StatusRequestedRangeNotSatisfiable, nil, ""},
	} {
		resp, b := e.ociDo("GET", "/v2/r/blobs/"+sha256Of(big), "read", nil, map[string]string{"Range": c.rng})
		wantStatus(t, "GET "+c.rng, resp, b, c.status)
		if c.body != nil && !bytes.Equal(b, c.body) {
			t.Errorf("GET %s: wrong bytes", c.rng)
		}
		if c.cr != "" && resp.Header.Get("Content-Range") != c.cr {
			t.Errorf("GET %s: Content-Range %q, want %q", c.rng, resp.Header.Get("Content-Range"), c.cr)
		}
	}
	// HEAD, then DELETE: gone from the repository, at once.
	resp, _ = e.ociDo("HEAD", "/v2/r/blobs/"+sha256Of(big), "read", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(big)) {
		t.Fatalf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	resp, b = e.ociDo("DELETE", "/v2/r/blobs/"+sha256Of(big), "write", nil, nil)
	wantStatus(t, "DELETE blob", resp, b, http.StatusAccepted)
	resp, _ = e.ociDo("HEAD", "/v2/r/blobs/"+sha256Of(big), "read", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD after DELETE: %d", resp.StatusCode)
	}
	resp, b = e.ociDo("DELETE", "/v2/r/blobs/"+sha256Of(big), "write", nil, nil)
	wantStatus(t, "second DELETE", resp, b, http.StatusNotFound)
	if ociCode(t, b) != "BLOB_UNKNOWN" {
		t.Errorf("second DELETE: %s", b)
	}
	// Cancel.
	loc = e.startUpload("r", "write")
	resp, b = e.ociDo("DELETE", loc, "write", nil, nil)
	wantStatus(t, "cancel", resp, b, http.StatusNoContent)
	resp, b = e.ociDo("GET", loc, "write", nil, nil)
	wantStatus(t, "status after cancel", resp, b, http.StatusNotFound)
	if ociCode(t, b) != "BLOB_UPLOAD_UNKNOWN" {
		t.Errorf("status after cancel: %s", b)
	}

	// The events carry the tokens' actors.
	var links, unlinks int
	err := e.log.Read(context.Background(), 0, func(ev eventlog.Event) error {
		switch ev.Type {
		case eventlog.TypeOCIBlobLinked:
			links++
			if ev.Actor != "writer" || ev.Subject != "oci:r" {
				t.Errorf("link event actor %q subject %q", ev.Actor, ev.Subject)
			}
		case eventlog.TypeOCIBlobUnlinked:
			unlinks++
		}
		return nil
	})
	if err != nil || links != 4 || unlinks != 1 {
		t.Errorf("events: %d links, %d unlinks, %v", links, unlinks, err)
	}
	// A second daemon on the same log and backend sees the blobs.
	srv2, err := New(Options{Registry: registry.New(e.log, app.Checker(e.backend), nil), Log: e.log, Backend: e.backend})
	if err != nil {
		t.Fatal(err)
	}
	resp = e.requestTo(srv2, "GET", "/v2/r/blobs/"+sha256Of(small), "read")
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, small) {
		t.Errorf("second daemon: %d %q", resp.StatusCode, b)
	}
}

// countBlobs counts the objects in the backend.
func countBlobs(t *testing.T, e *env) int {
	t.Helper()
	n := 0
	if err := e.backend.Walk(context.Background(), func(storage.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOCIDigestInvalidStoresNothing(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(t, 1<<20)
	wrong := sha256Of(append([]byte("x"), data...))
	before := countBlobs(t, e)
	resp, b := e.ociDo("POST", "/v2/r/blobs/uploads/?digest="+wrong, "write", data, nil)
	wantStatus(t, "monolithic POST, wrong digest", resp, b, http.StatusBadRequest)
	if ociCode(t, b) != "DIGEST_INVALID" {
		t.Errorf("wrong digest: %s", b)
	}
	loc := e.startUpload("r", "write")
	resp, b = e.ociDo("PUT", loc+"?digest="+wrong, "write", data, nil)
	wantStatus(t, "PUT, wrong digest", resp, b, http.StatusBadRequest)
	resp, b = e.ociDo("PUT", loc+"?digest="+sha256Of(data), "write", data, nil)
	wantStatus(t, "PUT to the ended session", resp, b, http.StatusNotFound)
	for _, bad := range []string{"sha256:abc", "md5:" + strings.Repeat("a", 32), "sha256:" + strings.Repeat("A", 64), ""} {
		loc := e.startUpload("r", "write")
		resp, b = e.ociDo("PUT", loc+"?digest="+bad, "write", data, nil)
		wantStatus(t, "PUT digest "+bad, resp, b, http.StatusBadRequest)
	}
	if after := countBlobs(t, e); after != before {
		t.Errorf("the backend went from %d to %d objects after refused uploads", before, after)
	}
	resp, _ = e.ociDo("HEAD", "/v2/r/blobs/"+wrong, "read", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of the refused digest: %d", resp.StatusCode)
	}
}

func TestOCIUploadSessionBoundToToken(t *testing.T) {
	e := newEnv(t)
	loc := e.startUpload("team/r", "write")
	if id := loc[strings.LastIndexByte(loc, '/')+1:]; len(id) != 26 {
		t.Errorf("session id %q: want 26 base32 characters (128 bits)", id)
	}
	for _, role := range []string{"admin", "prefixed"} {
		resp, b := e.ociDo("PATCH", loc, role, []byte("x"), nil)
		wantStatus(t, "PATCH by "+role, resp, b, http.StatusNotFound)
		if ociCode(t, b) != "BLOB_UPLOAD_UNKNOWN" {
			t.Errorf("PATCH by %s: %s", role, b)
		}
	}
	// The same session under another repository's path is unknown too.
	other := strings.Replace(loc, "/v2/team/r/", "/v2/team/s/", 1)
	resp, b := e.ociDo("GET", other, "write", nil, nil)
	wantStatus(t, "session under another repository", resp, b, http.StatusNotFound)
	resp, b = e.ociDo("GET", loc, "write", nil, nil)
	wantStatus(t, "owner's status", resp, b, http.StatusNoContent)
}

func TestOCIUploadExpiry(t *testing.T) {
	e := newOCIEnv(t, OCIOptions{UploadExpiry: time.Hour})
	loc := e.startUpload("r", "write")
	resp, b := e.ociDo("PATCH", loc, "write", []byte("some bytes"), nil)
	wantStatus(t, "PATCH", resp, b, http.StatusAccepted)
	idle := e.startUpload("r", "write")
	e.clock.Add(59 * time.Minute)
	resp, b = e.ociDo("GET", loc, "write", nil, nil) // a request keeps a session alive
	wantStatus(t, "status within the expiry", resp, b, http.StatusNoContent)
	e.clock.Add(2 * time.Minute)
	if n := e.srv.uploads.Len(); n != 2 {
		t.Fatalf("%d sessions before the reap, want 2", n)
	}
	// Opening a session reaps the expired one and closes its file.
	idleID := idle[strings.LastIndexByte(idle, '/')+1:]
	e.srv.uploads.mu.Lock()
	u := e.srv.uploads.m[idleID]
	e.srv.uploads.mu.Unlock()
	e.startUpload("r", "write")
	if n := e.srv.uploads.Len(); n != 2 {
		t.Errorf("%d sessions after the reap, want 2 (the live one and the new one)", n)
	}
	if _, err := u.f.Stat(); err == nil {
		t.Error("the expired session's file is still open")
	}
	resp, b = e.ociDo("GET", idle, "write", nil, nil)
	wantStatus(t, "expired session", resp, b, http.StatusNotFound)
	e.clock.Add(2 * time.Hour)
	resp, b = e.ociDo("PATCH", loc, "write", []byte("more"), nil)
	wantStatus(t, "PATCH after expiry", resp, b, http.StatusNotFound)
}

// blockingReader yields a first piece, then blocks until released.
type blockingReader struct {
	first   []byte
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if len(r.first) > 0 {
		n := copy(p, r.first)
		r.first = r.first[n:]
		return n, nil
	}
	r.once.Do(func() { close(r.started) })
	<-r.release
	return 0, io.EOF
}

func TestOCIConcurrentPatchesDoNotInterleave(t *testing.T) {
	e := newEnv(t)
	loc := e.startUpload("r", "write")
	br := &blockingReader{first: []byte("first writer "), started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest("PATCH", e.ts.URL+loc, br)
		req.Header.Set("Authorization", "Bearer "+e.tok["write"])
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-br.started
	id := loc[strings.LastIndexByte(loc, '/')+1:]
	for deadline := time.Now().Add(10 * time.Second); ; {
		e.srv.uploads.mu.Lock()
		u := e.srv.uploads.m[id]
		e.srv.uploads.mu.Unlock()
		if u.busy.Load() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first PATCH never reached the session")
		}
		time.Sleep(time.Millisecond)
	}
	resp, b := e.ociDo("PATCH", loc, "write", []byte("second writer"), nil)
	wantStatus(t, "concurrent PATCH", resp, b, http.StatusConflict)
	resp, b = e.ociDo("PUT", loc+"?digest="+sha256Of([]byte("x")), "write", nil, nil)
	wantStatus(t, "concurrent PUT", resp, b, http.StatusConflict)
	close(br.release)
	if status := <-done; status != http.StatusAccepted {
		t.Fatalf("first PATCH: %d", status)
	}
	want := []byte("first writer ")
	resp, b = e.ociDo("PUT", loc+"?digest="+sha256Of(want), "write", nil, nil)
	wantStatus(t, "PUT", resp, b, http.StatusCreated)
	e.getBlob("r", sha256Of(want), "read", want)
}

// TestOCIDeduplicatesWithPush: bytes already stored by a push (the
// transfer pipeline `artstore push` runs) store nothing new when uploaded
// as an OCI blob, and the metrics say so.
func TestOCIDeduplicatesWithPush(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(t, 5<<20)
	if _, err := transfer.Push(context.Background(), bytes.NewReader(data), transfer.FromBackend(e.backend), transfer.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	before := countBlobs(t, e)
	in0 := e.srv.metrics.blobBytesIn.Load()
	resp, b := e.ociDo("POST", "/v2/r/blobs/uploads/?digest="+sha256Of(data), "write", data, nil)
	wantStatus(t, "upload of pushed bytes", resp, b, http.StatusCreated)
	if after := countBlobs(t, e); after != before {
		t.Errorf("backend objects %d -> %d: the upload stored something new", before, after)
	}
	if in := e.srv.metrics.blobBytesIn.Load() - in0; in != 0 {
		t.Errorf("artstore_blob_bytes_in_total grew by %d", in)
	}
	if d := e.srv.metrics.ociDedupBytes.Load(); d != int64(len(data)) {
		t.Errorf("artstore_oci_dedup_bytes_total = %d, want %d", d, len(data))
	}
	_, b = e.ociDo("GET", "/metrics", "", nil, nil)
	if !bytes.Contains(b, []byte(fmt.Sprintf("artstore_oci_dedup_bytes_total %d", len(data)))) {
		t.Errorf("/metrics lacks the dedup counter:\n%s", b)
	}
	e.getBlob("r", sha256Of(data), "read", data)
	// A blob whose chunks went (gc) is unknown, not a broken stream.
	var m content.Digest
	_ = e.log.Read(context.Background(), 0, func(ev eventlog.Event) error {
		if ev.Type == eventlog.TypeOCIBlobLinked {
			var p eventlog.OCIBlobLinked
			if err := json.Unmarshal(ev.Payload, &p); err == nil {
				m = p.Manifest
			}
		}
		return nil
	})
	if _, err := e.backend.Delete(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	resp, _ = e.ociDo("HEAD", "/v2/r/blobs/"+sha256Of(data), "read", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of a collected blob: %d", resp.StatusCode)
	}
}

func TestOCIMount(t *testing.T) {
	e := newEnv(t)
	data := []byte("mount me")
	d := sha256Of(data)
	resp, b := e.ociDo("POST", "/v2/team/src/blobs/uploads/?digest="+d, "write", data, nil)
	wantStatus(t, "upload", resp, b, http.StatusCreated)
	resp, b = e.ociDo("POST", "/v2/team/dst/blobs/uploads/?mount="+d+"&from=team/src", "prefixed", nil, nil)
	wantStatus(t, "mount", resp, b, http.StatusCreated)
	e.getBlob("team/dst", d, "prefixed-read", data)
	// Mounting from a repository that lacks the blob opens a session.
	resp, b = e.ociDo("POST", "/v2/team/dst2/blobs/uploads/?mount="+sha256Of([]byte("nope"))+"&from=team/src", "prefixed", nil, nil)
	wantStatus(t, "mount of a missing blob", resp, b, http.StatusAccepted)
	// A prefixed token gets a session, not the blob, for an anonymous
	// mount or a mount from outside its prefix.
	resp, b = e.ociDo("POST", "/v2/other/src/blobs/uploads/?digest="+d, "write", data, nil)
	wantStatus(t, "upload outside the prefix", resp, b, http.StatusCreated)
	resp, b = e.ociDo("DELETE", "/v2/team/src/blobs/"+d, "write", nil, nil)
	wantStatus(t, "unlink", resp, b, http.StatusAccepted)
	resp, b = e.ociDo("DELETE", "/v2/team/dst/blobs/"+d, "write", nil, nil)
	wantStatus(t, "unlink", resp, b, http.StatusAccepted)
	resp, b = e.ociDo("POST", "/v2/team/dst/blobs/uploads/?mount="+d, "prefixed", nil, nil)
	wantStatus(t, "anonymous mount by a prefixed token", resp, b, http.StatusAccepted)
	resp, b = e.ociDo("POST", "/v2/team/dst/blobs/uploads/?mount="+d+"&from=other/src", "prefixed", nil, nil)
	wantStatus(t, "mount from outside the prefix", resp, b, http.StatusAccepted)
	// A token without a prefix mounts anonymously.
	resp, b = e.ociDo("POST", "/v2/mine/blobs/uploads/?mount="+d, "write", nil, nil)
	wantStatus(t, "anonymous mount", resp, b, http.StatusCreated)
	e.getBlob("mine", d, "read", data)
}

func TestOCIHostile(t *testing.T) {
	e := newOCIEnv(t, OCIOptions{MaxBlob: 1000})
	loc := e.startUpload("r", "write")
	resp, b := e.ociDo("PATCH", loc, "write", make([]byte, 1001), nil)
	wantStatus(t, "oversized PATCH", resp, b, http.StatusRequestEntityTooLarge)
	resp, b = e.ociDo("PATCH", loc, "write", make([]byte, 600), map[string]string{"Content-Range": "0-599"})
	wantStatus(t, "PATCH", resp, b, http.StatusAccepted)
	resp, b = e.ociDo("PATCH", loc, "write", make([]byte, 500), map[string]string{"Content-Range": "600-1099"})
	wantStatus(t, "PATCH past the limit", resp, b, http.StatusRequestEntityTooLarge)
	for _, cr := range []string{"x-y", "5-3", "-1-5", "1-", "99999999999999999999-1"} {
		resp, b = e.ociDo("PATCH", loc, "write", []byte("z"), map[string]string{"Content-Range": cr})
		wantStatus(t, "Content-Range "+cr, resp, b, http.StatusBadRequest)
	}
	// The failures left the session as it was.
	resp, b = e.ociDo("GET", loc, "write", nil, nil)
	wantStatus(t, "status", resp, b, http.StatusNoContent)
	if resp.Header.Get("Range") != "0-599" {
		t.Errorf("Range after refused chunks: %q", resp.Header.Get("Range"))
	}
	resp, b = e.ociDo("PUT", loc+"?digest="+sha256Of(make([]byte, 600)), "write", nil, nil)
	wantStatus(t, "PUT", resp, b, http.StatusCreated)
	// Names and paths.
	for _, p := range []string{"/v2/UPPER/blobs/uploads/", "/v2/a--/blobs/uploads/", "/v2/-a/blobs/uploads/"} {
		resp, b = e.ociDo("POST", p, "write", nil, nil)
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d %s", p, resp.StatusCode, b)
		}
	}
	resp, b = e.ociDo("GET", "/v2/r/blobs/"+strings.Repeat("a", 5000), "read", nil, nil)
	wantStatus(t, "overlong path", resp, b, http.StatusNotFound)
	resp, b = e.ociDo("GET", "/v2/r/blobs/sha256:zz", "read", nil, nil)
	wantStatus(t, "malformed digest", resp, b, http.StatusBadRequest)
	if ociCode(t, b) != "DIGEST_INVALID" {
		t.Errorf("malformed digest: %s", b)
	}
	resp, b = e.ociDo("GET", "/v2/r/nothing/here", "read", nil, nil)
	wantStatus(t, "unknown path", resp, b, http.StatusNotFound)
}

// TestOCIStreamTreeBlobs: a directory artifact in the stream layout (what
// artstore push writes) is served through /v2 with one layer per file;
// each file is a blob of the repository, a verified section of the tree's
// stream, whole or by Range, and it cannot be mounted elsewhere (the
// client uploads it).
func TestOCIStreamTreeBlobs(t *testing.T) {
	e := newEnv(t)
	src := t.TempDir()
	files := map[string][]byte{"a.txt": []byte("alpha"), "sub/b.bin": randomBytes(t, 300<<10), "sub/c.bin": randomBytes(t, 70<<10), "z/empty": nil}
	for p, b := range files {
		full := filepath.Join(src, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := transfer.PushTree(context.Background(), src, transfer.FromBackend(e.backend), transfer.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.doJSON("POST", "/v1/artifacts", "admin", api.RegisterRequest{Name: "sites/s", ContentDigest: tr.ContentDigest.String(),
		ManifestDigest: tr.ManifestDigest.String(), Size: tr.Size, MediaType: api.TreeMediaType}, http.StatusCreated, nil)

	resp, body := e.ociDo("GET", "/v2/sites/s/manifests/latest", "read", nil, map[string]string{"Accept": app.OCIManifestType})
	wantStatus(t, "GET manifest", resp, body, http.StatusOK)
	var doc struct {
		Layers []struct {
			Digest      string            `json:"digest"`
			Size        int64             `json:"size"`
			Annotations map[string]string `json:"annotations"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Layers) != len(files) {
		t.Fatalf("manifest with %d layers (%v), want %d: %s", len(doc.Layers), err, len(files), body)
	}
	for _, l := range doc.Layers {
		want, ok := files[l.Annotations["org.opencontainers.image.title"]]
		if !ok || l.Digest != sha256Of(want) || l.Size != int64(len(want)) {
			t.Fatalf("layer %+v matches no file", l)
		}
		e.getBlob("sites/s", l.Digest, "read", want)
	}
	big := files["sub/b.bin"]
	resp, body = e.ociDo("GET", "/v2/sites/s/blobs/"+sha256Of(big), "read", nil, map[string]string{"Range": "bytes=100-200099"})
	wantStatus(t, "GET a range", resp, body, http.StatusPartialContent)
	if !bytes.Equal(body, big[100:200100]) || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-200099/%d", len(big)) {
		t.Fatalf("range: %d bytes, Content-Range %q", len(body), resp.Header.Get("Content-Range"))
	}
	resp, body = e.ociDo("POST", "/v2/copies/s/blobs/uploads/?mount="+sha256Of(big)+"&from=sites/s", "write", nil, nil)
	wantStatus(t, "mount of a file of a stream tree", resp, body, http.StatusAccepted)
}

// TestOCIUploadDirCreated: an upload directory that does not exist yet is
// created (mode 0700) when the server starts, so the first upload works;
// one that cannot be created fails New, not every upload later.
func TestOCIUploadDirCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet")
	e := newOCIEnv(t, OCIOptions{UploadDir: dir})
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("upload dir after New: %v, %v; want a 0700 directory", fi, err)
	}
	data := []byte("first upload")
	resp, b := e.ociDo("POST", "/v2/r/blobs/uploads/?digest="+sha256Of(data), "write", data, nil)
	wantStatus(t, "upload", resp, b, http.StatusCreated)

	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	log, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "log.db"), eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	be, err := local.New("default", filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{Registry: registry.New(log, nil, nil), Log: log, Backend: be, OCI: OCIOptions{UploadDir: filepath.Join(file, "uploads")}})
	if err == nil || !strings.Contains(err.Error(), "upload directory") {
		t.Fatalf("New with an upload dir under a file: %v; want an error naming the upload directory", err)
	}
}

// TestOCISmallBlobVerified: a small blob is served from its one chunk,
// whole or by Range, and a chunk whose bytes were damaged is never sent:
// the GET fails before the status line.
func TestOCISmallBlobVerified(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(t, 4096)
	a := e.register("small/s", data)
	e.getBlob("small/s", a.ContentDigest, "read", data)
	resp, body := e.ociDo("GET", "/v2/small/s/blobs/"+a.ContentDigest, "read", nil, map[string]string{"Range": "bytes=10-19"})
	wantStatus(t, "GET a range", resp, body, http.StatusPartialContent)
	if !bytes.Equal(body, data[10:20]) {
		t.Fatalf("range: %q, want %q", body, data[10:20])
	}
	p := filepath.Join(e.backend.Root(), filepath.FromSlash(content.MustParseDigest(a.ContentDigest).Key()))
	bad := bytes.Clone(data)
	bad[100] ^= 1
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, hdr := range []map[string]string{nil, {"Range": "bytes=0-9"}} {
		resp, body = e.ociDo("GET", "/v2/small/s/blobs/"+a.ContentDigest, "read", nil, hdr)
		if resp.StatusCode < 500 || bytes.Contains(body, bad[:10]) {
			t.Fatalf("GET of a damaged blob (%v): %d, %d bytes; want a 5xx without its bytes", hdr, resp.StatusCode, len(body))
		}
	}
}

// TestOCIWholeBlobStreamed: a blob sent whole in one body (a monolithic
// POST, or the closing PUT of an empty session, as oras sends it) is
// stored as it arrives, without the session's spool: it works with the
// upload directory gone, and a wrong digest still stores nothing.
func TestOCIWholeBlobStreamed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "uploads")
	e := newOCIEnv(t, OCIOptions{UploadDir: dir})
	data := randomBytes(t, 3<<20)
	// Sessions opened while the directory is there; their spool files
	// are open already.
	wrongLoc, rightLoc := e.startUpload("r", "write"), e.startUpload("r", "write")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	before := countBlobs(t, e)
	resp, b := e.ociDo("PUT", wrongLoc+"?digest="+sha256Of(append([]byte("x"), data...)), "write", data, nil)
	wantStatus(t, "PUT, wrong digest", resp, b, http.StatusBadRequest)
	if ociCode(t, b) != "DIGEST_INVALID" || countBlobs(t, e) != before {
		t.Fatalf("a refused streamed PUT: %s; %d objects, had %d", b, countBlobs(t, e), before)
	}
	resp, b = e.ociDo("PUT", rightLoc+"?digest="+sha256Of(data), "write", data, nil)
	wantStatus(t, "PUT of the whole blob", resp, b, http.StatusCreated)
	e.getBlob("r", sha256Of(data), "read", data)
	other := randomBytes(t, 1<<20)
	resp, b = e.ociDo("POST", "/v2/r/blobs/uploads/?digest="+sha256Of(other), "write", other, nil)
	wantStatus(t, "monolithic POST", resp, b, http.StatusCreated)
	e.getBlob("r", sha256Of(other), "read", other)
}

// TestOCIDamagedChunkRefused: a blob stored as several chunks, one of them
// damaged on disk, is never served with the damaged chunk's bytes: a GET of
// the whole blob sends at most the verified chunks before it and then
// fails (the status line and those bytes may be out; the body then ends
// short), a Range starting in the damaged chunk fails before the status
// line, and a Range that does not touch it is served.
func TestOCIDamagedChunkRefused(t *testing.T) {
	e := newEnv(t)
	data := randomBytes(t, 12<<20)
	resp, b := e.ociDo("POST", "/v2/big/b/blobs/uploads/?digest="+sha256Of(data), "write", data, nil)
	wantStatus(t, "upload", resp, b, http.StatusCreated)
	path, off, size := laterChunk(t, e.backend.Root(), data)
	bad, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad[size/2] ^= 1
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	url := "/v2/big/b/blobs/" + sha256Of(data)

	got, status, readErr := e.readAllowingAbort(url, nil)
	if status == http.StatusOK && readErr == nil && len(got) == len(data) {
		t.Fatalf("GET of a blob with a damaged chunk: 200 with all %d bytes", len(got))
	}
	if int64(len(got)) > off || !bytes.Equal(got, data[:len(got)]) {
		t.Fatalf("GET of a blob with a damaged chunk (at %d): %d bytes sent (%v), some of them not the blob's verified bytes", off, len(got), readErr)
	}

	rng := map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off+10, off+size+100)}
	resp, b = e.ociDo("GET", url, "read", nil, rng)
	if resp.StatusCode < 500 || bytes.Contains(b, bad[10:30]) {
		t.Fatalf("Range in the damaged chunk: %d, %d bytes; want a 5xx without its bytes", resp.StatusCode, len(b))
	}

	resp, b = e.ociDo("GET", url, "read", nil, map[string]string{"Range": "bytes=0-99"})
	wantStatus(t, "Range before the damaged chunk", resp, b, http.StatusPartialContent)
	if !bytes.Equal(b, data[:100]) {
		t.Fatal("Range before the damaged chunk: wrong bytes")
	}
}

// laterChunk finds, among the blobs under root, a chunk of data that is
// not its first (data is random: a blob whose bytes occur in it is one of
// its chunks), and returns its file, offset in data and size.
func laterChunk(t *testing.T, root string, data []byte) (path string, off, size int64) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || path != "" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if i := bytes.Index(data, b); len(b) >= 4096 && len(b) < len(data) && i > 0 {
			path, off, size = p, int64(i), int64(len(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if path == "" {
		t.Fatalf("no chunk of the %d bytes past their first under %s", len(data), root)
	}
	return path, off, size
}

// readAllowingAbort GETs path as "read" and returns the body read until the
// server ended it, the status, and the error that ended the read (nil at
// a clean end).
func (e *env) readAllowingAbort(path string, hdr map[string]string) ([]byte, int, error) {
	e.t.Helper()
	resp := e.request("GET", path, "read", nil, hdr)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}
