package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
)

// pool is the generated test data: a few shared segments that files are
// assembled from (so pushes deduplicate against each other), and the
// random source that picks sizes and contents.
type pool struct {
	rng      *rand.Rand
	dir      string
	segments [][]byte
	next     int
}

// newPool makes n shared segments of 64 KiB to 3 MiB each. Chunks are cut
// by content (512 KiB minimum, 2 MiB average), so the larger segments give
// whole chunks that several files share.
func newPool(rng *rand.Rand, dir string, n int) *pool {
	p := &pool{rng: rng, dir: dir}
	for range n {
		p.segments = append(p.segments, p.random(64<<10+rng.IntN(3<<20)))
	}
	return p
}

// random returns n pseudo-random bytes drawn from the pool's source.
func (p *pool) random(n int) []byte {
	var seed [32]byte
	for i := range 4 {
		v := p.rng.Uint64()
		for j := range 8 {
			seed[i*8+j] = byte(v >> (8 * j))
		}
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seed).Read(b) // ChaCha8.Read never fails
	return b
}

// content returns a file's bytes: now and then empty or tiny, usually a
// few shared segments with unique bytes around them.
func (p *pool) content() []byte {
	switch p.rng.IntN(10) {
	case 0:
		return nil
	case 1:
		return p.random(1 + p.rng.IntN(4096))
	}
	var b []byte
	for range 1 + p.rng.IntN(3) {
		if p.rng.IntN(3) > 0 {
			b = append(b, p.segments[p.rng.IntN(len(p.segments))]...)
		}
		b = append(b, p.random(p.rng.IntN(1<<20))...)
	}
	return b
}

// file writes a new file and returns its path.
func (p *pool) file() (string, error) {
	p.next++
	path := filepath.Join(p.dir, fmt.Sprintf("f%04d.bin", p.next))
	if err := os.WriteFile(path, p.content(), 0o644); err != nil {
		return "", fmt.Errorf("generate data: %w", err)
	}
	return path, nil
}

// tree writes a new directory of 1 to 6 files, some in a subdirectory,
// one of them executable, and returns its path.
func (p *pool) tree() (string, error) {
	p.next++
	root := filepath.Join(p.dir, fmt.Sprintf("t%04d", p.next))
	for i := range 1 + p.rng.IntN(6) {
		dir := root
		if p.rng.IntN(3) == 0 {
			dir = filepath.Join(root, fmt.Sprintf("d%d", p.rng.IntN(2)))
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("generate data: %w", err)
		}
		mode := os.FileMode(0o644)
		if i == 0 {
			mode = 0o755
		}
		b := p.content()
		if len(b) > 2<<20 {
			b = b[:2<<20]
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("e%d.bin", i)), b, mode); err != nil {
			return "", fmt.Errorf("generate data: %w", err)
		}
	}
	return root, nil
}

// fingerprint describes a file or a directory by content: for a file the
// sha256 of its bytes; for a directory one line per regular file (path,
// executable bit, sha256), sorted. Two equal fingerprints mean the pull
// gave back what was pushed.
func fingerprint(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return fileSum(path)
	}
	var lines []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		sum, err := fileSum(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		lines = append(lines, fmt.Sprintf("%s %v %s", filepath.ToSlash(rel), info.Mode().Perm()&0o100 != 0, sum))
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		fmt.Fprintln(h, l)
	}
	return "tree:" + hex.EncodeToString(h.Sum(nil)), nil
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
