package outpath

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

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

func requireNull(t *testing.T, path string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		t.Fatalf("%s is no longer the device node 1,3", path)
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	at := func(p string) string { return filepath.Join(dir, p) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(at("file"), nil, 0o644))
	must(os.Mkdir(at("dir"), 0o755))
	must(syscall.Mkfifo(at("fifo"), 0o600))
	must(os.Symlink("file", at("to-file")))
	must(os.Symlink("dir", at("to-dir")))
	must(os.Symlink("fifo", at("to-fifo")))
	must(os.Symlink("to-file", at("chain")))
	must(os.Symlink("new", at("dangling")))
	must(os.Symlink("dir/new", at("dangling-in-dir")))
	must(os.Symlink("loop-b", at("loop-a")))
	must(os.Symlink("loop-a", at("loop-b")))
	l, err := net.Listen("unix", at("sock"))
	must(err)
	defer l.Close()

	for _, tc := range []struct {
		given    string
		kind     Kind
		path     string // where the bytes go
		link     bool
		exists   bool
		inPlace  bool
		describe string
	}{
		{"missing", Missing, "missing", false, false, false, "missing"},
		{"file", Regular, "file", false, true, false, "file"},
		{"dir", Directory, "dir", false, true, false, "dir"},
		{"fifo", Special, "fifo", false, false, true, "fifo"},
		{"sock", Special, "sock", false, false, true, "sock"},
		{"to-file", Regular, "file", true, true, false, "to-file (a link to file)"},
		{"to-dir", Directory, "dir", true, true, false, "to-dir (a link to dir)"},
		{"to-fifo", Special, "to-fifo", true, false, true, "to-fifo"},
		{"chain", Regular, "file", true, true, false, "chain (a link to file)"},
		{"dangling", Missing, "new", true, false, false, "dangling (a link to new)"},
		{"dangling-in-dir", Missing, "dir/new", true, false, false, "dangling-in-dir (a link to dir/new)"},
	} {
		t.Run(tc.given, func(t *testing.T) {
			got, err := Resolve(at(tc.given))
			if err != nil {
				t.Fatal(err)
			}
			want := Target{Given: at(tc.given), Path: at(tc.path), Kind: tc.kind, Link: tc.link}
			// dir is a temporary directory that may itself be below a link.
			got.Path = strings.Replace(got.Path, mustEval(t, dir), dir, 1)
			if got.Given != want.Given || got.Path != want.Path || got.Kind != want.Kind || got.Link != want.Link {
				t.Fatalf("Resolve(%s) = %+v, want %+v", tc.given, got, want)
			}
			if got.Exists() != tc.exists || got.InPlace() != tc.inPlace {
				t.Fatalf("Exists %v InPlace %v, want %v %v", got.Exists(), got.InPlace(), tc.exists, tc.inPlace)
			}
			if d := strings.ReplaceAll(got.Describe(), dir+"/", ""); d != tc.describe {
				t.Fatalf("Describe() = %q, want %q", d, tc.describe)
			}
		})
	}
	if _, err := Resolve(at("loop-a")); !errors.Is(err, syscall.ELOOP) {
		t.Fatalf("a loop of links: got %v, want ELOOP", err)
	}
}

func mustEval(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestWriteFile: each kind of target gets the bytes the way the package
// promises, and what is there stays what it was.
func TestWriteFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	at := func(p string) string { return filepath.Join(dir, p) }
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(at(p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// A regular file is replaced, with the mode asked for.
	if err := os.WriteFile(at("file"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(ctx, at("file"), []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(at("file")); read("file") != "new" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file: %q %v", read("file"), fi.Mode())
	}

	// A link is written through and stays a link.
	if err := os.Symlink("file", at("link")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(ctx, at("link"), []byte("through"), 0o600); err != nil {
		t.Fatal(err)
	}
	if to, err := os.Readlink(at("link")); err != nil || to != "file" || read("file") != "through" {
		t.Fatalf("link: %q %v, file %q", to, err, read("file"))
	}

	// A device stays a device.
	mknodNull(t, at("null"))
	if err := WriteFile(ctx, at("null"), []byte("gone"), 0o600); err != nil {
		t.Fatal(err)
	}
	requireNull(t, at("null"))

	// A named pipe's reader gets the bytes; it stays a pipe.
	if err := syscall.Mkfifo(at("fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(at("fifo"))
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- string(b)
	}()
	if err := WriteFile(ctx, at("fifo"), []byte("piped"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "piped" {
			t.Fatalf("the pipe's reader got %q", s)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the pipe's reader got nothing")
	}
	if fi, err := os.Lstat(at("fifo")); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Fatalf("the pipe was replaced: %v %v", fi.Mode(), err)
	}

	// A socket cannot be opened: refused, and left alone.
	l, err := net.Listen("unix", at("sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := WriteFile(ctx, at("sock"), []byte("x"), 0o600); !errors.Is(err, ErrSocket) {
		t.Fatalf("socket: got %v, want ErrSocket", err)
	}
	if fi, err := os.Lstat(at("sock")); err != nil || fi.Mode()&fs.ModeSocket == 0 {
		t.Fatalf("the socket was replaced: %v %v", fi.Mode(), err)
	}

	// A directory is refused.
	if err := os.Mkdir(at("dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(ctx, at("dir"), []byte("x"), 0o600); err == nil {
		t.Fatal("WriteFile replaced a directory")
	}

	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
}

// TestDescriptor: /dev/stdout and /dev/fd/N lead to /proc/PID/fd links,
// which name files this process has open: a pipe, or the regular file a
// shell redirected to. They are written in place, without --force, and
// nothing is created or renamed (a pipe's "target" pipe:[N] names no file).
func TestDescriptor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	// A pipe, reached like /dev/stdout: a link to /proc/self/fd/N.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	stdout := filepath.Join(dir, "stdout")
	if err := os.Symlink("/proc/self/fd/"+strconv.Itoa(int(w.Fd())), stdout); err != nil {
		t.Fatal(err)
	}
	got, err := Resolve(stdout)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Descriptor || got.Kind != Special || got.Exists() || !got.InPlace() || got.Path != stdout {
		t.Fatalf("Resolve of a link to a pipe's descriptor: %+v", got)
	}
	if err := WriteFile(ctx, stdout, []byte("to the pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if b, _ := io.ReadAll(r); string(b) != "to the pipe" {
		t.Fatalf("the pipe got %q", b)
	}

	// A regular file open as a descriptor: written in place, truncated,
	// without a rename, so the open file is the one written.
	f, err := os.Create(filepath.Join(dir, "redirected"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("a longer previous content"); err != nil {
		t.Fatal(err)
	}
	fd := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	got, err = Resolve(fd)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Descriptor || got.Kind != Regular || got.Exists() || !got.InPlace() {
		t.Fatalf("Resolve of a regular file's descriptor: %+v", got)
	}
	before, _ := f.Stat()
	if err := WriteFile(ctx, fd, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(filepath.Join(dir, "redirected"))
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("the open file was replaced instead of written: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "redirected")); string(b) != "new" {
		t.Fatalf("the open file holds %q", b)
	}
}
