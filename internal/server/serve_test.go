package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestServeGracefulShutdown: once shutdown starts, the listener is closed
// (new connections are refused) while a request already in flight runs
// to completion and gets its whole answer.
func TestServeGracefulShutdown(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	release := make(chan struct{})
	// A slow route: it signals that it runs, then waits for the test.
	e.srv.mux.Handle("GET /test/slow", e.srv.wrap(&route{Method: "GET", Pattern: "/test/slow", Public: true,
		h: func(w http.ResponseWriter, r *http.Request, c *call) error {
			close(started)
			<-release
			return writeJSON(w, http.StatusOK, map[string]string{"slow": "done"})
		}}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln, ServeOptions{}) }()

	type result struct {
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/test/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- result{string(b), err}
	}()
	<-started
	cancel() // shutdown begins with the slow request in flight

	// The listener closes: poll until a new connection is refused. Each
	// attempt is bounded; the loop ends as soon as the port refuses.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts connections after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) before the in-flight request finished", err)
	default:
	}
	close(release)
	r := <-slow
	if r.err != nil || r.body != "{\"slow\":\"done\"}\n" {
		t.Fatalf("in-flight request: %q, %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// TestServeDrainTimeout: a request that outlives the drain timeout is cut
// off and Serve reports it.
func TestServeDrainTimeout(t *testing.T) {
	e := newEnv(t)
	e.srv.limits.DrainTimeout = 50 * time.Millisecond
	started := make(chan struct{})
	e.srv.mux.Handle("GET /test/stuck", e.srv.wrap(&route{Method: "GET", Pattern: "/test/stuck", Public: true,
		h: func(w http.ResponseWriter, r *http.Request, c *call) error {
			close(started)
			<-r.Context().Done()
			return r.Context().Err()
		}}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln, ServeOptions{}) }()
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/test/stuck")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	if err := <-served; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Serve = %v, want the drain deadline", err)
	}
}

// TestServeTLS serves HTTPS with the given certificates (httptest's).
func TestServeTLS(t *testing.T) {
	e := newEnv(t)
	certs := httptest.NewUnstartedServer(nil)
	certs.StartTLS()
	defer certs.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	ready := make(chan net.Addr, 1)
	go func() {
		served <- e.srv.Serve(ctx, ln, ServeOptions{TLS: certs.TLS.Clone(), Ready: func(a net.Addr) { ready <- a }})
	}()
	addr := <-ready
	resp, err := certs.Client().Get("https://" + addr.String() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("status %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
