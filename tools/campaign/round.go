package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// kind is what one operation of a round does.
type kind int

const (
	pushFile kind = iota
	pushTree
	pushStdin
	pushExpendable // a file under the retention rule's pattern
	gcRun
	retentionApply
	adminRebuild
	nKinds
)

var kindNames = [nKinds]string{"push file", "push tree", "push stdin", "push expendable", "gc", "retention apply", "admin rebuild"}

// kindWeights is how often each kind is picked, out of their sum.
var kindWeights = [nKinds]int{6, 2, 1, 3, 2, 2, 1}

func (k kind) push() bool { return k <= pushExpendable }

// expendableRule is the retention rule every site gets: under camp/rot/,
// versions expire a second after their creation, except the newest of
// each name.
var expendableRule = []string{"camp/rot/*", "--expire-after", "1s", "--keep-last", "1"}

// op is one command of a round.
type op struct {
	kind      kind
	art       *artifact
	args      []string
	stdin     string
	killAfter time.Duration
	res       result
}

// newOp picks an operation and, for a push, generates its data.
func (c *campaign) newOp(s *site) (*op, error) {
	k := c.pickKind()
	o := &op{kind: k}
	switch k {
	case gcRun:
		o.args = []string{"gc", "--grace", "0s", "--json"}
		return o, nil
	case retentionApply:
		o.args = []string{"retention", "apply", "--json"}
		return o, nil
	case adminRebuild:
		o.args = []string{"admin", "rebuild", "--json"}
		return o, nil
	}
	c.version++
	var name, src string
	var err error
	letter := string(rune('a' + c.rng.IntN(3)))
	switch k {
	case pushTree:
		name = "camp/trees/" + letter
		src, err = c.pool.tree()
	case pushStdin:
		name = "camp/stdin"
		src, err = c.pool.file()
	case pushExpendable:
		name = "camp/rot/" + string(rune('a'+c.rng.IntN(2)))
		src, err = c.pool.file()
	default:
		name = "camp/files/" + letter
		src, err = c.pool.file()
	}
	if err != nil {
		return nil, err
	}
	sum, err := fingerprint(src)
	if err != nil {
		return nil, err
	}
	v := strconv.Itoa(c.version)
	o.art = &artifact{ref: name + ":" + v, name: name, src: src, sum: sum, expendable: k == pushExpendable}
	arg := src
	if k == pushStdin {
		arg, o.stdin = "-", src
	}
	o.args = []string{"push", arg, "--name", name, "--version", v, "--json", "--label", "campaign=" + strconv.FormatInt(c.seed, 10)}
	if in := s.lastDurable(); in != "" && c.rng.IntN(3) == 0 {
		o.args = append(o.args, "--input", in+"=source")
	}
	return o, nil
}

func (c *campaign) pickKind() kind {
	total := 0
	for _, w := range kindWeights {
		total += w
	}
	n := c.rng.IntN(total)
	for k, w := range kindWeights {
		if n < w {
			return kind(k)
		}
		n -= w
	}
	return pushFile
}

// lastDurable returns the newest wanted artifact retention cannot delete,
// to name as another push's input; "" when there is none.
func (s *site) lastDurable() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.want) - 1; i >= 0; i-- {
		if !s.want[i].expendable {
			return s.want[i].ref
		}
	}
	return ""
}

// killDelay draws when to kill a command of kind k on s: half the time
// uniformly over 1.2 times what such a command has been taking, the other
// half over 0.8 to 1.1 times it, where it commits and answers (the
// registration, the gc's deletions and their event, the rebuild's
// transaction), so kills land there often enough.
func (c *campaign) killDelay(s *site, k kind) time.Duration {
	est := float64(c.estimate(s, k))
	d := time.Duration(c.rng.Float64() * 1.2 * est)
	if c.rng.IntN(2) == 0 {
		d = time.Duration((0.8 + 0.3*c.rng.Float64()) * est)
	}
	return max(d, time.Millisecond)
}

// estimate is the moving average of the durations of uninterrupted
// commands of kind k on s (a guess before the first one).
func (c *campaign) estimate(s *site, k kind) time.Duration {
	if e, ok := c.est[s.name][k]; ok {
		return e
	}
	return 300 * time.Millisecond
}

func (c *campaign) observe(s *site, k kind, d time.Duration) {
	m := c.est[s.name]
	if m == nil {
		m = map[kind]time.Duration{}
		c.est[s.name] = m
	}
	if e, ok := m[k]; ok {
		m[k] = (3*e + d) / 4
	} else {
		m[k] = d
	}
}

// round runs one to three operations at once on s, kills some of them
// (and, on a remote site, now and then the daemon) with SIGKILL at random
// instants, then settles each: a push that did not answer is re-run and
// must succeed, or find its artifact already registered.
func (c *campaign) round(ctx context.Context, n int, s *site) error {
	ops := make([]*op, 1+c.rng.IntN(3))
	for i := range ops {
		o, err := c.newOp(s)
		if err != nil {
			return err
		}
		if c.rng.IntN(2) == 0 {
			o.killAfter = c.killDelay(s, o.kind)
		}
		ops[i] = o
	}
	var daemonKill time.Duration
	if s.d != nil && c.rng.IntN(3) == 0 {
		// while the longest of the round's commands is expected to run
		var longest time.Duration
		for _, o := range ops {
			longest = max(longest, c.estimate(s, o.kind))
		}
		daemonKill = max(time.Duration(c.rng.Float64()*0.8*float64(longest)), time.Millisecond)
	}
	c.logf("round %d on %s:", n, s.name)
	daemonKilled, err := c.runOps(ctx, s, ops, daemonKill)
	if err != nil {
		return err
	}
	if daemonKilled {
		c.stats.daemonKills++
		c.logf("  daemon killed -9 after %s and restarted", daemonKill.Round(time.Millisecond))
	}
	for _, o := range ops {
		if err := c.settle(ctx, s, o, daemonKilled); err != nil {
			return err
		}
	}
	return nil
}

// runOps runs ops concurrently and, when daemonKill > 0, kills the daemon
// that long after the start and restarts it at once, as a supervisor
// would, so clients retrying meanwhile reach it again. It reports whether
// the daemon was killed.
func (c *campaign) runOps(ctx context.Context, s *site, ops []*op, daemonKill time.Duration) (bool, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(ops))
	for i, o := range ops {
		wg.Go(func() {
			o.res, errs[i] = s.run(ctx, o.killAfter, o.stdin, o.args...)
		})
	}
	// restarted receives the restart's error once the daemon was killed
	// and started again, or nothing when the kill did not happen.
	restarted := make(chan error, 1)
	killed := false
	if daemonKill > 0 {
		t := time.AfterFunc(daemonKill, func() {
			s.d.kill()
			if err := s.d.restart(); err != nil {
				restarted <- fmt.Errorf("%s: restart the daemon after kill -9: %w", s.name, err)
				return
			}
			restarted <- nil
		})
		wg.Wait()
		if !t.Stop() {
			killed = true
			if err := <-restarted; err != nil {
				return false, err
			}
		}
	} else {
		wg.Wait()
	}
	return killed, errors.Join(errs...)
}

// settle accounts for one operation of a round and re-runs it when it did
// not complete.
func (c *campaign) settle(ctx context.Context, s *site, o *op, daemonKilled bool) error {
	r := o.res
	name := kindNames[o.kind]
	if o.kind.push() {
		c.stats.tried++
	}
	switch {
	case r.hung:
		c.fail("%s: %s", s.name, r)
		return nil
	case r.exit == 0 && !r.killed:
		c.observe(s, o.kind, r.dur)
		c.logf("  %s: ok in %s", name, r.dur.Round(time.Millisecond))
		if o.art != nil {
			c.stats.ok++
			s.add(o.art)
		}
		return nil
	case r.killed:
		c.stats.killed++
		c.logf("  %s: killed -9 after %s", name, r.dur.Round(time.Millisecond))
	case daemonKilled:
		c.logf("  %s: failed (exit %d) when the daemon was killed", name, r.exit)
		if panicked(r.stderr) {
			c.fail("%s: %s", s.name, r)
		}
	default:
		c.fail("%s: %s failed without any kill: %s", s.name, name, r)
		return nil
	}
	if o.art == nil {
		return c.rerun(ctx, s, o)
	}
	c.stats.unclear++
	o.art.unclear = true
	return c.repush(ctx, s, o)
}

// rerun runs an interrupted gc, retention apply or admin rebuild again:
// it must succeed.
func (c *campaign) rerun(ctx context.Context, s *site, o *op) error {
	r, err := s.run(ctx, 0, "", o.args...)
	if err != nil {
		return err
	}
	if r.exit != 0 {
		c.fail("%s: re-run of an interrupted %s: %s", s.name, kindNames[o.kind], r)
		return nil
	}
	c.logf("    re-run ok")
	return nil
}

// repush re-runs an interrupted push: it must succeed, or fail with exit
// status 5 (conflict) because the interrupted one had registered the
// version before it died.
func (c *campaign) repush(ctx context.Context, s *site, o *op) error {
	r, err := s.run(ctx, 0, o.stdin, o.args...)
	if err != nil {
		return err
	}
	switch r.exit {
	case 0:
		c.stats.unclearAbsent++
		c.logf("    re-run pushed it")
	case exitConflict:
		c.stats.unclearPresent++
		o.art.present = true
		c.logf("    re-run found it registered")
	default:
		c.fail("%s: re-run of an interrupted push: %s", s.name, r)
		return nil
	}
	s.add(o.art)
	return nil
}

// exitConflict is artstore's exit status for "it already exists".
const exitConflict = 5

func (s *site) add(a *artifact) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.want = append(s.want, a)
}
