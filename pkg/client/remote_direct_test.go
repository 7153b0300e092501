package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/server"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/backends"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
	"github.com/artifact-store/artstore/pkg/api"
	"github.com/artifact-store/artstore/pkg/client"
)

// directDaemon is a daemon with direct transfers on, over a local backend
// wrapped in the test presigner (storagetest.Presigning), with tokens of
// each scope and a write token limited to "team/".
type directDaemon struct {
	*daemon
	ps  *storagetest.Presigning
	log eventlog.Store
}

func startDirectDaemon(t *testing.T) *directDaemon {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	log, err := sqlite.Open(ctx, filepath.Join(dir, "artstore.db"), eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	lb, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ps := storagetest.NewPresigning(t, lb)
	srv, err := server.New(server.Options{Registry: registry.New(log, app.Checker(ps), nil), Log: log, Backend: ps, BackendType: "s3",
		PollInterval: 10 * time.Millisecond, Direct: true})
	if err != nil {
		t.Fatal(err)
	}
	if !srv.Direct() {
		t.Fatal("direct transfers are off on a daemon whose backend presigns")
	}
	d := &daemon{srv: srv, be: lb, token: map[string]string{}}
	for name, spec := range map[string]auth.Spec{
		"read": {Name: "read-bot", Scope: auth.ScopeRead}, "write": {Name: "write-bot", Scope: auth.ScopeWrite},
		"admin": {Name: "admin-bot", Scope: auth.ScopeAdmin}, "team": {Name: "team-bot", Scope: auth.ScopeWrite, Prefix: "team/"},
	} {
		secret, _, err := srv.Tokens().Create(ctx, "test", spec)
		if err != nil {
			t.Fatal(err)
		}
		d.token[name] = secret
	}
	d.ts = httptest.NewServer(srv)
	t.Cleanup(d.ts.Close)
	return &directDaemon{daemon: d, ps: ps, log: log}
}

// metric reads one counter of the daemon's /metrics.
func (d *directDaemon) metric(t *testing.T, name string) int64 { return metricAt(t, d.ts.URL, name) }

// metricAt reads one counter of the /metrics of the daemon at url.
func metricAt(t *testing.T, url, name string) int64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no metric %s in /metrics of %s", name, url)
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

// retrievals returns the retrieval records in the log.
func (d *directDaemon) retrievals(t *testing.T) []eventlog.ArtifactRetrieved {
	t.Helper()
	var out []eventlog.ArtifactRetrieved
	err := d.log.Read(context.Background(), 0, func(ev eventlog.Event) error {
		if ev.Type == eventlog.TypeArtifactRetrieved {
			var r eventlog.ArtifactRetrieved
			if err := json.Unmarshal(ev.Payload, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRemoteDirect pushes and pulls through a daemon with direct
// transfers: every byte moves between the client and the presigning
// server, none through the daemon (its blob byte counters stay 0); the
// pulled bytes are right, whole, ranged and to a path; each pull appends
// exactly one retrieval record with the bytes it was granted; a token
// limited to a prefix pulls its own artifacts directly and is refused
// other ones.
func TestRemoteDirect(t *testing.T) {
	ctx := context.Background()
	d := startDirectDaemon(t)
	w := d.open(t, "write")
	dir := t.TempDir()
	path, data := randomFile(t, dir, "big.bin", 9<<20+77, 7)
	res, err := w.Push(ctx, client.PushRequest{Path: path, Name: "team/app"})
	if err != nil {
		t.Fatal(err)
	}
	if d.ps.Puts.Load() < 2 || d.ps.Bytes.Load() < int64(len(data)) {
		t.Errorf("presigned PUTs: %d carrying %d bytes; want the chunks and the manifest (%d bytes and more)", d.ps.Puts.Load(), d.ps.Bytes.Load(), len(data))
	}
	// A second push of the same bytes uploads nothing.
	puts := d.ps.Puts.Load()
	if _, err := w.Push(ctx, client.PushRequest{Path: path, Name: "team/app"}); err != nil {
		t.Fatal(err)
	}
	if d.ps.Puts.Load() != puts {
		t.Errorf("a deduplicated push sent %d presigned PUTs", d.ps.Puts.Load()-puts)
	}

	for _, tok := range []string{"read", "team"} {
		r := d.open(t, tok)
		var buf bytes.Buffer
		if _, err := r.Pull(ctx, res.Ref, &buf, client.PullOptions{}); err != nil || !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("%s: pull: %v, equal=%v", tok, err, bytes.Equal(buf.Bytes(), data))
		}
		buf.Reset()
		pr, err := r.Pull(ctx, res.Ref, &buf, client.PullOptions{Range: "3000000-5000000"})
		if err != nil || !bytes.Equal(buf.Bytes(), data[3000000:5000001]) || pr.Bytes != 2000001 {
			t.Fatalf("%s: range pull: %v, %+v", tok, err, pr)
		}
		out := filepath.Join(dir, tok+".out")
		if _, err := r.PullToPath(ctx, res.Ref, out, client.PullOptions{}); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
			t.Fatalf("%s: PullToPath wrote other bytes", tok)
		}
	}
	recs := d.retrievals(t)
	if len(recs) != 6 {
		t.Fatalf("%d retrieval records for 6 pulls", len(recs))
	}
	for i, want := range []struct {
		bytes int64
		rng   string
	}{{int64(len(data)), ""}, {2000001, "3000000-5000000"}, {int64(len(data)), ""}} {
		for _, rec := range []eventlog.ArtifactRetrieved{recs[i], recs[i+3]} {
			if rec.Bytes != want.bytes || rec.Range != want.rng {
				t.Errorf("record %d = %+v; want %d bytes, range %q", i, rec, want.bytes, want.rng)
			}
		}
	}
	if in, out := d.metric(t, "artstore_blob_bytes_in_total"), d.metric(t, "artstore_blob_bytes_out_total"); in != 0 || out != 0 {
		t.Errorf("the daemon moved %d bytes in and %d out; want 0 with direct transfers", in, out)
	}
	if d.metric(t, "artstore_direct_transfers") != 1 {
		t.Error("artstore_direct_transfers is not 1")
	}

	// A prefix token: refused another prefix's artifact, before any URL.
	other, err := w.Push(ctx, client.PushRequest{Path: path, Name: "other/app"})
	if err != nil {
		t.Fatal(err)
	}
	team := d.open(t, "team")
	if _, err := team.Pull(ctx, other.Ref, io.Discard, client.PullOptions{}); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("team token pulling %s: %v; want ErrForbidden", other.Ref, err)
	}
}

// TestRemoteDirectGrants checks the chunk URL pages against forged
// grants: a grant must be the caller's own retrieval record of that
// artifact and range.
func TestRemoteDirectGrants(t *testing.T) {
	ctx := context.Background()
	d := startDirectDaemon(t)
	w := d.open(t, "write")
	path, _ := randomFile(t, t.TempDir(), "f.bin", 3<<20, 9)
	own, err := w.Push(ctx, client.PushRequest{Path: path, Name: "team/a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Push(ctx, client.PushRequest{Path: path, Name: "other/b"}); err != nil {
		t.Fatal(err)
	}
	grant := func(tok, ref string) api.PullGrant {
		var g api.PullGrant
		d.call(t, tok, "POST", "/v1/artifact/pulls?ref="+ref, nil, http.StatusOK, &g)
		if g.Direct == nil {
			t.Fatalf("grant of %s has no direct part: %+v", ref, g)
		}
		return g
	}
	gOther := grant("write", "other/b:1")
	gOwn := grant("team", own.Ref)
	urls := func(tok, ref string, g int64, rng string, status int) {
		t.Helper()
		q := fmt.Sprintf("/v1/artifact/pulls/urls?ref=%s&grant=%d", ref, g)
		if rng != "" {
			q += "&range=" + rng
		}
		var out api.PullURLs
		d.call(t, tok, "POST", q, nil, status, &out)
		if status == http.StatusOK && (len(out.Chunks) == 0 || !out.Done) {
			t.Errorf("pull URLs = %+v; want the chunks, done", out)
		}
	}
	urls("team", own.Ref, gOwn.Direct.Grant, "", http.StatusOK)
	urls("team", "other/b:1", gOther.Direct.Grant, "", http.StatusForbidden) // outside the prefix
	urls("team", own.Ref, gOther.Direct.Grant, "", http.StatusForbidden)     // another artifact's grant
	urls("read", own.Ref, gOwn.Direct.Grant, "", http.StatusForbidden)       // another token's grant
	urls("team", own.Ref, gOwn.Direct.Grant, "0-9", http.StatusForbidden)    // another range
	urls("team", own.Ref, 999999, "", http.StatusForbidden)                  // no such event
}

// TestRemoteDirectLyingClient: a client that sends other bytes than it
// announced to a presigned upload is refused by the backend, and its
// register fails with missing_blobs: nothing is registered.
func TestRemoteDirectLyingClient(t *testing.T) {
	d := startDirectDaemon(t)
	good := bytes.Repeat([]byte("announced bytes "), 1000)
	bad := bytes.Repeat([]byte("other bytes!!!! "), 1000)
	dg := content.FromBytes(good)
	var miss api.MissingResponse
	d.call(t, "write", "POST", "/v1/blobs/missing", api.MissingRequest{Digests: []string{dg.String()}, Sizes: []int64{int64(len(good))}}, http.StatusOK, &miss)
	if len(miss.Uploads) != 1 {
		t.Fatalf("missing check answered %+v; want one presigned upload", miss)
	}
	up := storage.SignedRequest{Method: miss.Uploads[0].Method, URL: miss.Uploads[0].URL, Header: miss.Uploads[0].Header}
	if st, _ := storagetest.SendSigned(t, up, bad, nil); st < 300 {
		t.Fatalf("presigned upload of other bytes answered %d", st)
	}
	if _, err := d.ps.Head(context.Background(), dg); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after the refused upload, Head = %v; want not found", err)
	}
	m := content.Manifest{Kind: content.KindFile, Size: int64(len(good)), Digest: dg, Chunker: content.DefaultChunkerParams(),
		Chunks: []content.ChunkRef{{Digest: dg, Size: int64(len(good))}}}
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	md := content.FromBytes(mb)
	if _, err := d.ps.Put(context.Background(), md, int64(len(mb)), bytes.NewReader(mb)); err != nil {
		t.Fatal(err)
	}
	req := api.RegisterRequest{Name: "team/lie", ContentDigest: dg.String(), ManifestDigest: md.String(), Size: int64(len(good))}
	var er api.ErrorResponse
	d.call(t, "write", "POST", "/v1/artifacts", req, http.StatusConflict, &er)
	if er.Error.Code != "missing_blobs" {
		t.Errorf("register answered %+v; want missing_blobs", er)
	}
	if _, err := d.open(t, "read").Get(context.Background(), "team/lie"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Get after the refused register: %v; want not found", err)
	}
	// A read token gets no uploads: it may not store blobs.
	miss = api.MissingResponse{}
	d.call(t, "read", "POST", "/v1/blobs/missing", api.MissingRequest{Digests: []string{dg.String()}, Sizes: []int64{int64(len(good))}}, http.StatusOK, &miss)
	if len(miss.Uploads) != 0 {
		t.Errorf("a read token got %d presigned uploads", len(miss.Uploads))
	}
}

// call sends a JSON request with the token and decodes the answer.
func (d *directDaemon) call(t *testing.T, tok, method, path string, body any, status int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.ts.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+d.token[tok])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d %s; want %d", method, path, resp.StatusCode, b, status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// TestRemoteDirectPages pulls an artifact of more chunks than one page of
// URLs holds (app.PullURLPage): the client asks for the pages as it goes,
// whole and for a range that starts and ends inside pages.
func TestRemoteDirectPages(t *testing.T) {
	ctx := context.Background()
	d := startDirectDaemon(t)
	n := app.PullURLPage + 60
	var data []byte
	m := content.Manifest{Kind: content.KindFile, Chunker: content.DefaultChunkerParams()}
	for i := range n {
		c := []byte(fmt.Sprintf("chunk %05d of the paged artifact;", i))
		dc := content.FromBytes(c)
		if _, err := d.ps.Put(ctx, dc, int64(len(c)), bytes.NewReader(c)); err != nil {
			t.Fatal(err)
		}
		m.Chunks = append(m.Chunks, content.ChunkRef{Digest: dc, Size: int64(len(c))})
		data = append(data, c...)
	}
	m.Size, m.Digest = int64(len(data)), content.FromBytes(data)
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	md := content.FromBytes(mb)
	if _, err := d.ps.Put(ctx, md, int64(len(mb)), bytes.NewReader(mb)); err != nil {
		t.Fatal(err)
	}
	var a api.Artifact
	d.call(t, "write", "POST", "/v1/artifacts", api.RegisterRequest{Name: "team/paged", ContentDigest: m.Digest.String(),
		ManifestDigest: md.String(), Size: m.Size, MediaType: "application/octet-stream"}, http.StatusCreated, &a)
	r := d.open(t, "team")
	var buf bytes.Buffer
	if _, err := r.Pull(ctx, a.Ref, &buf, client.PullOptions{}); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("pull of %d chunks: %v, equal=%v", n, err, bytes.Equal(buf.Bytes(), data))
	}
	gets := d.ps.Gets.Load()
	if gets != int64(n)+1 {
		t.Errorf("%d presigned GETs for %d chunks and the manifest", gets, n)
	}
	lo, hi := 300*34+5, (app.PullURLPage+20)*34+7
	buf.Reset()
	if _, err := r.Pull(ctx, a.Ref, &buf, client.PullOptions{Range: fmt.Sprintf("%d-%d", lo, hi)}); err != nil || !bytes.Equal(buf.Bytes(), data[lo:hi+1]) {
		t.Fatalf("range pull across pages: %v, equal=%v", err, bytes.Equal(buf.Bytes(), data[lo:hi+1]))
	}
}

// TestDirectOffWhereUnsafe: a daemon asked for direct transfers runs
// without them over a backend that cannot presign (a local directory) and
// over an S3 server that does not refuse wrong bytes on a presigned upload
// (gofakes3), so that no client can store other bytes under a digest.
func TestDirectOffWhereUnsafe(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lb, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	fs := fakeS3(t)
	sb, err := backends.Open(ctx, backends.Spec{ID: "fake", Type: "s3", Bucket: fs.bucket, Region: fs.region,
		Endpoint: fs.endpoint, PathStyle: true, AccessKeyID: fs.access, SecretAccessKey: fs.secret})
	if err != nil {
		t.Fatal(err)
	}
	for name, be := range map[string]storage.Backend{"local": lb, "gofakes3": sb} {
		log, err := sqlite.Open(ctx, filepath.Join(dir, name+".db"), eventlog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { log.Close() })
		srv, err := server.New(server.Options{Registry: registry.New(log, app.Checker(be), nil), Log: log, Backend: be, Direct: true})
		if err != nil {
			t.Fatal(err)
		}
		if srv.Direct() {
			t.Errorf("%s: direct transfers on", name)
		}
	}
}
