package main

import (
	"bytes"
	"context"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestPoolIsSeeded(t *testing.T) {
	gen := func(dir string) []string {
		p := newPool(rand.New(rand.NewPCG(42, 1)), dir, 3)
		var sums []string
		for range 4 {
			f, err := p.file()
			if err != nil {
				t.Fatal(err)
			}
			tr, err := p.tree()
			if err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{f, tr} {
				s, err := fingerprint(path)
				if err != nil {
					t.Fatal(err)
				}
				sums = append(sums, s)
			}
		}
		return sums
	}
	a, b := gen(t.TempDir()), gen(t.TempDir())
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("output %d differs between two runs with one seed: %s, %s", i, a[i], b[i])
		}
	}
}

func TestPoolSharesSegments(t *testing.T) {
	p := newPool(rand.New(rand.NewPCG(7, 1)), t.TempDir(), 2)
	shared := 0
	for range 20 {
		b := p.content()
		for _, s := range p.segments {
			if len(s) > 0 && bytes.Contains(b, s) {
				shared++
				break
			}
		}
	}
	if shared < 5 {
		t.Errorf("%d of 20 contents hold a shared segment; pushes would rarely deduplicate", shared)
	}
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string, data string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("a/x", "one", 0o644)
	write("a/sub/y", "two", 0o755)
	write("b/x", "one", 0o644)
	write("b/sub/y", "two", 0o755)
	sum := func(rel string) string {
		t.Helper()
		s, err := fingerprint(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if sum("a") != sum("b") {
		t.Fatal("equal trees have different fingerprints")
	}
	if want := "sha256:7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed"; sum("a/x") != want {
		t.Errorf("file fingerprint %s, want the sha256 of its bytes %s", sum("a/x"), want)
	}
	write("b/sub/y", "two", 0o644)
	if sum("a") == sum("b") {
		t.Error("a lost executable bit does not change the fingerprint")
	}
	write("b/sub/y", "twO", 0o755)
	if sum("a") == sum("b") {
		t.Error("changed bytes do not change the fingerprint")
	}
	write("b/sub/z", "", 0o644)
	write("b/sub/y", "two", 0o755)
	if sum("a") == sum("b") {
		t.Error("an extra file does not change the fingerprint")
	}
}

// TestCheckFindsDamage runs the end-of-campaign check on a local store
// whose one chunk was overwritten behind artstore's back: the check must
// count the artifact as lost and fail.
func TestCheckFindsDamage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "artstore")
	build := exec.Command("go", "build", "-o", bin, "github.com/artifact-store/artstore/cmd/artstore")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx := context.Background()
	s, err := newSite("local", bin, filepath.Join(dir, "site"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.must(ctx, "init"); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "data.bin")
	if err := os.WriteFile(src, bytes.Repeat([]byte("campaign "), 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.must(ctx, "push", src, "--name", "camp/files/a", "--version", "1"); err != nil {
		t.Fatal(err)
	}
	sum, err := fingerprint(src)
	if err != nil {
		t.Fatal(err)
	}
	s.add(&artifact{ref: "camp/files/a:1", name: "camp/files/a", src: src, sum: sum})

	var out bytes.Buffer
	c := &campaign{out: &out, est: map[string]map[kind]time.Duration{}}
	if err := c.check(ctx, s); err != nil || len(c.failures) > 0 {
		t.Fatalf("check of an intact store: %v %q", err, c.failures)
	}
	// the one chunk: the blob whose size is the file's
	var chunk string
	err = filepath.WalkDir(filepath.Join(s.store(), "blobs", "sha256"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, _ := d.Info(); fi.Size() == 90000 {
				chunk = p
			}
		}
		return err
	})
	if err != nil || chunk == "" {
		t.Fatalf("no 90000-byte chunk in the store (%v)", err)
	}
	if err := os.Chmod(chunk, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chunk, bytes.Repeat([]byte("CAMPAIGN "), 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.check(ctx, s); err != nil {
		t.Fatal(err)
	}
	if c.stats.lost != 1 || len(c.failures) == 0 {
		t.Errorf("check of a damaged store: %d lost, failures %q; want 1 lost", c.stats.lost, c.failures)
	}
}
