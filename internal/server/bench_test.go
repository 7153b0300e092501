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
	req := httptest.NewRequest(method, "/v1/blobs/"+d.String(), nil)
	req.Header.Set("Authorization", "Bearer "+e.tok["read"])
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkOCIBlobGet is BenchmarkBlobGet through /v2: the 1 KiB content
// of a native file artifact, read as a blob of its repository.
func BenchmarkOCIBlobGet(b *testing.B) {
	e := newEnv(b)
	a := e.register("bench/small", make([]byte, 1024))
	req := httptest.NewRequest("GET", "/v2/bench/small/blobs/"+a.ContentDigest, nil)
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
