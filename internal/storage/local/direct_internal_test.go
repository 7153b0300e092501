package local

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// directSink stands in for a file: it records each write and whether it
// was made with O_DIRECT on, and can refuse direct writes like a
// filesystem without support for them.
type directSink struct {
	data     bytes.Buffer
	direct   bool
	refuse   bool // direct writes fail with EINVAL
	switches []bool
	writes   []sinkWrite
}

type sinkWrite struct {
	off, n int
	direct bool
	addr   uintptr // where a read landed (fakeFile)
}

func (s *directSink) Write(p []byte) (int, error) {
	if s.direct && s.refuse {
		return 0, syscall.EINVAL
	}
	s.writes = append(s.writes, sinkWrite{off: s.data.Len(), n: len(p), direct: s.direct})
	return s.data.Write(p)
}

func (s *directSink) set(on bool) error {
	s.switches = append(s.switches, on)
	s.direct = on
	return nil
}

func newSinkWriter(s *directSink, bufs *directBuffers) *directWriter {
	s.direct = true
	return &directWriter{out: s, set: s.set, bufs: bufs, buf: bufs.get(), direct: true}
}

// TestDirectWriterAlignment: every write made with O_DIRECT on starts at an
// aligned offset and has an aligned length, from an aligned buffer; the
// bytes arrive whole and in order, whatever the sizes of the writes fed in;
// O_DIRECT is switched off at most once, for the unaligned tail.
func TestDirectWriterAlignment(t *testing.T) {
	var bufs directBuffers
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, directAlign - 1, directAlign, directAlign + 1,
		directBuffer - 1, directBuffer, directBuffer + 1, 3*directBuffer + directAlign, 3*directBuffer + 12345}
	for _, size := range sizes {
		for _, piece := range []int{1 << 10, 256 << 10, directBuffer + 7, 8 << 20} {
			src := make([]byte, size)
			for i := range src {
				src[i] = byte(r.Uint32())
			}
			s := &directSink{}
			w := newSinkWriter(s, &bufs)
			if uintptr(addr(w.buf))%directAlign != 0 || len(w.buf) != directBuffer {
				t.Fatalf("buffer at %#x, %d bytes: want %d-aligned, %d bytes", addr(w.buf), len(w.buf), directAlign, directBuffer)
			}
			for p := src; len(p) > 0; {
				n := min(len(p), 1+r.IntN(piece))
				if m, err := w.Write(p[:n]); m != n || err != nil {
					t.Fatalf("Write = %d, %v; want %d, nil", m, err, n)
				}
				p = p[n:]
			}
			if err := w.finish(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(s.data.Bytes(), src) {
				t.Fatalf("size %d, pieces ≤ %d: the bytes written differ from the source", size, piece)
			}
			for _, wr := range s.writes {
				if wr.direct && (wr.off%directAlign != 0 || wr.n%directAlign != 0) {
					t.Fatalf("size %d: direct write of %d bytes at offset %d is not %d-aligned", size, wr.n, wr.off, directAlign)
				}
			}
			wantSwitch := size%directAlign != 0
			if got := len(s.switches) == 1 && !s.switches[0]; got != wantSwitch || len(s.switches) > 1 {
				t.Fatalf("size %d: O_DIRECT switched %v; want one switch off only for an unaligned tail (%v)", size, s.switches, wantSwitch)
			}
			if direct := size - size%directAlign; direct > 0 && !s.writes[0].direct {
				t.Fatalf("size %d: the first write was not direct", size)
			}
		}
	}
	if len(bufs.free) == 0 || len(bufs.free) > directKeep {
		t.Fatalf("%d buffers kept for reuse; want 1..%d", len(bufs.free), directKeep)
	}
}

// TestDirectWriterFallsBack: a filesystem that refuses direct writes gets
// every byte through the page cache instead, and no error.
func TestDirectWriterFallsBack(t *testing.T) {
	var bufs directBuffers
	src := bytes.Repeat([]byte("0123456789abcdef"), (3*directBuffer+100)/16)
	s := &directSink{refuse: true}
	w := newSinkWriter(s, &bufs)
	if _, err := w.Write(src); err != nil {
		t.Fatal(err)
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.data.Bytes(), src) {
		t.Fatal("the bytes written differ from the source")
	}
	if len(s.switches) != 1 || s.switches[0] {
		t.Fatalf("O_DIRECT switched %v; want off once", s.switches)
	}
	for _, wr := range s.writes {
		if wr.direct {
			t.Fatalf("a write went through with O_DIRECT refused: %+v", wr)
		}
	}
}

// TestDirectWriterWriteError: an error other than EINVAL is returned, not
// papered over by a retry through the page cache.
func TestDirectWriterWriteError(t *testing.T) {
	var bufs directBuffers
	w := &directWriter{out: failWriter{}, set: func(bool) error { return nil }, bufs: &bufs, buf: bufs.get(), direct: true}
	_, err := w.Write(make([]byte, directBuffer))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Write = %v; want ENOSPC", err)
	}
	w.release()
	w.release() // idempotent
	if len(bufs.free) != 1 {
		t.Fatalf("%d buffers kept after release; want 1", len(bufs.free))
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

// fakeFile serves preads from data, records each, and can refuse direct
// reads like a filesystem without support for them.
type fakeFile struct {
	data   []byte
	direct bool
	refuse bool
	reads  []sinkWrite
}

func (f *fakeFile) pread(buf []byte, off int64) (int, error) {
	if f.direct && f.refuse {
		return 0, syscall.EINVAL
	}
	f.reads = append(f.reads, sinkWrite{off: int(off), n: len(buf), direct: f.direct, addr: addr(buf)})
	if off >= int64(len(f.data)) {
		return 0, nil
	}
	return copy(buf, f.data[off:]), nil
}

func (f *fakeFile) set(on bool) error { f.direct = on; return nil }

func newFakeReader(f *fakeFile, bufs *directBuffers, start, n int64) *directReader {
	f.direct = true
	aligned := start &^ (directAlign - 1)
	return &directReader{read: f.pread, set: f.set, bufs: bufs, buf: bufs.get(),
		next: aligned, skip: int(start - aligned), left: n, direct: true}
}

// TestDirectReaderSections: every section comes back exactly, each direct
// read is of aligned blocks at an aligned offset into aligned memory (the
// bounce buffer, or the caller's when it is aligned: then it goes straight
// there), and a file shorter than the section ends the reader early (the
// caller's size check reports it).
func TestDirectReaderSections(t *testing.T) {
	var bufs directBuffers
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 3*directBuffer+4099)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	n := int64(len(data))
	for _, sec := range [][2]int64{{0, n}, {1, n - 1}, {4097, directBuffer}, {directBuffer - 5, 10},
		{directBuffer, directBuffer}, {n - 1, 1}, {3 * directBuffer, 4099}} {
		for _, piece := range []int{1, 4 << 10, directBuffer + 3, 4*directBuffer + directAlign} {
			for _, shift := range []int{0, 1} { // the caller's buffer aligned or not
				testDirectSection(t, &bufs, data, sec, piece, shift)
			}
		}
	}

	// A file that ends before the section does, read through the bounce
	// buffer and straight into the caller's.
	for _, piece := range []int{4 << 10, 2 * directBuffer} {
		f := &fakeFile{data: data[:directBuffer+10]}
		dr := newFakeReader(f, &bufs, 0, n)
		got := readInPieces(t, dr, alignedBytes(piece))
		if !bytes.Equal(got, data[:directBuffer+10]) {
			t.Fatalf("short file, reads of %d: %d bytes; want the %d there are", piece, len(got), directBuffer+10)
		}
	}
	f := &fakeFile{data: data[:directBuffer+10]}
	got, err := io.ReadAll(newFakeReader(f, &bufs, 100, n-100))
	if err != nil || !bytes.Equal(got, data[100:directBuffer+10]) {
		t.Fatalf("short file: %d bytes, %v; want the %d there are", len(got), err, directBuffer+10-100)
	}
}

// alignedBytes returns n bytes at an aligned address.
func alignedBytes(n int) []byte {
	raw := make([]byte, n+directAlign)
	off := (directAlign - int(addr(raw)%directAlign)) % directAlign
	return raw[off : off+n : off+n]
}

// testDirectSection reads section sec of data with reads of piece bytes
// into a buffer shift bytes past an aligned address.
func testDirectSection(t *testing.T, bufs *directBuffers, data []byte, sec [2]int64, piece, shift int) {
	t.Helper()
	f := &fakeFile{data: data}
	dr := newFakeReader(f, bufs, sec[0], sec[1])
	got := readInPieces(t, dr, alignedBytes(piece + shift)[shift:])
	if want := data[sec[0] : sec[0]+sec[1]]; !bytes.Equal(got, want) {
		t.Fatalf("section %v, reads of %d (shift %d): got %d bytes, want %d matching", sec, piece, shift, len(got), len(want))
	}
	straight := 0
	for _, rd := range f.reads {
		if !rd.direct || rd.off%directAlign != 0 || rd.n%directAlign != 0 || rd.addr%directAlign != 0 {
			t.Fatalf("section %v: read %+v; want direct reads of aligned blocks at aligned offsets into aligned memory", sec, rd)
		}
		if rd.addr != addr(dr.buf) {
			straight++
		}
	}
	// Reads of a whole aligned block or more into an aligned buffer go
	// straight there once nothing is buffered: from an aligned start, or
	// after the first block of the sections that go on past it.
	wantStraight := shift == 0 && piece >= directAlign &&
		(sec[0]%directAlign == 0 && sec[1] >= directAlign || sec[1] >= 2*directBuffer)
	if wantStraight != (straight > 0) {
		t.Fatalf("section %v, reads of %d (shift %d): %d reads straight into the caller's buffer", sec, piece, shift, straight)
	}
	if addr(dr.buf)%directAlign != 0 {
		t.Fatal("read buffer not aligned")
	}
	dr.bufs.put(dr.buf)
}

// TestDirectReaderFallsBack: a filesystem that refuses direct reads is
// read through the page cache, with the same result.
func TestDirectReaderFallsBack(t *testing.T) {
	var bufs directBuffers
	data := bytes.Repeat([]byte("artstore"), directBuffer/2)
	f := &fakeFile{data: data, refuse: true}
	got, err := io.ReadAll(newFakeReader(f, &bufs, 5, int64(len(data)-5)))
	if err != nil || !bytes.Equal(got, data[5:]) {
		t.Fatalf("got %d bytes, %v; want %d matching", len(got), err, len(data)-5)
	}
	if f.direct {
		t.Fatal("O_DIRECT still on after the filesystem refused it")
	}
}

// readInPieces reads r to its end, each Read into p, and returns the bytes.
func readInPieces(t *testing.T, r io.Reader, p []byte) []byte {
	t.Helper()
	var got []byte
	for {
		m, err := r.Read(p)
		got = append(got, p[:m]...)
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
