package faultproxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// backend answers GET with 256 KiB and echoes a POST's body; it counts the
// requests that reached it.
func backend(t *testing.T) (*httptest.Server, *atomic.Int64, []byte) {
	t.Helper()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 16<<10)
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Method == http.MethodPost {
			_, _ = io.Copy(w, r.Body)
			return
		}
		_, _ = w.Write(payload)
	}))
	t.Cleanup(ts.Close)
	return ts, &hits, payload
}

// through does one request through a fresh proxy with fault f and returns
// the response body read to the end, or the first error.
func through(t *testing.T, target string, f Fault, method string, body []byte) (int, []byte, error) {
	t.Helper()
	p, err := Start(target, func(int) Fault { return f })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, p.URL()+"/x", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if got := p.Injected(f.Kind); got != 1 {
		t.Errorf("Injected(%s) = %d, want 1", f.Kind, got)
	}
	return resp.StatusCode, b, err
}

func TestForwardsWithoutFaults(t *testing.T) {
	ts, _, payload := backend(t)
	target := strings.TrimPrefix(ts.URL, "http://")
	code, got, err := through(t, target, Fault{}, http.MethodGet, nil)
	if err != nil || code != 200 || !bytes.Equal(got, payload) {
		t.Fatalf("GET: %d, %d bytes, %v; want 200 and the payload", code, len(got), err)
	}
	code, got, err = through(t, target, Fault{}, http.MethodPost, payload)
	if err != nil || code != 200 || !bytes.Equal(got, payload) {
		t.Fatalf("POST echo: %d, %d bytes, %v", code, len(got), err)
	}
}

func TestFaults(t *testing.T) {
	ts, hits, payload := backend(t)
	target := strings.TrimPrefix(ts.URL, "http://")
	tests := []struct {
		name   string
		f      Fault
		method string
		// check judges the outcome; it returns "" when it is right.
		check func(code int, got []byte, err error) string
	}{
		{"reset mid request body", Fault{Kind: Reset, After: 64 << 10}, http.MethodPost,
			func(code int, got []byte, err error) string {
				if err == nil && bytes.Equal(got, payload) {
					return "the whole body went through"
				}
				return ""
			}},
		{"reset mid response", Fault{Kind: Reset, After: 10 << 10}, http.MethodGet,
			func(code int, got []byte, err error) string {
				if err == nil {
					return "no error"
				}
				return ""
			}},
		{"503", Fault{Kind: Status503}, http.MethodPost,
			func(code int, got []byte, err error) string {
				if err != nil || code != http.StatusServiceUnavailable {
					return "want a 503 answer"
				}
				return ""
			}},
		{"half close mid response", Fault{Kind: HalfClose, After: 10 << 10}, http.MethodGet,
			func(code int, got []byte, err error) string {
				if err != io.ErrUnexpectedEOF {
					return "want io.ErrUnexpectedEOF (a response cut by a FIN)"
				}
				return ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := hits.Load()
			body := []byte(nil)
			if tt.method == http.MethodPost {
				body = payload
			}
			code, got, err := through(t, target, tt.f, tt.method, body)
			if msg := tt.check(code, got, err); msg != "" {
				t.Errorf("%s: status %d, %d bytes, error %v", msg, code, len(got), err)
			}
			if tt.f.Kind == Status503 && hits.Load() != before {
				t.Errorf("a 503 fault let the request reach the server")
			}
		})
	}
}

func TestLatencyAndBandwidth(t *testing.T) {
	ts, _, payload := backend(t)
	target := strings.TrimPrefix(ts.URL, "http://")
	start := time.Now()
	if _, got, err := through(t, target, Fault{Latency: 50 * time.Millisecond}, http.MethodGet, nil); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("with latency: %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("50 ms latency each way: request took %s", d)
	}
	start = time.Now()
	// 256 KiB at 1 MiB/s: at least a quarter of a second
	if _, got, err := through(t, target, Fault{BytesPerSecond: 1 << 20}, http.MethodGet, nil); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("with a bandwidth limit: %v", err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("256 KiB at 1 MiB/s took %s", d)
	}
}

func TestRandomIsSeeded(t *testing.T) {
	a, b := Random(7, 0.5, 1<<20), Random(7, 0.5, 1<<20)
	kinds := map[Kind]bool{}
	for i := range 200 {
		fa, fb := a(i), b(i)
		if fa != fb {
			t.Fatalf("connection %d: %+v and %+v from the same seed", i, fa, fb)
		}
		kinds[fa.Kind] = true
	}
	if len(kinds) != int(nKinds) {
		t.Errorf("200 draws at rate 0.5 gave kinds %v, want all %d", kinds, nKinds)
	}
}

func TestCloseEndsStalledConnections(t *testing.T) {
	ts, _, _ := backend(t)
	p, err := Start(strings.TrimPrefix(ts.URL, "http://"), func(int) Fault { return Fault{Latency: time.Hour} })
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(p.URL())
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for p.Injected(None) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return with a connection sleeping out an hour of latency")
	}
	if err := <-errc; err == nil {
		t.Error("the stalled request succeeded")
	}
}
