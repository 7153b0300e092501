package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/auth"
	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/pkg/api"
)

func TestBlobRoutes(t *testing.T) {
	e := newEnv(t)
	data := []byte("0123456789abcdef")
	d := content.FromBytes(data)
	absent := content.FromBytes([]byte("absent"))
	path := "/v1/blobs/" + d.String()

	tests := []struct {
		name     string
		method   string
		path     string
		role     string
		body     io.Reader
		hdr      map[string]string
		want     int
		code     string // error code, for errors
		wantBody string
		wantHdr  map[string]string
	}{
		{name: "put wrong bytes", method: "PUT", path: path, role: "write", body: strings.NewReader("0123456789abcdeX"), want: 400, code: "digest_mismatch"},
		{name: "put short", method: "PUT", path: path, role: "write", body: strings.NewReader("0123"), want: 400, code: "digest_mismatch"},
		{name: "put invalid digest", method: "PUT", path: "/v1/blobs/sha256:ABC", role: "write", body: strings.NewReader("x"), want: 400, code: "invalid"},
		{name: "head before put", method: "HEAD", path: path, role: "read", want: 404, code: "not_found"},
		{name: "put", method: "PUT", path: path, role: "write", body: bytes.NewReader(data), want: 201},
		{name: "put again", method: "PUT", path: path, role: "write", body: bytes.NewReader(data), want: 200},
		{name: "head", method: "HEAD", path: path, role: "read", want: 200, wantHdr: map[string]string{"Content-Length": "16"}},
		{name: "get", method: "GET", path: path, role: "read", want: 200, wantBody: string(data)},
		{name: "get range", method: "GET", path: path, role: "read", hdr: map[string]string{"Range": "bytes=2-5"}, want: 206, wantBody: "2345",
			wantHdr: map[string]string{"Content-Range": "bytes 2-5/16"}},
		{name: "get suffix range", method: "GET", path: path, role: "read", hdr: map[string]string{"Range": "bytes=-3"}, want: 206, wantBody: "def"},
		{name: "get range past end", method: "GET", path: path, role: "read", hdr: map[string]string{"Range": "bytes=16-"}, want: 416, code: "range_not_satisfiable",
			wantHdr: map[string]string{"Content-Range": "bytes */16"}},
		{name: "get absent", method: "GET", path: "/v1/blobs/" + absent.String(), role: "read", want: 404, code: "not_found"},
		{name: "missing", method: "POST", path: "/v1/blobs/missing", role: "read",
			body: strings.NewReader(`{"digests":["` + d.String() + `","` + absent.String() + `"]}`), want: 200, wantBody: `{"missing":["` + absent.String() + `"]}` + "\n"},
		{name: "missing malformed", method: "POST", path: "/v1/blobs/missing", role: "read", body: strings.NewReader(`{"digests":["nope"]}`), want: 400, code: "invalid"},
		{name: "missing unknown member", method: "POST", path: "/v1/blobs/missing", role: "read", body: strings.NewReader(`{"digest":[]}`), want: 400, code: "invalid"},
		{name: "missing body too large", method: "POST", path: "/v1/blobs/missing", role: "read", body: strings.NewReader(`{"digests":["` + strings.Repeat("x", 70<<10) + `"]}`), want: 413, code: "too_large"},
		{name: "unknown route", method: "GET", path: "/v1/nope", role: "read", want: 404, code: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.request(tt.method, tt.path, tt.role, tt.body, tt.hdr)
			for k, v := range tt.wantHdr {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if resp.StatusCode != tt.want {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, b)
			}
			if tt.code != "" {
				if got := errorCode(t, resp); got != tt.code {
					t.Errorf("code %q, want %q", got, tt.code)
				}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tt.wantBody != "" && string(b) != tt.wantBody {
				t.Errorf("body %q, want %q", b, tt.wantBody)
			}
		})
	}
}

func TestBlobPutNeedsLength(t *testing.T) {
	e := newEnv(t)
	d := content.FromBytes([]byte("abc"))
	req, _ := http.NewRequest("PUT", e.ts.URL+"/v1/blobs/"+d.String(), io.NopCloser(strings.NewReader("abc")))
	req.ContentLength = -1 // chunked
	req.Header.Set("Authorization", "Bearer "+e.tok["write"])
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusLengthRequired {
		t.Errorf("status %d, want 411", resp.StatusCode)
	}
	errorCode(t, resp)
}

func TestArtifactRoutes(t *testing.T) {
	e := newEnv(t)
	a := e.register("docs/report", []byte("hello, world"))
	ref := url.QueryEscape(a.Ref)

	// Content, whole and ranged; each appends one retrieval record.
	resp := e.request("GET", "/v1/artifact/content?ref="+ref, "read", nil, nil)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello, world" || resp.Header.Get("X-Content-Digest") != a.ContentDigest {
		t.Fatalf("content: %d %q %v", resp.StatusCode, b, resp.Header)
	}
	resp = e.request("GET", "/v1/artifact/content?ref="+ref, "read", nil, map[string]string{"Range": "bytes=7-"})
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || string(b) != "world" {
		t.Fatalf("content range: %d %q", resp.StatusCode, b)
	}
	resp = e.request("GET", "/v1/artifact/content?ref="+ref, "read", nil, map[string]string{"Range": "bytes=50-"})
	if resp.StatusCode != 416 || errorCode(t, resp) != "range_not_satisfiable" {
		t.Errorf("content bad range: %d", resp.StatusCode)
	}
	var got api.Artifact
	e.doJSON("GET", "/v1/artifact?ref="+ref, "read", nil, 200, &got)
	if got.Retrievals.Count != 2 || got.Retrievals.Bytes != 12+5 || got.Retrievals.LastBy != "reader" {
		t.Errorf("retrievals = %+v, want 2 reads of 17 bytes by reader", got.Retrievals)
	}
	var evs api.EventsResponse
	e.doJSON("GET", "/v1/events?after=0&limit=1000", "read", nil, 200, &evs)
	last := evs.Events[len(evs.Events)-1]
	if last.Type != "artifact.retrieved.v1" || last.Payload["range"] != "7-11" || last.Actor != "reader" {
		t.Errorf("last event = %+v", last)
	}

	// Errors.
	for _, c := range []struct {
		method, path string
		body         string
		want         int
		code         string
	}{
		{"GET", "/v1/artifact", "", 400, "invalid"},
		{"GET", "/v1/artifact?ref=docs/report:9", "", 404, "not_found"},
		{"GET", "/v1/artifact?ref=Bad:Ref", "", 400, "invalid"},
		{"POST", "/v1/artifacts", `{"name":"x","content_digest":"` + a.ContentDigest + `","manifest_digest":"` + content.FromBytes([]byte("nothing")).String() + `","size":12}`, 409, "missing_blobs"},
		{"POST", "/v1/artifacts", `{"name":"x"`, 400, "invalid"},
		{"POST", "/v1/artifacts", `{"name":"x","content_digest":"nope"}`, 400, "invalid"},
		{"POST", "/v1/artifacts", `{"name":"docs/report","version":"1","content_digest":"` + a.ContentDigest + `","manifest_digest":"` + a.ManifestDigest + `","size":12,"blobs":["` + a.ContentDigest + `"]}`, 409, "conflict"},
		{"PATCH", "/v1/artifact/labels?ref=" + ref, `{"set":{"bad key!":"v"}}`, 400, "invalid"},
		{"PUT", "/v1/artifact/tags/123?ref=" + ref, "", 400, "invalid"},
		{"GET", "/v1/artifact/lineage?ref=" + ref + "&direction=sideways", "", 400, "invalid"},
		{"GET", "/v1/artifacts?limit=x", "", 400, "invalid"},
		{"GET", "/v1/artifacts?order=random", "", 400, "invalid"},
		{"GET", "/v1/artifacts?since=yesterday", "", 400, "invalid"},
		{"GET", "/v1/events?wait=forever", "", 400, "invalid"},
		{"POST", "/v1/retrievals", `{"ref":"` + a.Ref + `","bytes":9223372036854775807}`, 410, "gone"},
		{"POST", "/v1/artifact/pulls?ref=" + ref + "&range=5-100", "", 416, "range_not_satisfiable"},
		{"POST", "/v1/artifact/pulls?ref=" + ref + "&range=x", "", 416, "range_not_satisfiable"},
		{"DELETE", "/v1/artifact/holds?ref=" + ref, "", 404, "not_found"},
	} {
		resp := e.request(c.method, c.path, "admin", strings.NewReader(c.body), nil)
		if resp.StatusCode != c.want {
			b, _ := io.ReadAll(resp.Body)
			t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, resp.StatusCode, c.want, b)
			continue
		}
		if code := errorCode(t, resp); code != c.code {
			t.Errorf("%s %s: code %q, want %q", c.method, c.path, code, c.code)
		}
	}

	// Commands: tag, label, hold (blocks delete), release, retention, delete.
	e.doJSON("PUT", "/v1/artifact/tags/prod?ref="+ref, "write", nil, 200, &got)
	if strings.Join(got.Tags, ",") != "latest,prod" {
		t.Errorf("tags = %v", got.Tags)
	}
	e.doJSON("PATCH", "/v1/artifact/labels?ref="+ref, "write", api.LabelsRequest{Set: map[string]string{"team": "a"}}, 200, &got)
	if got.Labels["team"] != "a" {
		t.Errorf("labels = %v", got.Labels)
	}
	e.doJSON("POST", "/v1/artifact/holds?ref="+ref, "write", api.HoldRequest{Reason: "audit"}, 200, &got)
	if !got.Retention.LegalHold || got.Retention.HoldReason != "audit" {
		t.Errorf("retention = %+v", got.Retention)
	}
	resp = e.request("DELETE", "/v1/artifact?ref="+ref, "write", nil, nil)
	if resp.StatusCode != 403 || errorCode(t, resp) != "forbidden" {
		t.Errorf("delete under hold: %d", resp.StatusCode)
	}
	e.doJSON("DELETE", "/v1/artifact/holds?ref="+ref, "write", nil, 200, &got)
	e.doJSON("PUT", "/v1/artifact/retention?ref="+ref, "write", api.RetentionBody{ExpireAfter: "24h"}, 200, &got)
	if got.Retention.ExpiresAt == nil || !got.Retention.ExpiresAt.Equal(a.CreatedAt.Add(24*time.Hour)) {
		t.Errorf("expires_at = %v, want creation + 24h", got.Retention.ExpiresAt)
	}
	var lg api.LineageGraph
	e.doJSON("GET", "/v1/artifact/lineage?ref="+ref, "read", nil, 200, &lg)
	if lg.Root != a.ID || len(lg.Nodes) != 1 {
		t.Errorf("lineage = %+v", lg)
	}
	e.doJSON("DELETE", "/v1/artifact?ref="+ref, "write", nil, 200, &got)
	if !got.Deleted {
		t.Error("delete did not tombstone")
	}
	resp = e.request("GET", "/v1/artifact?ref="+ref, "read", nil, nil)
	if resp.StatusCode != 404 {
		t.Errorf("get after delete: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestEventsLongPoll(t *testing.T) {
	e := newEnv(t)
	var head api.EventsResponse
	e.doJSON("GET", "/v1/events?after=0&limit=1000", "read", nil, 200, &head)
	done := make(chan api.EventsResponse, 1)
	go func() {
		var r api.EventsResponse
		e.doJSON("GET", "/v1/events?after="+itoa(head.Head)+"&wait=5s", "read", nil, 200, &r)
		done <- r
	}()
	// The poll is waiting (or about to): an append wakes it.
	e.register("late/a", []byte("x"))
	r := <-done
	if len(r.Events) == 0 || r.Events[0].Type != "artifact.registered.v2" {
		t.Errorf("long poll returned %+v", r.Events)
	}
	// A wait with nothing new ends empty when the wait runs out.
	e.doJSON("GET", "/v1/events?after=100000&wait=0.01", "read", nil, 200, &r)
	if len(r.Events) != 0 {
		t.Errorf("events after the head: %+v", r.Events)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestOpsRoutes(t *testing.T) {
	e := newEnv(t)
	e.register("m/a", []byte("abc"))
	resp := e.request("GET", "/health", "", nil, map[string]string{"X-Request-ID": "abc-123"})
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-ID") != "abc-123" {
		t.Errorf("health: %d, request id %q", resp.StatusCode, resp.Header.Get("X-Request-ID"))
	}
	resp.Body.Close()
	resp = e.request("GET", "/health", "", nil, map[string]string{"X-Request-ID": "bad id with spaces"})
	if id := resp.Header.Get("X-Request-ID"); id == "" || strings.Contains(id, " ") {
		t.Errorf("a bad request id was echoed: %q", id)
	}
	resp.Body.Close()
	resp = e.request("GET", "/ready", "", nil, nil)
	if resp.StatusCode != 200 {
		t.Errorf("ready: %d", resp.StatusCode)
	}
	resp.Body.Close()
	resp = e.request("GET", "/metrics", "", nil, nil)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`artstore_http_requests_total{route="POST /v1/artifacts",code="201"} 1`,
		`artstore_http_request_duration_seconds_count{route="GET /health"} 2`,
		"artstore_log_head_seq ",
		"artstore_dedup_hits_total ",
		"artstore_blob_bytes_in_total ",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
	var rep api.LogReport
	e.doJSON("GET", "/v1/log/verify", "read", nil, 200, &rep)
	if !rep.OK || rep.Events < 7 {
		t.Errorf("log verify = %+v", rep)
	}
	var hs []api.BackendHealth
	e.doJSON("GET", "/v1/backends/health", "read", nil, 200, &hs)
	if len(hs) != 1 || hs[0].ID != "default" || hs[0].Type != "local" || !hs[0].Healthy {
		t.Errorf("backend health = %+v", hs)
	}
	var rb map[string]int64
	e.doJSON("POST", "/v1/admin/rebuild", "admin", nil, 200, &rb)
	if rb["events"] < 7 {
		t.Errorf("rebuild = %v", rb)
	}
}

func TestTokenRoutes(t *testing.T) {
	e := newEnv(t)
	var created api.TokenCreated
	e.doJSON("POST", "/v1/tokens", "admin", api.TokenRequest{Name: "ci", Scope: "write", Prefix: "ci/", Expires: "1h"}, 201, &created)
	if created.Token == "" || created.Scope != "write" || created.Status != "active" || created.CreatedBy != "admin" {
		t.Fatalf("created = %+v", created)
	}
	// The new token works at once, with its scope.
	var page api.Page
	e.doJSON("GET", "/v1/artifacts", created.Token, nil, 200, &page)
	var list []api.TokenInfo
	e.doJSON("GET", "/v1/tokens", "admin", nil, 200, &list)
	statuses := map[string]string{}
	for _, tk := range list {
		statuses[tk.Name] = tk.Status
	}
	if statuses["ci"] != "active" || statuses["old"] != "expired" || statuses["gone"] != "revoked" {
		t.Errorf("statuses = %v", statuses)
	}
	var revoked api.TokenInfo
	e.doJSON("DELETE", "/v1/tokens/"+created.ID, "admin", nil, 200, &revoked)
	if revoked.Status != "revoked" || revoked.RevokedBy != "admin" {
		t.Errorf("revoked = %+v", revoked)
	}
	resp := e.request("GET", "/v1/artifacts", created.Token, nil, nil)
	if resp.StatusCode != 401 {
		t.Errorf("revoked token: %d", resp.StatusCode)
	}
	resp.Body.Close()
	for _, bad := range []api.TokenRequest{{Scope: "root"}, {Scope: "read", Prefix: "Bad Prefix"}, {Scope: "read", Expires: "-1h"}} {
		resp := e.request("POST", "/v1/tokens", "admin", strings.NewReader(mustJSON(bad)), nil)
		if resp.StatusCode != 400 {
			t.Errorf("%+v: status %d, want 400", bad, resp.StatusCode)
		}
		errorCode(t, resp)
	}
	resp = e.request("DELETE", "/v1/tokens/nosuchtoken00000", "admin", nil, nil)
	if resp.StatusCode != 404 {
		t.Errorf("revoke unknown: %d", resp.StatusCode)
	}
	resp.Body.Close()
	// Secrets never appear in a listing or in the log.
	var evs api.EventsResponse
	e.doJSON("GET", "/v1/events?after=0&limit=1000", "admin", nil, 200, &evs)
	if strings.Contains(mustJSON(evs), created.Token) || strings.Contains(mustJSON(list), created.Token) {
		t.Error("a token secret leaked")
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestBearerSchemeCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	for _, h := range []string{"Bearer ", "bearer ", "BEARER "} {
		resp := e.request("GET", "/v1/artifacts", "", nil, map[string]string{"Authorization": h + e.tok["read"]})
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%q: %d", h, resp.StatusCode)
		}
	}
	resp := e.request("GET", "/v1/artifacts", "", nil, map[string]string{"Authorization": "Basic " + e.tok["read"]})
	if resp.StatusCode != 401 || errorCode(t, resp) != "unauthorized" {
		t.Errorf("Basic: %d", resp.StatusCode)
	}
}

// TestContentHead: HEAD of the content route answers its headers and
// appends no retrieval record.
func TestContentHead(t *testing.T) {
	e := newEnv(t)
	a := e.register("h/a", []byte("twelve bytes"))
	resp := e.request("HEAD", "/v1/artifact/content?ref="+url.QueryEscape(a.Ref), "read", nil, nil)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 12 || resp.Header.Get("X-Content-Digest") != a.ContentDigest {
		t.Errorf("HEAD: %d, length %d, %v", resp.StatusCode, resp.ContentLength, resp.Header)
	}
	var got api.Artifact
	e.doJSON("GET", "/v1/artifact?ref="+url.QueryEscape(a.Ref), "read", nil, 200, &got)
	if got.Retrievals.Count != 0 {
		t.Errorf("a HEAD appended %d retrieval records", got.Retrievals.Count)
	}
}

// TestLogDown: with the log closed, requests that need a token, and /ready,
// answer 503 rather than 500 or a refusal.
func TestLogDown(t *testing.T) {
	e := newEnv(t)
	// A token table that re-reads the log on every use.
	book := auth.NewBook(e.log, nil, time.Nanosecond)
	secret, _, err := book.Create(context.Background(), "test", auth.Spec{Scope: auth.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Registry: e.srv.reg, Log: e.log, Backend: e.backend, Tokens: book})
	if err != nil {
		t.Fatal(err)
	}
	e.log.Close()
	for _, c := range []struct {
		path, token string
	}{{"/v1/artifacts", secret}, {"/ready", ""}} {
		req := httptest.NewRequest("GET", c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != 503 {
			t.Errorf("%s with the log down: %d %s", c.path, w.Code, w.Body)
		}
	}
}
