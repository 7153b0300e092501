// Package faultproxy is a TCP proxy for tests that puts network faults
// between a client and a server: connection resets in the middle of a
// request or a response body, HTTP 503 answers, half-closed connections,
// latency and bandwidth limits. Each accepted connection gets a Fault from
// the proxy's Plan, so a test decides (or draws from a seed) what every
// connection suffers, and can switch faults off to check that a retry
// without them succeeds.
//
// It works on bytes, not on HTTP, except for Status503, which reads one
// request and answers it without forwarding anything; so it sits equally
// between the CLI and the daemon and between artstore and an S3 server.
package faultproxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is the fault a connection suffers.
type Kind int

const (
	// None forwards everything (subject to Latency and BytesPerSecond).
	None Kind = iota
	// Reset resets both sides (TCP RST) once After bytes have been
	// forwarded, counting both directions: in the middle of a request or
	// a response, mid-body when one is large.
	Reset
	// Status503 reads the client's first request (draining its body) and
	// answers 503 Service Unavailable with Connection: close; nothing
	// reaches the server.
	Status503
	// HalfClose forwards After bytes (both directions), then closes the
	// proxy's write side towards the client, so the client reads EOF in
	// the middle of whatever it was reading, while what it still sends is
	// read and dropped; the server's connection is closed.
	HalfClose
	nKinds
)

var kindNames = [nKinds]string{"none", "reset", "503", "half-close"}

func (k Kind) String() string {
	if k < 0 || k >= nKinds {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Fault is what one connection suffers.
type Fault struct {
	Kind Kind
	// After is the number of bytes forwarded, in both directions
	// together, before a Reset or HalfClose strikes.
	After int64
	// Latency delays every piece of data forwarded, in both directions.
	Latency time.Duration
	// BytesPerSecond limits each direction's throughput; 0: no limit.
	BytesPerSecond int64
}

// Plan returns the fault of the n-th connection (0, 1, ...). It is called
// from the accepting goroutine only.
type Plan func(n int) Fault

// NoFaults is the plan that forwards every connection untouched.
func NoFaults(int) Fault { return Fault{} }

// Random returns a plan drawing from seed: with probability rate a
// connection gets one of the faults (reset, 503, half close), the reset
// and the half close after up to maxAfter bytes; independently, one in four
// connections gets up to 20 ms of latency and one in four a limit of
// 1 to 8 MiB/s.
func Random(seed uint64, rate float64, maxAfter int64) Plan {
	rng := rand.New(rand.NewPCG(seed, seed^0x6661756c74))
	return func(int) Fault {
		var f Fault
		if rng.Float64() < rate {
			f.Kind = Kind(1 + rng.IntN(int(nKinds)-1))
			f.After = rng.Int64N(maxAfter + 1)
		}
		if rng.IntN(4) == 0 {
			f.Latency = time.Duration(rng.IntN(20)) * time.Millisecond
		}
		if rng.IntN(4) == 0 {
			f.BytesPerSecond = 1<<20 + rng.Int64N(7<<20)
		}
		return f
	}
}

// Proxy forwards connections from its listener to a target address.
type Proxy struct {
	ln     net.Listener
	target string
	done   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	plan   Plan
	n      int
	conns  map[net.Conn]struct{}
	counts [nKinds]int
}

// Start listens on 127.0.0.1 (a free port) and forwards to target
// (host:port) with the faults plan gives; nil means NoFaults.
func Start(target string, plan Plan) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	if plan == nil {
		plan = NoFaults
	}
	p := &Proxy{ln: ln, target: target, plan: plan, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is the proxy's listening address (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is "http://" + Addr.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// SetPlan replaces the plan for connections accepted from now on.
func (p *Proxy) SetPlan(plan Plan) {
	if plan == nil {
		plan = NoFaults
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.plan = plan
}

// Injected returns how many connections were given a fault of kind k
// (whether or not they carried enough bytes for it to strike).
func (p *Proxy) Injected(k Kind) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[k]
}

// Close stops the proxy: it closes the listener and every connection and
// waits for its goroutines.
func (p *Proxy) Close() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	close(p.done)
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		f := p.plan(p.n)
		p.n++
		p.counts[f.Kind]++
		p.mu.Unlock()
		p.wg.Go(func() { p.serve(c, f) })
	}
}

// track registers c for Close; false when the proxy is closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		c.Close()
		return false
	default:
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve(client net.Conn, f Fault) {
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	if f.Kind == Status503 {
		answer503(client)
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		reset(client)
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	l := &link{client: client, server: server, f: f}
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(l, server, client, true) })
	wg.Go(func() { p.pipe(l, client, server, false) })
	wg.Wait()
}

// link is one proxied connection: the client's, the server's, its fault.
type link struct {
	client, server net.Conn
	f              Fault

	mu sync.Mutex
	// sent counts the bytes forwarded both ways; struck is set once the
	// fault struck.
	sent   int64
	struck bool
	// halfClosed is set once a HalfClose struck: from then on what the
	// client sends is read and dropped.
	halfClosed atomic.Bool
}

// budget takes n bytes to forward: it returns how many may go, and
// whether the fault strikes after them.
func (l *link) budget(n int) (int, bool) {
	if l.f.Kind != Reset && l.f.Kind != HalfClose {
		return n, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.struck {
		return 0, true
	}
	if left := l.f.After - l.sent; int64(n) >= left {
		l.struck = true
		return int(left), true
	}
	l.sent += int64(n)
	return n, false
}

// pipe copies src to dst with the link's latency, bandwidth limit and
// fault; fromClient tells the direction.
func (p *Proxy) pipe(l *link, dst, src net.Conn, fromClient bool) {
	f := l.f
	buf := make([]byte, 32<<10)
	if f.BytesPerSecond > 0 {
		// about twenty writes a second, so the rate is smooth
		buf = buf[:min(int64(len(buf)), max(f.BytesPerSecond/20, 512))]
	}
	for {
		n, err := src.Read(buf)
		if l.halfClosed.Load() {
			if fromClient && err == nil {
				continue // drop what the client still sends
			}
			return
		}
		if n > 0 {
			if !p.sleep(f.Latency) {
				return
			}
			m, strike := l.budget(n)
			if _, werr := dst.Write(buf[:m]); werr != nil {
				reset(src)
				return
			}
			if strike {
				l.strike()
				if fromClient && f.Kind == HalfClose {
					continue
				}
				return
			}
			if f.BytesPerSecond > 0 && !p.sleep(time.Duration(int64(n)*int64(time.Second)/f.BytesPerSecond)) {
				return
			}
		}
		if err != nil {
			// pass the end of the stream on, keeping the other direction
			if tc, ok := dst.(*net.TCPConn); ok && errors.Is(err, io.EOF) {
				_ = tc.CloseWrite()
			} else {
				reset(dst)
			}
			return
		}
	}
}

// strike applies the link's fault, whose byte count was reached.
func (l *link) strike() {
	if l.f.Kind == HalfClose {
		if l.halfClosed.Swap(true) {
			return
		}
		if tc, ok := l.client.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		l.server.Close()
		return
	}
	reset(l.client)
	reset(l.server)
}

// sleep waits d, or returns false when the proxy closes first.
func (p *Proxy) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.done:
		return false
	}
}

// reset closes c with a TCP RST instead of a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// answer503 reads one HTTP request from c, discards its body, and answers
// 503 with Connection: close.
func answer503(c net.Conn) {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, req.Body)
	const body = "fault injected: service unavailable\n"
	_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}
