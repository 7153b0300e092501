package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/artifact-store/artstore/internal/content"
)

// pushData pushes data to a new memStore with small chunks.
func pushData(t *testing.T, data []byte) (*memStore, PushResult) {
	t.Helper()
	s := newMemStore()
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	return s, res
}

// mknodNull makes a device node like /dev/null (character 1,3) at path.
func mknodNull(t *testing.T, path string) {
	t.Helper()
	err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
	if errors.Is(err, unix.EPERM) {
		t.Skipf("cannot create a device node here (mknod: %v); the device-node cases need root", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// requireNull fails unless path is still a character device 1,3.
func requireNull(t *testing.T, path string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		fi, _ := os.Lstat(path)
		t.Fatalf("%s is no longer the device node 1,3: mode %v", path, fi.Mode())
	}
}

// requireOnly fails unless dir holds exactly names (no temporary file left).
func requireOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if len(got) != len(names) {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
	for i := range got {
		if got[i] != names[i] {
			t.Fatalf("%s holds %v, want %v", dir, got, names)
		}
	}
}

// TestPullToFileDevice: a device node is written in place and stays a
// device; a verification failure still fails the pull (the bytes written
// before it cannot be taken back) and leaves it a device.
func TestPullToFileDevice(t *testing.T) {
	data := randBytes(31, 300<<10)
	s, res := pushData(t, data)
	dir := t.TempDir()
	dev := filepath.Join(dir, "null")
	mknodNull(t, dev)

	pr, err := PullToFile(context.Background(), res.ManifestDigest, s, dev, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	requireNull(t, dev)
	requireOnly(t, dir, "null")
	if pr.Written != int64(len(data)) {
		t.Fatalf("wrote %d bytes, want %d", pr.Written, len(data))
	}
	// With --force semantics there is nothing more to it: PullPath too.
	if _, err := PullPath(context.Background(), res.ManifestDigest, s, dev, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	requireNull(t, dev)

	m := manifestOf(t, s, res.ManifestDigest)
	s.corrupt(m.Chunks[len(m.Chunks)-1].Digest)
	if _, err := PullToFile(context.Background(), res.ManifestDigest, s, dev, PullOptions{Retry: fastRetry()}); !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("pull of a corrupt chunk to a device: got %v, want ErrMismatch", err)
	}
	requireNull(t, dev)
	requireOnly(t, dir, "null")
}

// TestPullToFileFIFO: a named pipe is written in place: its reader gets
// every byte, and it is still a pipe afterwards.
func TestPullToFileFIFO(t *testing.T) {
	data := randBytes(32, 500<<10) // more than a pipe's buffer
	s, res := pushData(t, data)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A second name for the pipe, to release the reader if the pull
	// replaces the first one.
	keep := filepath.Join(t.TempDir(), "keep")
	if err := os.Link(fifo, keep); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if w, err := os.OpenFile(keep, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()

	if _, err := PullToFile(context.Background(), res.ManifestDigest, s, fifo, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("the named pipe was replaced: %v %v", fi.Mode(), err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, data) {
			t.Fatalf("the reader got %d bytes that differ from the %d pulled", len(b), len(data))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reader of the pipe got no end of file")
	}
	requireOnly(t, dir, "pipe")
}

// TestPullToFileFIFOCancel: waiting for a pipe's reader ends with ctx.
func TestPullToFileFIFOCancel(t *testing.T) {
	s, res := pushData(t, []byte("hello"))
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := PullToFile(ctx, res.ManifestDigest, s, fifo, PullOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("pull to a pipe nobody reads: got %v, want the context's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("pull to a pipe nobody reads did not end with its context")
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("the named pipe was replaced: %v %v", fi.Mode(), err)
	}
	requireOnly(t, dir, "pipe")
}

// TestPullToFileSymlink: a symbolic link is written through, to its final
// target, and stays a link; a dangling link's target is created.
func TestPullToFileSymlink(t *testing.T) {
	data := randBytes(33, 100<<10)
	s, res := pushData(t, data)
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, dir string) // makes "link" and what it points to
		target string                         // relative to dir: where the bytes go
	}{
		{"link to a file", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "real.txt"), "old")
			symlink(t, "real.txt", filepath.Join(dir, "link"))
		}, "real.txt"},
		{"dangling link", func(t *testing.T, dir string) {
			symlink(t, "new.txt", filepath.Join(dir, "link"))
		}, "new.txt"},
		{"chain of links", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "c.txt"), "old")
			symlink(t, "c.txt", filepath.Join(dir, "b"))
			symlink(t, "b", filepath.Join(dir, "link"))
		}, "c.txt"},
		{"absolute link into another directory", func(t *testing.T, dir string) {
			mkdir(t, filepath.Join(dir, "other"))
			write(t, filepath.Join(dir, "other", "real.txt"), "old")
			symlink(t, filepath.Join(dir, "other", "real.txt"), filepath.Join(dir, "link"))
		}, "other/real.txt"},
		{"dangling link through a linked directory", func(t *testing.T, dir string) {
			mkdir(t, filepath.Join(dir, "a", "b"))
			symlink(t, filepath.Join("a", "b"), filepath.Join(dir, "ab"))
			// ab/../new.txt is a/new.txt for the kernel, not dir/new.txt.
			symlink(t, "ab/../new.txt", filepath.Join(dir, "link"))
		}, "a/new.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			before, err := os.Readlink(filepath.Join(dir, "link"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := PullToFile(context.Background(), res.ManifestDigest, s, filepath.Join(dir, "link"), PullOptions{}); err != nil {
				t.Fatal(err)
			}
			if after, err := os.Readlink(filepath.Join(dir, "link")); err != nil || after != before {
				t.Fatalf("the link was replaced: now %q (%v), was a link to %q", after, err, before)
			}
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(tc.target)))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s does not hold the pulled bytes (%d bytes, %v)", tc.target, len(got), err)
			}
			filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err == nil && filepath.Ext(p) == ".tmp" {
					t.Errorf("temporary file left: %s", p)
				}
				return nil
			})
		})
	}

	t.Run("link to a device", func(t *testing.T) {
		dir := t.TempDir()
		mknodNull(t, filepath.Join(dir, "null"))
		symlink(t, "null", filepath.Join(dir, "link"))
		if _, err := PullToFile(context.Background(), res.ManifestDigest, s, filepath.Join(dir, "link"), PullOptions{}); err != nil {
			t.Fatal(err)
		}
		requireNull(t, filepath.Join(dir, "null"))
		if _, err := os.Readlink(filepath.Join(dir, "link")); err != nil {
			t.Fatalf("the link was replaced: %v", err)
		}
		requireOnly(t, dir, "link", "null")
	})
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, to, at string) {
	t.Helper()
	if err := os.Symlink(to, at); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

// pushTreeOf pushes a tree of files (path -> content) to a new memStore.
func pushTreeOf(t *testing.T, files map[string]string) (*memStore, PushResult) {
	t.Helper()
	src := t.TempDir()
	writeTree(t, src, files, nil)
	s := newMemStore()
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	return s, res
}

// TestPullTreeRefusesLinksInside: a symbolic link inside the destination,
// on the way to an entry or at its path, fails the pull with a message
// naming it; nothing is written through it and it stays.
func TestPullTreeRefusesLinksInside(t *testing.T) {
	s, res := pushTreeOf(t, map[string]string{"a.txt": "a", "sub/f.txt": "f", "sub/deep/g.txt": "g", "z.txt": "z"})
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dst string)
		link  string // the link the error names, relative to dst
	}{
		{"file entry is a link", func(t *testing.T, dst string) {
			write(t, filepath.Join(dst, "other.txt"), "keep")
			symlink(t, "other.txt", filepath.Join(dst, "a.txt"))
		}, "a.txt"},
		{"directory on the way is a link", func(t *testing.T, dst string) {
			mkdir(t, filepath.Join(dst, "elsewhere"))
			symlink(t, "elsewhere", filepath.Join(dst, "sub"))
		}, "sub"},
		{"deeper directory is a link", func(t *testing.T, dst string) {
			mkdir(t, filepath.Join(dst, "sub"))
			mkdir(t, filepath.Join(dst, "elsewhere"))
			symlink(t, "../elsewhere", filepath.Join(dst, "sub", "deep"))
		}, "sub/deep"},
		{"dangling link at a file entry", func(t *testing.T, dst string) {
			symlink(t, "nowhere.txt", filepath.Join(dst, "z.txt"))
		}, "z.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := t.TempDir()
			tc.setup(t, dst)
			before := snapshot(t, dst)
			_, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{})
			if !errors.Is(err, ErrLinkInDestination) {
				t.Fatalf("got %v, want ErrLinkInDestination", err)
			}
			if want := filepath.Join(dst, filepath.FromSlash(tc.link)) + " is a symbolic link"; !strings.Contains(err.Error(), want) {
				t.Fatalf("the error %q does not name the link (%q)", err, want)
			}
			// Entries before the link may have been written; nothing was
			// written through it, and every link is as it was.
			after := snapshot(t, dst)
			for p, v := range before {
				if after[p] != v {
					t.Errorf("%s changed: %q -> %q", p, v, after[p])
				}
			}
			for p := range after {
				if strings.HasPrefix(p, "elsewhere") || p == "nowhere.txt" {
					if _, ok := before[p]; !ok {
						t.Errorf("the pull wrote %s through a link", p)
					}
				}
			}
		})
	}
}

// TestPullTreeTrustedLinksInside: with TrustLinks a pull goes through a
// directory link inside the destination that stays inside it; the os.Root
// still refuses one that leads outside.
func TestPullTreeTrustedLinksInside(t *testing.T) {
	s, res := pushTreeOf(t, map[string]string{"a.txt": "a", "sub/f.txt": "f"})
	dst := t.TempDir()
	mkdir(t, filepath.Join(dst, "elsewhere"))
	symlink(t, "elsewhere", filepath.Join(dst, "sub"))
	if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst, PullOptions{TrustLinks: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "elsewhere", "f.txt")); err != nil || string(b) != "f" {
		t.Fatalf("through the trusted link: %q, %v", b, err)
	}
	outside := t.TempDir()
	dst2 := t.TempDir()
	symlink(t, outside, filepath.Join(dst2, "sub"))
	if _, err := PullTree(context.Background(), res.ManifestDigest, s, dst2, PullOptions{TrustLinks: true}); err == nil {
		t.Fatal("a trusted link leading outside the destination was written through")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("the pull wrote outside the destination: %v", ents)
	}
}

// TestPullTreeDestinationLink: the destination given may be a link to a
// directory; it is followed and stays a link. A dangling one has its
// target created.
func TestPullTreeDestinationLink(t *testing.T) {
	s, res := pushTreeOf(t, map[string]string{"a.txt": "a", "sub/f.txt": "f"})
	for _, dangling := range []bool{false, true} {
		t.Run(map[bool]string{false: "link to a directory", true: "dangling link"}[dangling], func(t *testing.T) {
			dir := t.TempDir()
			if !dangling {
				mkdir(t, filepath.Join(dir, "real"))
			}
			symlink(t, "real", filepath.Join(dir, "dst"))
			if _, err := PullTree(context.Background(), res.ManifestDigest, s, filepath.Join(dir, "dst"), PullOptions{}); err != nil {
				t.Fatal(err)
			}
			if to, err := os.Readlink(filepath.Join(dir, "dst")); err != nil || to != "real" {
				t.Fatalf("the destination link was replaced: %q %v", to, err)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "real", "sub", "f.txt")); err != nil || string(b) != "f" {
				t.Fatalf("the tree is not in the link's target: %q %v", b, err)
			}
		})
	}
	t.Run("device", func(t *testing.T) {
		dir := t.TempDir()
		dev := filepath.Join(dir, "null")
		mknodNull(t, dev)
		if _, err := PullTree(context.Background(), res.ManifestDigest, s, dev, PullOptions{}); !errors.Is(err, ErrNotDirectory) {
			t.Fatalf("pull of a tree to a device: got %v, want a refusal", err)
		}
		requireNull(t, dev)
	})
}

// TestPullCheck: a Check failure leaves every kind of target untouched.
func TestPullCheck(t *testing.T) {
	s, res := pushData(t, []byte("payload"))
	refuse := errors.New("not what was registered")
	opts := PullOptions{Check: func(m content.Manifest) error {
		if m.Kind != content.KindFile || m.Size != 7 {
			t.Errorf("Check got %+v", m)
		}
		return refuse
	}}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "file"), "old")
	mknodNull(t, filepath.Join(dir, "null"))
	for _, p := range []string{"file", "missing", "null"} {
		if _, err := PullPath(context.Background(), res.ManifestDigest, s, filepath.Join(dir, p), opts); !errors.Is(err, refuse) {
			t.Fatalf("PullPath %s: got %v, want the Check's error", p, err)
		}
	}
	if _, err := Pull(context.Background(), res.ManifestDigest, s, io.Discard, opts); !errors.Is(err, refuse) {
		t.Fatalf("Pull: got %v, want the Check's error", err)
	}
	requireNull(t, filepath.Join(dir, "null"))
	requireOnly(t, dir, "file", "null")
	if b, _ := os.ReadFile(filepath.Join(dir, "file")); string(b) != "old" {
		t.Fatalf("the file was changed to %q", b)
	}
}

// TestPullStreamToFileTargets: the content-stream pull (a daemon's content
// route) writes by the same rules: a device stays a device, a link stays a
// link and its target gets the bytes.
func TestPullStreamToFileTargets(t *testing.T) {
	data := randBytes(34, 50<<10)
	stream := func() Stream {
		return Stream{Body: bytes.NewReader(data), Digest: content.FromBytes(data), Size: int64(len(data))}
	}
	dir := t.TempDir()
	write(t, filepath.Join(dir, "real"), "old")
	symlink(t, "real", filepath.Join(dir, "link"))
	if _, err := PullStreamToFile(context.Background(), stream(), filepath.Join(dir, "link"), PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if to, err := os.Readlink(filepath.Join(dir, "link")); err != nil || to != "real" {
		t.Fatalf("the link was replaced: %q %v", to, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "real")); !bytes.Equal(b, data) {
		t.Fatal("the link's target does not hold the bytes")
	}
	mknodNull(t, filepath.Join(dir, "null"))
	if _, err := PullStreamToFile(context.Background(), stream(), filepath.Join(dir, "null"), PullOptions{}); err != nil {
		t.Fatal(err)
	}
	requireNull(t, filepath.Join(dir, "null"))
	requireOnly(t, dir, "link", "null", "real")
}
