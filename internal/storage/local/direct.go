package local

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Direct I/O. A new blob of at least directMin bytes is written with
// O_DIRECT (where the filesystem supports it) through an aligned bounce
// buffer, so its bytes go from that buffer to the device without passing
// through the page cache; only the unaligned tail of the last block is
// written through the page cache, and the fsync that follows (Put's, or a
// Stage's Commit) makes both durable.
//
// Why: a push writes gigabytes that nobody reads back soon, and pulls and
// verify --all read blobs that nobody reads again soon. Through the page
// cache, every byte costs a copy into a page taken from what the machine
// has cached, and on virtual machines whose host backs guest memory lazily
// and takes back the pages the guest frees (virtio-balloon free page
// reporting), a page not used lately also costs a fault in the host,
// several times the cost of a direct write (docs/benchmarks.md, "Direct I/O
// and the page cache"). Nor does a push or a pull then evict whatever else
// the machine has cached (a CI job's build cache).
//
// Reads: a section of at least directMin bytes is read with O_DIRECT when
// its first page is not in the page cache (a blob written here is not); a
// blob that is cached is read from the cache.
//
// The alignment used is 4096 bytes for memory, file offsets and lengths:
// every block device's logical block size divides it.
const (
	directAlign  = 4096
	directBuffer = 512 << 10
	// directMin: smaller blobs (manifests, small files) gain nothing.
	directMin = 256 << 10
)

// directBuffers hands out aligned bounce buffers of directBuffer bytes and
// keeps up to directKeep returned ones for reuse (a push has a handful of
// writes in flight; a pool that the garbage collector empties would have
// them allocated again and again). The zero value is ready to use.
type directBuffers struct {
	mu   sync.Mutex
	free [][]byte
}

const directKeep = 8

func (p *directBuffers) get() []byte {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	raw := make([]byte, directBuffer+directAlign)
	off := 0
	if r := int(uintptr(unsafe.Pointer(&raw[0])) & (directAlign - 1)); r != 0 {
		off = directAlign - r
	}
	return raw[off : off+directBuffer : off+directBuffer]
}

func (p *directBuffers) put(b []byte) {
	p.mu.Lock()
	if len(p.free) < directKeep {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
}

// directWriter writes a new file from offset 0 with O_DIRECT through an
// aligned buffer. Write fills the buffer and writes it out whenever it is
// full; finish writes what is left (the unaligned tail with O_DIRECT
// cleared) and must be called before the file is synced. A filesystem that
// refuses a direct write with EINVAL is written through the page cache from
// then on, so the only effect of missing support is the lost speed.
type directWriter struct {
	out    io.Writer           // the file
	set    func(on bool) error // turns O_DIRECT on or off for out
	bufs   *directBuffers
	buf    []byte
	n      int
	direct bool
}

// newDirectWriter switches f to direct I/O and returns a writer for it, or
// returns nil when direct I/O does not apply (a small blob, a platform or
// filesystem without it), in which case f is unchanged.
func newDirectWriter(f *os.File, size int64, bufs *directBuffers) *directWriter {
	if size < directMin || setDirect(f, true) != nil {
		return nil
	}
	return &directWriter{
		out:    f,
		set:    func(on bool) error { return setDirect(f, on) },
		bufs:   bufs,
		buf:    bufs.get(),
		direct: true,
	}
}

func (w *directWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		c := copy(w.buf[w.n:], p)
		w.n += c
		written += c
		p = p[c:]
		if w.n == len(w.buf) {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flush writes the buffer: its aligned part directly, any rest through the
// page cache.
func (w *directWriter) flush() error {
	data := w.buf[:w.n]
	w.n = 0
	if aligned := len(data) &^ (directAlign - 1); w.direct && aligned > 0 {
		n, err := w.out.Write(data[:aligned])
		if err != nil && !(n == 0 && errors.Is(err, syscall.EINVAL)) {
			return err
		}
		data = data[n:]
	}
	if len(data) == 0 {
		return nil
	}
	if w.direct {
		if err := w.set(false); err != nil {
			return err
		}
		w.direct = false
	}
	_, err := w.out.Write(data)
	return err
}

// finish writes what is buffered and returns the buffer to the pool.
func (w *directWriter) finish() error {
	err := w.flush()
	w.release()
	return err
}

// release returns the buffer to the pool (idempotent).
func (w *directWriter) release() {
	if w.buf != nil {
		w.bufs.put(w.buf)
		w.buf = nil
	}
}

// directReader reads a section of a file opened with O_DIRECT through an
// aligned buffer: each fill reads one aligned block of directBuffer bytes
// (less at the end of the file), and the bytes before the section's start
// in the first block are skipped. A filesystem that
// refuses the read with EINVAL is read through the page cache from then on.
type directReader struct {
	f      *os.File
	read   func(buf []byte, off int64) (int, error) // pread(2) on f
	set    func(on bool) error
	bufs   *directBuffers
	buf    []byte
	r, w   int   // buf[r:w] is read but not yet returned
	next   int64 // file offset of the next fill, aligned
	skip   int   // bytes to drop from the next fill
	left   int64 // bytes of the section not yet returned
	direct bool
}

// newDirectReader returns a reader of n bytes of f from offset start that
// bypasses the page cache, or nil when that does not apply: a section
// below directMin, a platform or filesystem without direct I/O, or a file
// whose first page is cached already (recently written through the page
// cache, or read), which is then better read from there.
func newDirectReader(f *os.File, start, n int64, bufs *directBuffers) *directReader {
	if n < directMin || cached(f, start) || setDirect(f, true) != nil {
		return nil
	}
	aligned := start &^ (directAlign - 1)
	return &directReader{
		f:      f,
		read:   func(buf []byte, off int64) (int, error) { return pread(f, buf, off) },
		set:    func(on bool) error { return setDirect(f, on) },
		bufs:   bufs,
		buf:    bufs.get(),
		next:   aligned,
		skip:   int(start - aligned),
		left:   n,
		direct: true,
	}
}

func (r *directReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if r.buf == nil {
		return 0, os.ErrClosed
	}
	if r.r == r.w {
		if n, ok, err := r.readInto(p); ok {
			return n, err
		}
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.r:r.r+int(min(int64(r.w-r.r), r.left))])
	r.r += n
	r.left -= int64(n)
	return n, nil
}

// readInto reads straight into p, skipping the bounce buffer and its copy,
// when a direct read can land there: nothing is buffered or to be skipped,
// p starts at an aligned address and holds at least one aligned block of
// the section. It reads the most aligned blocks p and the section allow in
// one pread (a pull's chunk buffer takes a whole chunk but its unaligned
// tail this way). ok is false, with nothing read, when it does not apply.
func (r *directReader) readInto(p []byte) (n int, ok bool, err error) {
	want := min(int64(len(p)), r.left) &^ (directAlign - 1)
	if !r.direct || r.skip != 0 || want == 0 || r.next&(directAlign-1) != 0 ||
		uintptr(unsafe.Pointer(&p[0]))&(directAlign-1) != 0 {
		return 0, false, nil
	}
	n, err = r.read(p[:want], r.next)
	if err != nil && errors.Is(err, syscall.EINVAL) {
		return 0, false, nil // fill falls back to the page cache
	}
	if err != nil {
		return 0, true, err
	}
	if n == 0 {
		return 0, true, io.EOF // the file is shorter than the section
	}
	r.next += int64(n)
	r.left -= int64(n)
	return n, true, nil
}

// fill reads the next block; at the end of the file it returns io.EOF.
func (r *directReader) fill() error {
	n, err := r.read(r.buf, r.next)
	if err != nil && r.direct && errors.Is(err, syscall.EINVAL) {
		if err := r.set(false); err != nil {
			return err
		}
		r.direct = false
		n, err = r.read(r.buf, r.next)
	}
	if err != nil {
		return err
	}
	if n <= r.skip {
		return io.EOF // the file is shorter than the section
	}
	r.r, r.w = r.skip, n
	r.skip = 0
	r.next += int64(n)
	return nil
}

func (r *directReader) Close() error {
	if r.buf != nil {
		r.bufs.put(r.buf)
		r.buf = nil
	}
	return r.f.Close()
}
