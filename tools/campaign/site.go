package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cmdTimeout bounds every artstore command: one still running by then
// hangs, which is a failure of its own.
const cmdTimeout = 2 * time.Minute

// readyTimeout bounds a daemon's start.
const readyTimeout = 30 * time.Second

// site is one store the campaign works on: local mode (the CLI opens the
// store directory itself) or a daemon the CLI talks to over HTTP.
type site struct {
	name string
	bin  string
	// dir holds the site's store (or the daemon's), HOME and config.
	dir string
	// env is the environment of every command run against the site.
	env []string
	// d is the daemon of a remote site, nil in local mode.
	d *daemon

	mu sync.Mutex
	// want lists every artifact that must be there at the end.
	want []*artifact
}

// artifact is what a push was asked to store.
type artifact struct {
	ref  string
	name string
	src  string
	// sum is the source's fingerprint.
	sum string
	// expendable artifacts live under the retention rule's pattern:
	// retention may delete them (with a tombstone), so at the end they are
	// either there and intact, or deleted.
	expendable bool
	// unclear is set when the first push did not answer; present tells
	// whether its re-run found it already registered.
	unclear, present bool
}

func newSite(name, bin, dir string) (*site, error) {
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"ARTSTORE_STORE=" + filepath.Join(dir, "store"),
		"TZ=UTC",
	}
	return &site{name: name, bin: bin, dir: dir, env: env}, nil
}

func (s *site) store() string { return filepath.Join(s.dir, "store") }

// result is how one command ended.
type result struct {
	args   []string
	exit   int
	killed bool
	hung   bool
	dur    time.Duration
	stdout []byte
	stderr []byte
}

func (r result) String() string {
	state := fmt.Sprintf("exit %d", r.exit)
	switch {
	case r.hung:
		state = "hung (killed after " + cmdTimeout.String() + ")"
	case r.killed:
		state = "killed -9"
	}
	return fmt.Sprintf("artstore %s: %s after %s\n%s", strings.Join(r.args, " "), state, r.dur.Round(time.Millisecond), tail(r.stderr))
}

// tail returns the last lines of a command's output, for a report.
func tail(b []byte) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 12 {
		lines = lines[len(lines)-12:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}

// run runs artstore with args against the site, with stdin from the file
// stdin when not empty. killAfter > 0 sends SIGKILL that long after the
// start if the command is still running.
func (s *site) run(ctx context.Context, killAfter time.Duration, stdin string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	var env []string
	if s.d != nil {
		env = append(env, s.d.env()...)
	}
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = append(append([]string{}, s.env...), env...)
	cmd.Dir = s.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			return result{}, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, fmt.Errorf("start artstore: %w", err)
	}
	var sent killFlag
	if killAfter > 0 {
		t := time.AfterFunc(killAfter, func() { sent.kill(cmd.Process) })
		defer t.Stop()
	}
	err := cmd.Wait()
	r := result{args: args, dur: time.Since(start), stdout: stdout.Bytes(), stderr: stderr.Bytes(), exit: cmd.ProcessState.ExitCode()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil && r.exit != 0:
		r.hung = true
	case errors.As(err, &ee):
		ws, _ := ee.Sys().(syscall.WaitStatus)
		r.killed = ws.Signaled() && ws.Signal() == syscall.SIGKILL && sent.done()
	case err != nil:
		return r, fmt.Errorf("artstore %s: %w", strings.Join(args, " "), err)
	}
	return r, nil
}

// killFlag records that the campaign sent SIGKILL, so a process killed by
// anyone else is not taken for one of ours.
type killFlag struct {
	mu   sync.Mutex
	sent bool
}

func (k *killFlag) kill(p *os.Process) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p.Signal(syscall.SIGKILL) == nil {
		k.sent = true
	}
}

func (k *killFlag) done() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sent
}

// daemon is `artstore serve` run as a child process.
type daemon struct {
	s *site
	// log is the --log DSN; empty for the SQLite file in the store.
	log string
	// mu guards url, which a restart changes while commands start.
	mu    sync.Mutex
	url   string
	token string
	cmd   *exec.Cmd
	done  chan struct{}
	// stderr collects the daemon's output across restarts.
	stderr *os.File
	starts int
}

func (d *daemon) env() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return []string{"ARTSTORE_SERVER=" + d.url, "ARTSTORE_TOKEN=" + d.token}
}

// start starts the daemon on addr (host:port; port 0 lets it choose) and
// waits for its ready file.
func (d *daemon) start(addr string) error {
	d.starts++
	ready := filepath.Join(d.s.dir, fmt.Sprintf("ready-%d", d.starts))
	args := []string{"serve", "--listen", addr, "--ready-file", ready, "--drain", "2s"}
	if d.log != "" {
		args = append(args, "--log", d.log)
	}
	cmd := exec.Command(d.s.bin, args...)
	cmd.Env = d.s.env
	cmd.Dir = d.s.dir
	cmd.Stdout, cmd.Stderr = d.stderr, d.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(ready); err == nil && len(bytes.TrimSpace(b)) > 0 {
			d.mu.Lock()
			d.url, d.cmd, d.done = strings.TrimSpace(string(b)), cmd, done
			d.mu.Unlock()
			break
		}
		select {
		case <-done:
			return fmt.Errorf("daemon exited before it was ready (%s); see %s", cmd.ProcessState, d.stderr.Name())
		case <-deadline.C:
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("daemon not ready after %s; see %s", readyTimeout, d.stderr.Name())
		case <-tick.C:
		}
	}
	if d.token != "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(d.s.store(), "bootstrap-token"))
	if err != nil {
		return fmt.Errorf("daemon's bootstrap token: %w", err)
	}
	d.token = strings.TrimSpace(string(b))
	return nil
}

// running reports whether the daemon's process is alive.
func (d *daemon) running() bool {
	if d.cmd == nil {
		return false
	}
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the daemon and waits for it to die.
func (d *daemon) kill() {
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// restart starts the daemon again after a kill, on the same port when it
// is still free (clients retrying then reach it), else on a new one.
func (d *daemon) restart() error {
	d.mu.Lock()
	addr := strings.TrimPrefix(d.url, "http://")
	d.mu.Unlock()
	if err := d.start(addr); err == nil {
		return nil
	}
	return d.start("127.0.0.1:0")
}

// stop stops the daemon gracefully (SIGTERM) and waits for it.
func (d *daemon) stop() error {
	if !d.running() {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.kill()
		return fmt.Errorf("daemon did not stop within 30s of SIGTERM")
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("daemon exited with status %d on SIGTERM; see %s", code, d.stderr.Name())
	}
	return nil
}

// startDaemon turns s into a remote site: a daemon over the site's store
// directory (its SQLite log, or logDSN), which every command then uses.
func startDaemon(s *site, logDSN string) error {
	f, err := os.Create(filepath.Join(s.dir, "daemon.log"))
	if err != nil {
		return err
	}
	d := &daemon{s: s, log: logDSN, stderr: f}
	if err := d.start("127.0.0.1:0"); err != nil {
		f.Close()
		return err
	}
	s.d = d
	return nil
}
