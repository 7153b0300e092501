package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/artifact-store/artstore/pkg/api"
)

// FuzzRequestBodies sends arbitrary bodies and query strings to the routes
// that parse them: none may fail with a 5xx or answer an error that is not
// the JSON error shape.
func FuzzRequestBodies(f *testing.F) {
	e := newEnvDirect(f)
	a := e.register("fuzz/a", []byte("fuzz"))
	paths := []string{
		"POST /v1/artifacts", "POST /v1/blobs/missing", "PATCH /v1/artifact/labels?ref=" + a.Ref,
		"PUT /v1/artifact/retention?ref=" + a.Ref, "POST /v1/artifact/holds?ref=" + a.Ref, "POST /v1/retrievals",
		"POST /v1/tokens", "GET /v1/artifacts?", "GET /v1/events?", "GET /v1/artifact/lineage?ref=" + a.Ref + "&",
		"POST /v1/artifact/pulls?ref=" + a.Ref, "POST /v1/artifact/pulls/urls?ref=" + a.Ref + "&grant=1",
		"POST /v1/artifact/repair/finish?ref=" + a.Ref,
		"POST /v1/artifact/repair/plan?ref=" + a.Ref, "GET /v1/artifact/files?ref=" + a.Ref, "POST /v1/export?",
	}
	for i := range paths {
		f.Add(uint8(i), []byte(`{}`), "")
		f.Add(uint8(i), []byte(`{"name":"fuzz/b","content_digest":"`+a.ContentDigest+`","size":-1}`), "limit=-1")
		f.Add(uint8(i), []byte(`{"set":{"a":"b"},"remove":["a"]}`), "since=2026-01-01T00:00:00Z&wait=0")
		f.Add(uint8(i), []byte(`{"expire_after":"1h","expires_at":"2026-01-01T00:00:00Z"}`), "depth=99999999999999999999")
		f.Add(uint8(i), []byte(`{"ref":"fuzz/a","bytes":1,"range":"-1"}`), "pattern=**&label=a!=b")
		f.Add(uint8(i), []byte{}, "range=0-")
		f.Add(uint8(i), []byte(`{"digests":["`+a.ContentDigest+`","`+a.ContentDigest+`"],"sizes":[4,-1]}`), "grant=-1&from=99999999999999999999")
		f.Add(uint8(i), []byte(`{"refs":["`+a.Ref+`","`+a.ID+`"],"closure":-1,"at":1}`), "")
		f.Add(uint8(i), []byte(`{"content_digest":"`+a.ContentDigest+`","manifest_digest":"`+a.ManifestDigest+`","source":"file a","missing":1,"damaged":-1}`), "")
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte, query string) {
		p := paths[int(route)%len(paths)]
		method, path, _ := cutSpace(p)
		if query != "" {
			path += "&" + query
		}
		req, err := http.NewRequest(method, path, bytes.NewReader(body))
		if err != nil {
			return // not a URL a client could send
		}
		req.Header.Set("Authorization", "Bearer "+e.tok["admin"])
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: status %d: %s", method, path, body, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var er api.ErrorResponse
			if err := json.Unmarshal(w.Body.Bytes(), &er); err != nil || er.Error.Code == "" {
				t.Fatalf("%s %s: error body %q is not the JSON error shape", method, path, w.Body)
			}
		}
	})
}

func cutSpace(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
