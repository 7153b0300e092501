package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// verifyReport is the part of `artstore verify --json` the campaign reads.
type verifyReport struct {
	OK       bool `json:"ok"`
	Problems []struct {
		Kind    string `json:"kind"`
		Ref     string `json:"ref"`
		Message string `json:"message"`
	} `json:"problems"`
}

// listed is the part of `artstore ls --json` the campaign reads.
type listed struct {
	Ref     string `json:"ref"`
	Deleted bool   `json:"deleted"`
}

// panicked reports whether a command's stderr shows a Go panic or fatal
// runtime error: a failure however the command was interrupted.
func panicked(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("panic: ")) || bytes.Contains(stderr, []byte("fatal error: "))
}

// check is the end of the campaign on one site: the deep verification and
// the log's chain must pass (orphaned blobs are expected after kills and
// do not count), every wanted artifact must pull back identical (or, for
// expendable ones, be deleted), after a gc with no grace too, and then
// nothing may be left unreferenced.
func (c *campaign) check(ctx context.Context, s *site) error {
	orphans, err := c.verify(ctx, s, true)
	if err != nil {
		return err
	}
	c.stats.orphans += orphans
	if err := c.logVerify(ctx, s); err != nil {
		return err
	}
	c.stats.tempFiles += countTemp(s)
	r, err := s.run(ctx, 0, "", "gc", "--grace", "0s", "--json")
	if err != nil {
		return err
	}
	if r.exit != 0 {
		c.fail("%s: final gc: %s", s.name, r)
	}
	if err := c.pullAll(ctx, s); err != nil {
		return err
	}
	left, err := c.verify(ctx, s, false)
	if err != nil {
		return err
	}
	if left > 0 {
		c.fail("%s: %d orphaned blobs left after gc --grace 0s with nothing in flight", s.name, left)
	}
	if s.d == nil {
		return nil
	}
	if err := s.d.stop(); err != nil {
		c.fail("%s: %v", s.name, err)
	}
	if s.d.log != "" {
		return nil
	}
	// The daemon's store read in local mode: its verify also compares the
	// views with a replay of the log and lists orphaned blobs.
	off := &site{name: s.name + " (offline)", bin: s.bin, dir: s.dir, env: s.env}
	if _, err := c.verify(ctx, off, true); err != nil {
		return err
	}
	return c.logVerify(ctx, off)
}

// verify runs verify --all (--deep) and fails the campaign on any problem
// but orphaned blobs, whose number it returns, and leftover temporary
// upload files: both are what a killed push leaves, and gc reclaims them.
func (c *campaign) verify(ctx context.Context, s *site, deep bool) (int, error) {
	args := []string{"verify", "--all", "--json"}
	if deep {
		args = append(args, "--deep")
	}
	r, err := s.run(ctx, 0, "", args...)
	if err != nil {
		return 0, err
	}
	var rep verifyReport
	if jerr := json.Unmarshal(r.stdout, &rep); jerr != nil {
		c.fail("%s: %s: unreadable report: %v", s.name, r, jerr)
		return 0, nil
	}
	orphans, expected := 0, 0
	for _, p := range rep.Problems {
		switch p.Kind {
		case "orphan":
			orphans++
			expected++
			continue
		case "temporary_files":
			expected++
			continue
		}
		c.fail("%s: verify: %s %s: %s", s.name, p.Kind, p.Ref, p.Message)
	}
	// verify reports orphans and temporary files without failing: any
	// exit status but 0, or "not ok", with only those is a failure.
	if r.exit != 0 && (r.exit != exitIntegrity || expected < len(rep.Problems) || expected == 0) {
		c.fail("%s: %s", s.name, r)
	}
	if !rep.OK && expected == len(rep.Problems) {
		c.fail("%s: verify says not ok with orphans and temporary files only: %s", s.name, r)
	}
	c.logf("%s: verify --all%s: %d problems (%d orphans)", s.name, map[bool]string{true: " --deep"}[deep], len(rep.Problems), orphans)
	return orphans, nil
}

// exitIntegrity is artstore's exit status for damage found.
const exitIntegrity = 4

func (c *campaign) logVerify(ctx context.Context, s *site) error {
	r, err := s.run(ctx, 0, "", "log", "verify", "--json")
	if err != nil {
		return err
	}
	var rep struct {
		OK     bool `json:"ok"`
		Events int  `json:"events"`
	}
	if r.exit != 0 || json.Unmarshal(r.stdout, &rep) != nil || !rep.OK {
		c.fail("%s: %s", s.name, r)
		return nil
	}
	c.logf("%s: log verify: ok, %d events", s.name, rep.Events)
	return nil
}

// pullAll pulls every wanted artifact and compares it with its source.
func (c *campaign) pullAll(ctx context.Context, s *site) error {
	r, err := s.run(ctx, 0, "", "ls", "--all", "--json", "--limit", "0")
	if err != nil {
		return err
	}
	var all []listed
	if r.exit != 0 || json.Unmarshal(r.stdout, &all) != nil {
		c.fail("%s: %s", s.name, r)
		return nil
	}
	deleted := map[string]bool{}
	for _, a := range all {
		deleted[a.Ref] = a.Deleted
	}
	dir := filepath.Join(s.dir, "pulled")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, a := range s.want {
		gone, listed := deleted[a.ref]
		switch {
		case !listed:
			c.lose(s, a, "not in ls --all")
			continue
		case gone && a.expendable:
			c.stats.expired++
			continue
		case gone:
			c.lose(s, a, "deleted, but no retention rule covers it")
			continue
		}
		out := filepath.Join(dir, fmt.Sprint(i))
		r, err := s.run(ctx, 0, "", "pull", a.ref, "-o", out)
		if err != nil {
			return err
		}
		if r.exit != 0 {
			c.lose(s, a, r.String())
			continue
		}
		sum, err := fingerprint(out)
		if err != nil {
			return err
		}
		if sum != a.sum {
			c.lose(s, a, fmt.Sprintf("pulled %s, pushed %s", sum, a.sum))
			continue
		}
		c.stats.pulled++
	}
	return nil
}

func (c *campaign) lose(s *site, a *artifact, why string) {
	c.stats.lost++
	how := "pushed"
	if a.unclear {
		how = "interrupted, then re-pushed"
		if a.present {
			how = "interrupted after registering"
		}
	}
	c.fail("%s: LOST %s (%s, %s): %s", s.name, a.ref, how, strings.TrimPrefix(a.src, s.dir), why)
}

// countTemp counts the upload files in the local backend's temporary
// directory (left by killed uploads; gc's business, not damage), not the
// writers' lock file beside them.
func countTemp(s *site) int {
	entries, err := os.ReadDir(filepath.Join(s.store(), "blobs", "tmp"))
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "put-") {
			n++
		}
	}
	return n
}
