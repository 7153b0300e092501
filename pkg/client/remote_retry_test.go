package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/artifact-store/artstore/pkg/client"
)

// flaky is a RoundTripper in front of a real one: fail decides, for the
// nth request (from 1), whether to fail it and how, without sending it.
type flaky struct {
	next http.RoundTripper
	fail func(req *http.Request, n int) (*http.Response, error)

	mu       sync.Mutex
	n        int
	injected int
}

func (f *flaky) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	if resp, err := f.fail(req, n); resp != nil || err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		f.mu.Lock()
		f.injected++
		f.mu.Unlock()
		return resp, err
	}
	return f.next.RoundTrip(req)
}

func (f *flaky) counts() (requests, injected int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n, f.injected
}

// refused is the error of a connection the daemon's host refused.
func refused() error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
}

// unavailable is a 503 answer, as a daemon that is draining or a proxy in
// front of a stopped one gives.
func unavailable(req *http.Request) *http.Response {
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"error":{"code":"unavailable","message":"the daemon is shutting down"}}`)), Request: req}
}

// notices collects OnUnavailable messages.
type notices struct {
	mu   sync.Mutex
	msgs []string
}

func (n *notices) add(msg string) { n.mu.Lock(); defer n.mu.Unlock(); n.msgs = append(n.msgs, msg) }
func (n *notices) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

func openFlaky(t *testing.T, d *daemon, f *flaky, window time.Duration, n *notices) *client.Remote {
	t.Helper()
	f.next = http.DefaultTransport
	r, err := client.OpenRemote(context.Background(), client.RemoteOptions{URL: d.ts.URL, Token: d.token["write"],
		HTTPClient: &http.Client{Transport: f}, RetryWindow: window, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond,
		OnUnavailable: n.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestRemoteRidesOutAnOutage fails the first requests of a push and a pull
// (refused connections, 503 answers), more times than the old attempt
// limit allowed, and checks both succeed with a single notice.
func TestRemoteRidesOutAnOutage(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	f := &flaky{fail: func(req *http.Request, n int) (*http.Response, error) {
		switch {
		case n > 24:
			return nil, nil
		case n%2 == 1:
			return nil, refused()
		case req.Method == http.MethodGet:
			return unavailable(req), nil
		}
		return nil, nil
	}}
	var ns notices
	r := openFlaky(t, d, f, time.Minute, &ns)
	path, data := randomFile(t, t.TempDir(), "a.bin", 3<<20, 7)
	res, err := r.Push(ctx, client.PushRequest{Path: path, Name: "o/a"})
	if err != nil {
		t.Fatalf("push through an outage: %v", err)
	}
	var out bytes.Buffer
	if _, err := r.Pull(ctx, res.Ref, &out, client.PullOptions{}); err != nil {
		t.Fatalf("pull through an outage: %v", err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Error("pulled bytes differ from the pushed ones")
	}
	if p, err := r.List(ctx, client.Query{Pattern: "o/a"}); err != nil || len(p.Artifacts) != 1 {
		t.Errorf("list = %+v, %v; want exactly one registration", p, err)
	}
	if _, injected := f.counts(); injected < 8 {
		t.Errorf("only %d failures were injected; the test does not exercise the retries", injected)
	}
	msgs := ns.all()
	want := "daemon at " + d.ts.URL + " unavailable (connection refused); retrying for up to 1m0s..."
	if len(msgs) != 1 || msgs[0] != want {
		t.Errorf("notices = %q, want one: %q", msgs, want)
	}
}

// TestRemoteWaitsForARestartedDaemon points the client at a port where
// nothing listens, and starts the daemon there when the client says it is
// waiting: the call that was refused succeeds.
func TestRemoteWaitsForARestartedDaemon(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var ns notices
	r, err := client.OpenRemote(ctx, client.RemoteOptions{URL: "http://" + addr, Token: d.token["write"],
		RetryWindow: time.Minute, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond,
		OnUnavailable: func(msg string) {
			ns.add(msg)
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Errorf("listen again on %s: %v", addr, err)
				return
			}
			ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: d.srv}}
			ts.Start()
			t.Cleanup(ts.Close)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Push(ctx, client.PushRequest{Reader: strings.NewReader("hello"), Name: "o/b"}); err != nil {
		t.Fatalf("push to a daemon that comes back: %v", err)
	}
	if msgs := ns.all(); len(msgs) != 1 || !strings.Contains(msgs[0], "unavailable (connection refused); retrying for up to 1m0s") {
		t.Errorf("notices = %q", msgs)
	}
}

// TestRemoteGivesUp checks the end of the window: the error says what to
// check; and a window of -1 (the CLI's 0) tries once, without a notice.
func TestRemoteGivesUp(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	down := func(req *http.Request, n int) (*http.Response, error) { return nil, refused() }

	f := &flaky{fail: down}
	var ns notices
	r := openFlaky(t, d, f, 30*time.Millisecond, &ns)
	_, err := r.List(ctx, client.Query{})
	if !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("list while down: %v, want ErrUnavailable", err)
	}
	for _, want := range []string{"connection refused", "attempts over", "cannot reach the daemon at " + d.ts.URL + ": connection refused", "is artstore serve running there and reachable?", "longer retry window"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n, _ := f.counts(); n < 2 {
		t.Errorf("%d attempts, want retries", n)
	}
	if msgs := ns.all(); len(msgs) != 1 {
		t.Errorf("notices = %q, want one", msgs)
	}

	f = &flaky{fail: down}
	ns = notices{}
	r = openFlaky(t, d, f, -1, &ns)
	if _, err := r.List(ctx, client.Query{}); !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("list while down without retries: %v", err)
	}
	if n, _ := f.counts(); n != 1 {
		t.Errorf("%d attempts without retries, want 1", n)
	}
	if msgs := ns.all(); len(msgs) != 0 {
		t.Errorf("notices without retries = %q", msgs)
	}
}

// TestRemoteRegisterIsNotSentTwice loses the answer to a register that the
// daemon applied: sending it again would register a second version, so the
// push fails instead; a register that was refused before it reached the
// daemon is sent again.
func TestRemoteRegisterIsNotSentTwice(t *testing.T) {
	ctx := context.Background()
	d := startDaemon(t, nil)
	isRegister := func(req *http.Request) bool { return req.Method == http.MethodPost && req.URL.Path == "/v1/artifacts" }

	lost := &lostAnswer{match: isRegister}
	lost.next = http.DefaultTransport
	r, err := client.OpenRemote(ctx, client.RemoteOptions{URL: d.ts.URL, Token: d.token["write"], HTTPClient: &http.Client{Transport: lost},
		RetryWindow: time.Minute, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Push(ctx, client.PushRequest{Reader: strings.NewReader("once"), Name: "o/c"}); !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("push whose register answer was lost: %v, want ErrUnavailable", err)
	}
	if p, err := r.List(ctx, client.Query{Pattern: "o/c"}); err != nil || len(p.Artifacts) != 1 {
		t.Errorf("list = %+v, %v; want the one registration the daemon applied", p, err)
	}

	f := &flaky{fail: func(req *http.Request, n int) (*http.Response, error) {
		if isRegister(req) && n%2 == 1 {
			return nil, refused()
		}
		return nil, nil
	}}
	var ns notices
	r2 := openFlaky(t, d, f, time.Minute, &ns)
	res, err := r2.Push(ctx, client.PushRequest{Reader: strings.NewReader("twice"), Name: "o/d"})
	if err != nil || res.Ref != "o/d:1" {
		t.Fatalf("push whose register was refused once = %+v, %v", res, err)
	}
	if p, err := r2.List(ctx, client.Query{Pattern: "o/d"}); err != nil || len(p.Artifacts) != 1 {
		t.Errorf("list = %+v, %v; want one registration", p, err)
	}
}

// lostAnswer sends requests that match to the daemon and then reports the
// connection as reset, as if the answer was lost on the way back.
type lostAnswer struct {
	next  http.RoundTripper
	match func(*http.Request) bool
}

func (l *lostAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil || !l.match(req) {
		return resp, err
	}
	resp.Body.Close()
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}
}
