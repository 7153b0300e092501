package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/storage"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/internal/storage/storagetest"
	"github.com/artifact-store/artstore/pkg/api"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a server over a SQLite log and a local backend in a temp dir,
// with one token of each kind the tests need.
type env struct {
	t       testing.TB
	srv     *Server
	ts      *httptest.Server
	log     eventlog.Store
	backend *local.Backend
	clock   *clock
	// logPath is the SQLite log's file, for tests that edit it directly.
	logPath string
	// tokens by role: admin, write, read, prefixed (admin, "team/"),
	// prefixed-read (read, "team/"), expired (admin), revoked (admin).
	tok map[string]string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "log.db")
	log, err := sqlite.Open(context.Background(), logPath, eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	e := newEnvLog(t, log)
	e.logPath = logPath
	return e
}

// newEnvLog is newEnv over the given log.
func newEnvLog(t testing.TB, log eventlog.Store) *env { return newEnvWith(t, log, false) }

// newEnvDirect is newEnv with direct transfers on: the backend is wrapped
// in the test presigner (storagetest.Presigning).
func newEnvDirect(t testing.TB) *env {
	log, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "log.db"), eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	e := newEnvWith(t, log, true)
	if !e.srv.Direct() {
		t.Fatal("direct transfers off over a presigning backend")
	}
	return e
}

// newEnvOCI is newEnvLog with the given /v2 options.
func newEnvOCI(t testing.TB, log eventlog.Store, oci OCIOptions) *env {
	t.Helper()
	return newEnvWith(t, log, false, oci)
}

func newEnvWith(t testing.TB, log eventlog.Store, direct bool, oci ...OCIOptions) *env {
	t.Helper()
	if len(oci) == 0 {
		oci = []OCIOptions{{}}
	}
	ctx := context.Background()
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	be, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	var sb storage.Backend = be
	if direct {
		sb = storagetest.NewPresigning(t, be)
	}
	srv, err := New(Options{Registry: registry.New(log, app.Checker(sb), nil), Log: log, Backend: sb, BackendType: "local",
		Now: clk.Now, PollInterval: 10 * time.Millisecond, Limits: Limits{MaxBody: 64 << 10, MaxWait: 5 * time.Second}, Direct: direct, OCI: oci[0],
		CheckpointKey: filepath.Join(dir, "checkpoint.key")})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, log: log, backend: be, clock: clk, tok: map[string]string{}}
	for role, spec := range map[string]auth.Spec{
		"admin":         {Name: "admin", Scope: auth.ScopeAdmin},
		"write":         {Name: "writer", Scope: auth.ScopeWrite},
		"read":          {Name: "reader", Scope: auth.ScopeRead},
		"prefixed":      {Name: "team-bot", Scope: auth.ScopeAdmin, Prefix: "team/"},
		"prefixed-read": {Name: "team-reader", Scope: auth.ScopeRead, Prefix: "team/"},
		"expired":       {Name: "old", Scope: auth.ScopeAdmin, TTL: time.Hour},
		"revoked":       {Name: "gone", Scope: auth.ScopeAdmin},
	} {
		secret, tok, err := srv.Tokens().Create(ctx, "test", spec)
		if err != nil {
			t.Fatal(err)
		}
		e.tok[role] = secret
		if role == "revoked" {
			if _, err := srv.Tokens().Revoke(ctx, "test", tok.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	clk.Add(2 * time.Hour) // "expired" is now past its hour
	e.ts = httptest.NewServer(srv)
	t.Cleanup(e.ts.Close)
	return e
}

// putBlob stores b in the backend and returns its digest.
func (e *env) putBlob(b []byte) content.Digest {
	e.t.Helper()
	d := content.FromBytes(b)
	if _, err := e.backend.Put(context.Background(), d, int64(len(b)), bytes.NewReader(b)); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// register stores data as a one-chunk file artifact named name and
// registers it.
func (e *env) register(name string, data []byte) api.Artifact {
	e.t.Helper()
	d := e.putBlob(data)
	m := content.Manifest{Kind: content.KindFile, Size: int64(len(data)), Digest: d, Chunker: content.DefaultChunkerParams()}
	if len(data) > 0 {
		m.Chunks = []content.ChunkRef{{Digest: d, Size: int64(len(data))}}
	}
	mb, err := m.Encode()
	if err != nil {
		e.t.Fatal(err)
	}
	md := e.putBlob(mb)
	req := api.RegisterRequest{Name: name, ContentDigest: d.String(), ManifestDigest: md.String(), Size: int64(len(data)), MediaType: "text/plain"}
	if len(data) > 0 {
		req.Blobs = []string{d.String()}
	}
	var a api.Artifact
	e.doJSON("POST", "/v1/artifacts", "admin", req, http.StatusCreated, &a)
	return a
}

// request sends a request with the role's token ("" for none).
func (e *env) request(method, path, role string, body io.Reader, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if role != "" {
		secret, ok := e.tok[role]
		if !ok {
			secret = role // a literal token string
		}
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// doJSON sends body as JSON, checks the status and decodes the answer.
func (e *env) doJSON(method, path, role string, body any, want int, out any) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	resp := e.request(method, path, role, r, nil)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// errorCode reads a JSON error response's code.
func errorCode(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	if resp.Request.Method == http.MethodHead {
		return resp.Header.Get("X-Error-Code")
	}
	var er api.ErrorResponse
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &er); err != nil {
		t.Fatalf("error body %q is not JSON: %v", b, err)
	}
	if er.Error.Message == "" {
		t.Errorf("error %q has no message", er.Error.Code)
	}
	return er.Error.Code
}

// requestTo sends a bodiless request with the role's token to srv, a
// server sharing e's log and tokens, and returns the recorded response.
func (e *env) requestTo(srv *Server, method, path, role string) *http.Response {
	e.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Bearer "+e.tok[role])
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	resp := w.Result()
	resp.Request = req
	return resp
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// logged starts a second server over e's registry, log, backend and
// tokens whose request log goes to the returned buffer, with limits.
func (e *env) logged(limits Limits) (*httptest.Server, *syncBuffer) {
	e.t.Helper()
	buf := &syncBuffer{}
	srv, err := New(Options{Registry: e.srv.reg, Log: e.log, Backend: e.backend, Tokens: e.srv.Tokens(), Now: e.clock.Now,
		PollInterval: 10 * time.Millisecond, Limits: limits, Logger: slog.New(slog.NewTextHandler(buf, nil))})
	if err != nil {
		e.t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	e.t.Cleanup(ts.Close)
	return ts, buf
}
