package testscript_test

import (
	"net"
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
	refused chan struct{} // closed at the first refusal after close
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
			select {
			case <-g.refused:
			default:
				close(g.refused)
			}
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

// daemon close|open: in remote mode, make the script daemon refuse new
// connections (close), or serve them again (open) once it has refused at
// least one since it was closed, waiting up to 30 s for that: a script
// starts a command in the background between the two to see it wait for
// the daemon, without sleeping.
func cmdDaemon(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || (args[0] != "close" && args[0] != "open") {
		ts.Fatalf("usage: daemon close|open")
	}
	g, ok := ts.Value(gateKey{}).(*gate)
	if !ok {
		ts.Fatalf("daemon: no script daemon (use [remote])")
	}
	g.mu.Lock()
	if args[0] == "close" {
		g.closed, g.refused = true, make(chan struct{})
		g.mu.Unlock()
		return
	}
	refused := g.refused
	g.mu.Unlock()
	if refused == nil {
		ts.Fatalf("daemon open: the daemon was not closed")
	}
	t := time.NewTimer(gateTimeout)
	defer t.Stop()
	select {
	case <-refused:
	case <-t.C:
		ts.Fatalf("daemon open: no client tried to connect within %s", gateTimeout)
	}
	g.mu.Lock()
	g.closed, g.refused = false, nil
	g.mu.Unlock()
}
