package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/app"
	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/eventlog"
	"github.com/artifact-store/artstore/internal/eventlog/sqlite"
	"github.com/artifact-store/artstore/internal/registry"
	"github.com/artifact-store/artstore/internal/server"
	"github.com/artifact-store/artstore/internal/storage/local"
	"github.com/artifact-store/artstore/pkg/client"
)

// daemon is a server over a SQLite log and a local backend in a temp dir,
// behind httptest, with an optional middleware in front.
type daemon struct {
	srv   *server.Server
	be    *local.Backend
	ts    *httptest.Server
	token map[string]string // by scope name
}

func startDaemon(t *testing.T, front func(http.Handler) http.Handler) *daemon {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	log, err := sqlite.Open(ctx, filepath.Join(dir, "artstore.db"), eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	be, err := local.New("default", filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Registry: registry.New(log, app.Checker(be), nil), Log: log, Backend: be, BackendType: "local",
		CheckpointKey: filepath.Join(dir, "checkpoint.key"),
		PollInterval:  10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{srv: srv, be: be, token: map[string]string{}}
	for _, s := range []auth.Scope{auth.ScopeRead, auth.ScopeWrite, auth.ScopeAdmin} {
		secret, _, err := srv.Tokens().Create(ctx, "test", auth.Spec{Name: s.String() + "-bot", Scope: s})
		if err != nil {
			t.Fatal(err)
		}
		d.token[s.String()] = secret
	}
	var h http.Handler = srv
	if front != nil {
		h = front(srv)
	}
	d.ts = httptest.NewServer(h)
	t.Cleanup(d.ts.Close)
	return d
}

func (d *daemon) open(t *testing.T, scope string) *client.Remote {
	t.Helper()
	r, err := client.OpenRemote(context.Background(), client.RemoteOptions{URL: d.ts.URL, Token: d.token[scope],
		MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, UserAgent: "remote-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func randomFile(t *testing.T, dir, name string, size int, seed uint64) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{byte(seed)})
	_, _ = rng.Read(b)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func TestRemoteRoundTrip(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	r := d.open(t, "write")
	dir := t.TempDir()
	path, data := randomFile(t, dir, "big.bin", 9<<20+123, 1)

	// Push, then push again: the second uploads nothing.
	res, err := r.Push(ctx, client.PushRequest{Path: path, Name: "builds/app", Labels: map[string]string{"arch": "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != "builds/app:1" || res.Size != int64(len(data)) || res.UploadedBytes != int64(len(data)) || res.CreatedBy != "write-bot" {
		t.Fatalf("push = %+v", res)
	}
	res2, err := r.Push(ctx, client.PushRequest{Reader: bytes.NewReader(data), Name: "builds/app"})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Ref != "builds/app:2" || res2.UploadedBytes != 0 || res2.DeduplicatedBytes != int64(len(data)) {
		t.Fatalf("second push = %+v, want everything deduplicated", res2)
	}

	// Pull whole, to a path, and a range.
	var buf bytes.Buffer
	pr, err := r.Pull(ctx, "builds/app:1", &buf, client.PullOptions{})
	if err != nil || !bytes.Equal(buf.Bytes(), data) || pr.Bytes != int64(len(data)) {
		t.Fatalf("pull: %v, %d bytes, equal=%v", err, buf.Len(), bytes.Equal(buf.Bytes(), data))
	}
	out := filepath.Join(dir, "out.bin")
	if _, err := r.PullToPath(ctx, "builds/app", out, client.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("PullToPath wrote other bytes")
	}
	buf.Reset()
	pr, err = r.Pull(ctx, "builds/app:1", &buf, client.PullOptions{Range: "4194000-4194999"})
	if err != nil || !bytes.Equal(buf.Bytes(), data[4194000:4195000]) || pr.Range != "4194000-4194999" {
		t.Fatalf("range pull: %v, %+v", err, pr)
	}
	// Each pull appended one retrieval record, by the token's subject.
	a, err := r.Get(ctx, "builds/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Retrievals.Count != 2 || a.Retrievals.Bytes != int64(len(data))+1000 || a.Retrievals.LastBy != "write-bot" {
		t.Errorf("retrievals of :1 = %+v, want 2 pulls by write-bot", a.Retrievals)
	}

	// List, tag, label, lineage, retention, hold, delete.
	page, err := r.List(ctx, client.Query{Pattern: "builds/", Selectors: []string{"arch=amd64"}})
	if err != nil || len(page.Artifacts) != 1 || page.Artifacts[0].Ref != "builds/app:1" {
		t.Fatalf("list = %+v, %v", page, err)
	}
	if a, err = r.Tag(ctx, "builds/app:1", "prod"); err != nil || !contains(a.Tags, "prod") {
		t.Fatalf("tag = %+v, %v", a, err)
	}
	if a, err = r.Label(ctx, "builds/app:prod", map[string]string{"ok": "yes"}, []string{"arch"}); err != nil || a.Labels["ok"] != "yes" || a.Labels["arch"] != "" {
		t.Fatalf("label = %+v, %v", a, err)
	}
	child, err := r.Push(ctx, client.PushRequest{Reader: strings.NewReader("report"), Name: "reports/r", Inputs: []client.Input{{Ref: "builds/app:1", Role: "source"}}})
	if err != nil {
		t.Fatal(err)
	}
	lg, err := r.Lineage(ctx, child.Ref, client.LineageOptions{Direction: client.Up})
	if err != nil || len(lg.Nodes) != 2 || len(lg.Edges) != 1 || lg.Edges[0].To != res.ID || lg.Edges[0].Depth != 1 {
		t.Fatalf("lineage = %+v, %v", lg, err)
	}
	exp := 48 * time.Hour
	if a, err = r.SetRetention(ctx, "builds/app:2", client.RetentionRequest{ExpireAfter: &exp}); err != nil || a.Retention.ExpiresAt == nil {
		t.Fatalf("retention = %+v, %v", a, err)
	}
	if _, err = r.Hold(ctx, "builds/app:2", "audit"); err != nil {
		t.Fatal(err)
	}
	if _, err = r.Delete(ctx, "builds/app:2"); !errors.Is(err, client.ErrForbidden) {
		t.Fatalf("delete under hold = %v, want ErrForbidden", err)
	}
	if _, err = r.Release(ctx, "builds/app:2"); err != nil {
		t.Fatal(err)
	}
	if a, err = r.Delete(ctx, "builds/app:2"); err != nil || !a.Deleted {
		t.Fatalf("delete = %+v, %v", a, err)
	}
	if _, err = r.Get(ctx, "builds/app:2"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("get deleted = %v, want ErrNotFound", err)
	}

	// Verify one artifact deeply, and everything.
	vr, err := r.Verify(ctx, client.VerifyOptions{Ref: "builds/app:1", Deep: true})
	if err != nil || !vr.OK || vr.Artifacts != 1 || vr.Bytes != int64(len(data)) {
		t.Fatalf("verify = %+v, %v", vr, err)
	}
	if vr, err = r.Verify(ctx, client.VerifyOptions{All: true}); err != nil || !vr.OK || vr.Artifacts != 2 {
		t.Fatalf("verify all = %+v, %v", vr, err)
	}

	// Events: a long poll is woken by an append; the log verifies.
	evs, err := r.Events(ctx, 0, 1000, 0)
	if err != nil || len(evs) == 0 {
		t.Fatal(err)
	}
	headSeq := evs[len(evs)-1].Seq
	got := make(chan []client.Event, 1)
	go func() {
		evs, err := r.Events(ctx, headSeq, 10, 5*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- evs
	}()
	if _, err := r.Tag(ctx, "builds/app:1", "stable"); err != nil {
		t.Fatal(err)
	}
	if evs := <-got; len(evs) != 1 || evs[0].Type != "tag.moved.v1" || evs[0].Actor != "write-bot" {
		t.Fatalf("long poll = %+v", evs)
	}
	rep, err := r.VerifyLog(ctx)
	if err != nil || !rep.OK || rep.Events != headSeq+1 {
		t.Fatalf("log verify = %+v, %v", rep, err)
	}
	hs, err := r.Health(ctx)
	if err != nil || len(hs) != 1 || !hs[0].Healthy {
		t.Fatalf("health = %+v, %v", hs, err)
	}
}

// TestRemoteGitBranchRecorded: a push through the daemon records the git
// branch (the daemon converts the wire producer into the event's).
func TestRemoteGitBranchRecorded(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	r := d.open(t, "write")
	prod := client.Producer{Tool: "make", Command: "make release", Host: "ci-7", User: "bob", GitRepo: "acme/app", GitCommit: "0123abc", GitBranch: "release/2.x",
		GitDirty: true, CISystem: "github-actions", CIJob: "release", CIRun: "77", CIURL: "https://ci/77"}
	res, err := r.Push(ctx, client.PushRequest{Reader: strings.NewReader("built"), Name: "builds/app", Producer: prod})
	if err != nil {
		t.Fatal(err)
	}
	if res.Provenance.Producer != prod {
		t.Errorf("push result producer = %+v, want %+v", res.Provenance.Producer, prod)
	}
	got, err := r.Get(ctx, "builds/app:1")
	if err != nil || got.Provenance.Producer != prod {
		t.Errorf("Get producer = %+v, %v; want %+v", got.Provenance.Producer, err, prod)
	}
}

func TestRemoteTreeRoundTrip(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	r := d.open(t, "write")
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, a := randomFile(t, src, "a.bin", 300<<10, 2)
	_, b := randomFile(t, filepath.Join(src, "sub"), "b.txt", 10, 3)
	res, err := r.Push(ctx, client.PushRequest{Path: src, Name: "trees/t"})
	if err != nil || res.Kind != "tree" {
		t.Fatalf("push tree = %+v, %v", res, err)
	}
	dst := filepath.Join(t.TempDir(), "out")
	if _, err := r.PullToPath(ctx, "trees/t", dst, client.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "a.bin")); !bytes.Equal(got, a) {
		t.Error("a.bin differs")
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "sub", "b.txt")); !bytes.Equal(got, b) {
		t.Error("sub/b.txt differs")
	}
	if _, err := r.Pull(ctx, "trees/t", io.Discard, client.PullOptions{}); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("pull a tree to a stream = %v, want ErrInvalid", err)
	}
	if vr, err := r.Verify(ctx, client.VerifyOptions{Ref: "trees/t", Deep: true}); err != nil || !vr.OK {
		t.Errorf("verify tree = %+v, %v", vr, err)
	}
}

func TestRemoteErrors(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	w := d.open(t, "write")
	if _, err := w.Push(ctx, client.PushRequest{Reader: strings.NewReader("x"), Name: "e/a", Version: "1"}); err != nil {
		t.Fatal(err)
	}
	read := d.open(t, "read")
	bad, err := client.OpenRemote(ctx, client.RemoteOptions{URL: d.ts.URL, Token: "art_aaaaaaaaaaaaaaaa_" + strings.Repeat("x", 43), MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	down, err := client.OpenRemote(ctx, client.RemoteOptions{URL: "http://127.0.0.1:1", Token: "t", MaxAttempts: 2, BaseDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"not found", second(w.Get(ctx, "e/none")), client.ErrNotFound},
		{"bad ref", second(w.Get(ctx, "E/A")), client.ErrInvalid},
		{"version exists", second(w.Push(ctx, client.PushRequest{Reader: strings.NewReader("y"), Name: "e/a", Version: "1"})), client.ErrConflict},
		{"read token pushes", second(read.Push(ctx, client.PushRequest{Reader: strings.NewReader("y"), Name: "e/b"})), client.ErrForbidden},
		{"read token rebuilds", read.Rebuild(ctx), client.ErrForbidden},
		{"unknown token", second(bad.List(ctx, client.Query{})), client.ErrUnauthorized},
		{"daemon down", second(down.List(ctx, client.Query{})), client.ErrUnavailable},
		{"bad range", second(w.Pull(ctx, "e/a", io.Discard, client.PullOptions{Range: "5-9"})), client.ErrInvalid},
		{"release without hold", second(w.Release(ctx, "e/a")), client.ErrNotFound},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	if _, err := client.OpenRemote(ctx, client.RemoteOptions{URL: "ftp://x"}); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("ftp URL: %v", err)
	}
}

// TestRemoteRetries: blob PUTs and reads are retried through transient
// 503s; a register answered 503 "unavailable" is not sent again (it may
// have been applied), but one answered "busy" is.
func TestRemoteRetries(t *testing.T) {
	ctx := context.Background()
	var putFails, registerCalls, registerFails atomic.Int64
	putFails.Store(3)
	var registerCode atomic.Value
	registerCode.Store("unavailable")
	d := startDaemon(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/v1/blobs/") && putFails.Add(-1) >= 0:
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			case r.Method == "POST" && r.URL.Path == "/v1/artifacts":
				registerCalls.Add(1)
				if registerFails.Add(-1) >= 0 {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					io.WriteString(w, `{"error":{"code":"`+registerCode.Load().(string)+`","message":"try later"}}`)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	r := d.open(t, "write")
	if _, err := r.Push(ctx, client.PushRequest{Reader: strings.NewReader("retry me"), Name: "r/a"}); err != nil {
		t.Fatalf("push through failing PUTs: %v", err)
	}
	registerFails.Store(1)
	registerCalls.Store(0)
	if _, err := r.Push(ctx, client.PushRequest{Reader: strings.NewReader("again"), Name: "r/b"}); !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("push with register 503 = %v, want ErrUnavailable", err)
	}
	if n := registerCalls.Load(); n != 1 {
		t.Errorf("register sent %d times after an ambiguous 503, want 1", n)
	}
	registerCode.Store("busy")
	registerFails.Store(1)
	registerCalls.Store(0)
	if _, err := r.Push(ctx, client.PushRequest{Reader: strings.NewReader("again"), Name: "r/b"}); err != nil {
		t.Fatalf("push with register busy once = %v", err)
	}
	if n := registerCalls.Load(); n != 2 {
		t.Errorf("register sent %d times after busy, want 2", n)
	}
}

func second[T any](_ T, err error) error { return err }

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestContentRoute reads a multi-chunk artifact through GET
// /v1/artifact/content, whole and in ranges across chunk boundaries: the
// bytes are the content's, and each read appends one retrieval record.
func TestContentRoute(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	r := d.open(t, "write")
	dir := t.TempDir()
	path, data := randomFile(t, dir, "c.bin", 7<<20+77, 9)
	res, err := r.Push(ctx, client.PushRequest{Path: path, Name: "c/a"})
	if err != nil || res.Chunks < 2 {
		t.Fatalf("push: %+v, %v (want several chunks)", res, err)
	}
	get := func(rng string) (int, []byte) {
		req, _ := http.NewRequest("GET", d.ts.URL+"/v1/artifact/content?ref=c/a:1", nil)
		req.Header.Set("Authorization", "Bearer "+d.token["read"])
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
	n := int64(len(data))
	for _, c := range []struct {
		rng        string
		status     int
		start, end int64
	}{
		{"", 200, 0, n - 1},
		{"bytes=1000000-6000000", 206, 1000000, 6000000},
		{"bytes=-100", 206, n - 100, n - 1},
		{"bytes=7340000-", 206, 7340000, n - 1},
	} {
		status, b := get(c.rng)
		if status != c.status || !bytes.Equal(b, data[c.start:c.end+1]) {
			t.Errorf("%q: status %d, %d bytes, want %d and bytes %d-%d", c.rng, status, len(b), c.status, c.start, c.end)
		}
	}
	a, err := r.Get(ctx, "c/a:1")
	if err != nil || a.Retrievals.Count != 4 || a.Retrievals.LastBy != "read-bot" {
		t.Errorf("retrievals = %+v, %v; want 4 by read-bot", a.Retrievals, err)
	}
}
