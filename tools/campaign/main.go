// Command campaign is artstore's crash campaign: it builds the real
// artstore binary, runs pushes (files, trees, standard input; data that
// shares chunks), gc --grace 0s, retention apply and admin rebuild against
// a local store and against daemons, one to three at a time, kills them
// with SIGKILL at random instants (and now and then the daemon itself),
// re-runs what was interrupted, and finally checks that nothing was lost:
// every artifact a push reported (or a re-run found) pulls back
// byte-identical, also after gc, and verify --all --deep and log verify
// pass. Orphaned blobs and temporary files left by killed uploads are
// counted, not failures.
//
//	go run ./tools/campaign -rounds 40            # make campaign
//	go run ./tools/campaign -rounds 40 -seed 42   # replay a seed's choices
//
// It prints "campaign: N tried, N ok, N lost, N unclear" (pushes started,
// answered success, missing or different at the end, killed before they
// answered) and exits 1 on any loss or failed check. With
// ARTSTORE_TEST_POSTGRES set, a third site runs a daemon whose log is in
// a throwaway PostgreSQL schema.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	code, err := run(os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "campaign:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

// flags are the campaign's settings.
type flags struct {
	rounds  int
	seed    int64
	bin     string
	dir     string
	keep    bool
	verbose bool
	pg      string
	timeout time.Duration
}

func parseFlags(args []string) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("campaign", flag.ContinueOnError)
	fs.IntVar(&f.rounds, "rounds", 40, "number of rounds, spread over the sites")
	fs.Int64Var(&f.seed, "seed", 0, "seed of the random choices (0: a fresh one, printed)")
	fs.StringVar(&f.bin, "bin", "", "artstore binary to test (default: go build ./cmd/artstore)")
	fs.StringVar(&f.dir, "dir", "", "work directory (default: a temporary one, removed unless the campaign fails or -keep)")
	fs.BoolVar(&f.keep, "keep", false, "keep the work directory")
	fs.BoolVar(&f.verbose, "v", false, "print every operation and how it ended")
	fs.StringVar(&f.pg, "postgres", os.Getenv("ARTSTORE_TEST_POSTGRES"), "PostgreSQL DSN for a daemon site with its log there (default $ARTSTORE_TEST_POSTGRES; empty: none)")
	fs.DurationVar(&f.timeout, "timeout", 20*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 || f.rounds < 1 {
		return f, fmt.Errorf("usage: campaign [-rounds N] [-seed S] [-bin FILE] [-dir DIR] [-keep] [-v] [-postgres DSN]")
	}
	if f.seed == 0 {
		f.seed = rand.Int64N(1<<53) + 1
	}
	return f, nil
}

// campaign is the state of one run.
type campaign struct {
	seed     int64
	rng      *rand.Rand
	pool     *pool
	out      io.Writer
	verbose  bool
	version  int
	est      map[string]map[kind]time.Duration
	stats    stats
	failures []string
}

// stats are the figures printed at the end.
type stats struct {
	tried, ok, lost, unclear      int
	unclearPresent, unclearAbsent int
	killed, daemonKills           int
	pulled, expired               int
	orphans, tempFiles            int
}

func (c *campaign) logf(format string, args ...any) {
	if c.verbose {
		fmt.Fprintf(c.out, format+"\n", args...)
	}
}

// fail records a failed check; the campaign goes on and exits 1.
func (c *campaign) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.failures = append(c.failures, msg)
	fmt.Fprintln(c.out, "FAIL", msg)
}

func run(args []string, out io.Writer) (int, error) {
	f, err := parseFlags(args)
	if err != nil {
		return 0, err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	dir := f.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "artstore-campaign-"); err != nil {
			return 0, err
		}
	}
	fmt.Fprintf(out, "campaign: seed %d, %d rounds, work directory %s\n", f.seed, f.rounds, dir)
	c := &campaign{seed: f.seed, rng: rand.New(rand.NewPCG(uint64(f.seed), 0x61727473746f7265)), out: out,
		verbose: f.verbose, est: map[string]map[kind]time.Duration{}}
	code, err := c.campaign(ctx, f, dir)
	if err != nil {
		c.fail("%v", err)
		code = 1
	}
	st := c.stats
	fmt.Fprintf(out, "campaign: %d tried, %d ok, %d lost, %d unclear\n", st.tried, st.ok, st.lost, st.unclear)
	fmt.Fprintf(out, "campaign: unclear pushes: %d had registered, %d had not; %d commands and %d daemons killed -9; "+
		"%d artifacts pulled back identical, %d deleted by retention; %d orphaned blobs and %d temporary files left by kills\n",
		st.unclearPresent, st.unclearAbsent, st.killed, st.daemonKills, st.pulled, st.expired, st.orphans, st.tempFiles)
	if len(c.failures) > 0 {
		fmt.Fprintf(out, "campaign: FAILED (%d failures; replay with -seed %d; work directory %s kept)\n", len(c.failures), f.seed, dir)
		return 1, nil
	}
	fmt.Fprintln(out, "campaign: ok")
	if !f.keep && f.dir == "" {
		os.RemoveAll(dir)
	}
	return code, nil
}

// campaign sets the sites up, runs the rounds and checks every site.
func (c *campaign) campaign(ctx context.Context, f flags, dir string) (int, error) {
	bin := f.bin
	if bin == "" {
		bin = filepath.Join(dir, "artstore")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/artstore")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return 1, fmt.Errorf("go build ./cmd/artstore: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return 1, err
	}
	c.pool = newPool(c.rng, data, 6)
	sites, cleanup, err := c.sites(ctx, f, bin, dir)
	defer cleanup()
	if err != nil {
		return 1, err
	}
	for n := range f.rounds {
		if err := ctx.Err(); err != nil {
			return 1, fmt.Errorf("stopped after %d rounds: %w", n, err)
		}
		if err := c.round(ctx, n+1, sites[n%len(sites)]); err != nil {
			return 1, err
		}
	}
	for _, s := range sites {
		if err := c.check(ctx, s); err != nil {
			return 1, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return 0, nil
}

// sites makes the local site, a daemon site with a SQLite log and, with a
// PostgreSQL DSN, one with its log in a fresh schema there. Each gets the
// retention rule for expendable artifacts.
func (c *campaign) sites(ctx context.Context, f flags, bin, dir string) ([]*site, func(), error) {
	var sites []*site
	var cleanups []func()
	cleanup := func() {
		for _, s := range sites {
			if s.d != nil && s.d.running() {
				s.d.kill()
			}
		}
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	names := []string{"local", "daemon-sqlite"}
	if f.pg != "" {
		names = append(names, "daemon-postgres")
	}
	for _, name := range names {
		s, err := newSite(name, bin, filepath.Join(dir, name))
		if err != nil {
			return nil, cleanup, err
		}
		sites = append(sites, s)
		switch name {
		case "local":
			err = s.must(ctx, "init")
		case "daemon-sqlite":
			err = startDaemon(s, "")
		case "daemon-postgres":
			var dsn string
			dsn, err = pgSchema(ctx, f.pg, &cleanups)
			if err == nil {
				err = startDaemon(s, dsn)
			}
		}
		if err != nil {
			return nil, cleanup, fmt.Errorf("%s: %w", name, err)
		}
		if err := s.must(ctx, append([]string{"retention", "rule", "add"}, expendableRule...)...); err != nil {
			return nil, cleanup, err
		}
	}
	fmt.Fprintf(c.out, "campaign: sites %s\n", strings.Join(names, ", "))
	return sites, cleanup, nil
}

// must runs a setup command that has to succeed.
func (s *site) must(ctx context.Context, args ...string) error {
	r, err := s.run(ctx, 0, "", args...)
	if err != nil {
		return err
	}
	if r.exit != 0 {
		return fmt.Errorf("%s: %s", s.name, r)
	}
	return nil
}
