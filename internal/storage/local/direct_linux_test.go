package local

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func directOn(t *testing.T, f *os.File) bool {
	t.Helper()
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		t.Fatal(err)
	}
	return flags&unix.O_DIRECT != 0
}

// TestNewDirectWriter: on a real file, a blob below directMin is left to
// the page cache, and a large one gets O_DIRECT where the filesystem has
// it (the test directory's may not).
func TestNewDirectWriter(t *testing.T) {
	var bufs directBuffers
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if w := newDirectWriter(f, directMin-1, &bufs); w != nil {
		t.Fatal("a blob below directMin got a direct writer")
	}
	w := newDirectWriter(f, directMin, &bufs)
	if w == nil {
		t.Skipf("no direct I/O here (%s): nothing more to check", f.Name())
	}
	defer w.release()
	if !directOn(t, f) {
		t.Fatal("newDirectWriter returned a writer, but O_DIRECT is not set on the file")
	}
	if _, err := w.Write(make([]byte, directMin+10)); err != nil {
		t.Fatal(err)
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if directOn(t, f) {
		t.Fatal("O_DIRECT still set after an unaligned tail was written")
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != directMin+10 {
		t.Fatalf("file: %v, %v; want %d bytes", fi, err, directMin+10)
	}
}
