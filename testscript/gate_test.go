package testscript_test

import (
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// gateKey is the env.Values key of the script daemon's gate.
type gateKey struct{}

// gate is the script daemon's listener: while it is closed, every new
// connection is closed as soon as it is accepted, as when the daemon is
// restarting behind a proxy or its port, so clients see the daemon
// unavailable; the connections it refused are counted so that a script
// can wait until a client has tried.
type gate struct {
	net.Listener

	mu      sync.Mutex
	closed  bool
	refused int           // connections refused since close
	more    chan struct{} // closed and replaced at each refusal
}

func (g *gate) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		closed := g.closed
		if closed {
			g.refused++
			close(g.more)
			g.more = make(chan struct{})
		}
		g.mu.Unlock()
		if !closed {
			return c, nil
		}
		c.Close()
	}
}

// gateTimeout bounds `daemon open`'s wait for a refused connection.
const gateTimeout = 30 * time.Second

// daemon close|open [N]: in remote mode, make the script daemon refuse new
// connections (close), or serve them again (open) once it has refused at
// least N (default 1) since it was closed, waiting up to 30 s for that: a
// script starts a command in the background between the two to see it
// wait for the daemon, without sleeping. A remote command's first
// connection is its check of the daemon's checkpoint, which gives up at
// once; `daemon open 2` waits for the command's own call too.
func cmdDaemon(ts *testscript.TestScript, neg bool, args []string) {
	n := 1
	if len(args) == 2 && args[0] == "open" {
		var err error
		if n, err = strconv.Atoi(args[1]); err != nil || n < 1 {
			ts.Fatalf("usage: daemon close|open [N]")
		}
		args = args[:1]
	}
	if neg || len(args) != 1 || (args[0] != "close" && args[0] != "open") {
		ts.Fatalf("usage: daemon close|open [N]")
	}
	g, ok := ts.Value(gateKey{}).(*gate)
	if !ok {
		ts.Fatalf("daemon: no script daemon (use [remote])")
	}
	g.mu.Lock()
	if args[0] == "close" {
		g.closed, g.refused, g.more = true, 0, make(chan struct{})
		g.mu.Unlock()
		return
	}
	if !g.closed {
		g.mu.Unlock()
		ts.Fatalf("daemon open: the daemon was not closed")
	}
	g.mu.Unlock()
	t := time.NewTimer(gateTimeout)
	defer t.Stop()
	for {
		g.mu.Lock()
		refused, more := g.refused, g.more
		if refused >= n {
			g.closed = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		select {
		case <-more:
		case <-t.C:
			ts.Fatalf("daemon open: %d connections refused within %s, want %d", refused, gateTimeout, n)
		}
	}
}
