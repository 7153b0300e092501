package local

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// TestDirectReadOfUncachedBlob: a blob written with O_DIRECT is not in the
// page cache, so Get-style reads of it bypass the cache too (where the
// filesystem has direct I/O) and return its bytes; one written through the
// page cache is read from there.
func TestDirectReadOfUncachedBlob(t *testing.T) {
	var bufs directBuffers
	dir := t.TempDir()
	p := filepath.Join(dir, "direct")
	data := writeDirect(t, p, 7, &bufs)

	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	dr := newDirectReader(f, 4095, int64(len(data)-4095), &bufs)
	if dr == nil {
		f.Close()
		t.Fatal("a blob written with O_DIRECT was not read with it (its first page is cached?)")
	}
	got, err := io.ReadAll(dr)
	dr.Close()
	if err != nil || !bytes.Equal(got, data[4095:]) {
		t.Fatalf("direct read: %d bytes, %v; want %d matching", len(got), err, len(data)-4095)
	}

	cachedPath := filepath.Join(dir, "cached")
	if err := os.WriteFile(cachedPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err = os.Open(cachedPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if dr := newDirectReader(f, 0, int64(len(data)), &bufs); dr != nil {
		t.Fatal("a blob just written through the page cache was read with O_DIRECT")
	}
}

// TestDirectReadLeavesNoCache: reading a blob that is not in the page
// cache with direct I/O brings none of it in, not even through the check
// of whether it is cached, so a second read is direct too (and the blob
// keeps out of the cache however often it is read).
func TestDirectReadLeavesNoCache(t *testing.T) {
	var bufs directBuffers
	p := filepath.Join(t.TempDir(), "direct")
	data := writeDirect(t, p, 5, &bufs)
	aligned := uint64(len(data)) &^ (directAlign - 1) // the tail page was written through the cache
	for i := range 2 {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		dr := newDirectReader(f, 0, int64(len(data)), &bufs)
		if dr == nil {
			f.Close()
			t.Fatalf("read %d of a blob written with O_DIRECT was not direct", i+1)
		}
		got, err := io.ReadAll(dr)
		dr.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %d: %d bytes, %v", i+1, len(got), err)
		}
		time.Sleep(50 * time.Millisecond) // for any readahead the reads started to land
		f, err = os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Cachestat_t
		err = unix.Cachestat(uint(f.Fd()), &unix.CachestatRange{Off: 0, Len: aligned}, &st, 0)
		f.Close()
		if errors.Is(err, unix.ENOSYS) {
			t.Skip("no cachestat(2) on this kernel to check the cache with")
		}
		if err != nil {
			t.Fatal(err)
		}
		if st.Cache != 0 {
			t.Errorf("after read %d, %d pages of the blob are in the page cache; want none", i+1, st.Cache)
		}
	}
}

// writeDirect writes a blob of two bounce buffers and a bit (bytes i*mul)
// to the new file p with the direct writer, and returns its bytes; it
// skips the test where the filesystem has no direct I/O.
func writeDirect(t *testing.T, p string, mul int, bufs *directBuffers) []byte {
	t.Helper()
	data := make([]byte, 2*directBuffer+777)
	for i := range data {
		data[i] = byte(i * mul)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := newDirectWriter(f, int64(len(data)), bufs)
	if w == nil {
		f.Close()
		t.Skipf("no direct I/O here (%s)", p)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return data
}
