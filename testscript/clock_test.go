package testscript_test

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/artifact-store/artstore/internal/cli"
	"github.com/artifact-store/artstore/internal/cli/cmdutil"
	"github.com/artifact-store/artstore/internal/cli/iostreams"
)

// EnvTestNow, set to an RFC 3339 time, is the clock of the artstore the
// scripts run (Factory.Now, so local stores stamp events with it and
// retention judges expiry by it). Only this harness reads it: the
// production binary's path (cli.Main) never does. Scripts set it with the
// now command, which also moves the script daemon's clock.
const EnvTestNow = "ARTSTORE_TEST_NOW"

// clockKey is the testscript Env value holding the script's *scriptClock.
const clockKey = "clock"

// runArtstore is the artstore command of the scripts: cli.Main, but with
// the clock EnvTestNow names.
func runArtstore() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ios := iostreams.New(os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)
	f := cmdutil.New(ios, os.LookupEnv)
	if v := os.Getenv(EnvTestNow); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			os.Stderr.WriteString("artstore test harness: " + EnvTestNow + ": " + err.Error() + "\n")
			return 1
		}
		f.Now = func() time.Time { return t }
	}
	return cli.Run(ctx, f, os.Args[1:])
}

// scriptClock is a script daemon's clock: the wall clock until the script
// sets a time with the now command.
type scriptClock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the set time, or the wall clock.
func (c *scriptClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *scriptClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// clockOf returns the script's clock (set up by setup).
func clockOf(env *testscript.Env) *scriptClock {
	c, _ := env.Values[clockKey].(*scriptClock)
	return c
}

// cmdNow: now TIME — from here on, artstore (local mode) and the script
// daemon (remote mode) take TIME (RFC 3339) as the current time.
func cmdNow(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: now TIME (RFC 3339)")
	}
	t, err := time.Parse(time.RFC3339, args[0])
	if err != nil {
		ts.Fatalf("now: %v", err)
	}
	ts.Setenv(EnvTestNow, args[0])
	if c, ok := ts.Value(clockKey).(*scriptClock); ok {
		c.set(t)
	}
}
