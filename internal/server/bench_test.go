package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkBlobHead and BenchmarkBlobGet measure the handler path of the
// hottest routes (auth, backend, metrics, request log) without the network.
func BenchmarkBlobHead(b *testing.B) { benchBlob(b, "HEAD") }

// BenchmarkBlobGet is BenchmarkBlobHead for a 1 KiB GET.
func BenchmarkBlobGet(b *testing.B) { benchBlob(b, "GET") }

func benchBlob(b *testing.B, method string) {
	e := newEnv(b)
	d := e.putBlob(make([]byte, 1024))
	benchGet(b, e, method, "/v1/blobs/"+d.String())
}

// BenchmarkOCIBlobGet is BenchmarkBlobGet through /v2: the 1 KiB content
// of a native file artifact, read as a blob of its repository.
func BenchmarkOCIBlobGet(b *testing.B) {
	e := newEnv(b)
	a := e.register("bench/small", make([]byte, 1024))
	benchGet(b, e, "GET", "/v2/bench/small/blobs/"+a.ContentDigest)
}

// benchGet serves method target with a read token, over and over.
func benchGet(b *testing.B, e *env, method, target string) {
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("Authorization", "Bearer "+e.tok["read"])
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code, w.Body.String())
		}
	}
}
