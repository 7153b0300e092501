// Package storagetest is the conformance suite for storage.Backend. Every
// backend proves itself by running it, in a few lines:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Backend {
//			b, err := mybackend.New(...)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return b
//		}, storagetest.Options{CapacityKnown: true})
//	}
//
// Each subtest gets a fresh, empty backend from newBackend. Subtests that need
// a capability the backend did not declare through Options are skipped with
// a message naming the missing option; the multi-GiB streaming test is
// skipped under -short and nothing else is.
package storagetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// Defaults for Options.
const (
	// DefaultBigObjectSize is the size of the object streamed by the
	// bounded-memory test: 2 GiB, past every 32-bit boundary.
	DefaultBigObjectSize int64 = 2 << 30
	// DefaultMaxMemoryGrowth is how much the process may grow while the big
	// object streams in and out.
	DefaultMaxMemoryGrowth uint64 = 64 << 20
)

// Options declares what a backend can do beyond the storage.Backend
// contract, and provides the hooks some subtests need. The zero value is
// valid: hooks left nil skip the subtests that need them.
type Options struct {
	// BigObjectSize is the size of the object the bounded-memory test puts
	// and reads back; 0 means DefaultBigObjectSize. That test is skipped
	// under -short.
	BigObjectSize int64
	// MaxMemoryGrowth bounds the growth of the process's memory (peak live
	// heap, and memory obtained from the OS) while the big object
	// streams; 0 means DefaultMaxMemoryGrowth.
	MaxMemoryGrowth uint64
	// CapacityKnown says Health reports TotalBytes, UsedBytes and FreeBytes.
	// When false the suite requires all three to be -1.
	CapacityKnown bool
	// ModTimeGranularity is the resolution of Info.ModTime (time.Second for
	// S3). ModTime must be at or after the start of a Put truncated to it.
	ModTimeGranularity time.Duration
	// Vanish makes the backend's backing store disappear: removes the root
	// directory, deletes the bucket. nil skips the unavailability test.
	Vanish func(t *testing.T, b storage.Backend)
	// PlantJunk writes objects that are not blobs into the backend's
	// namespace (names that are not digest keys, misplaced or temporary
	// files, links), which Walk must skip. nil skips that test.
	PlantJunk func(t *testing.T, b storage.Backend)
	// RawExists reports whether the backing store holds an object under
	// key (content.Digest.Key(), relative to any configured prefix),
	// bypassing the backend. nil checks the key layout through Walk only.
	RawExists func(t *testing.T, b storage.Backend, key string) bool
	// PresignEnforced declares, for a storage.Presigner, that its server
	// refuses a presigned upload whose body does not match the signed
	// checksum: CheckPresign must pass and the tampering cases run. When
	// false, CheckPresign must fail with storage.ErrPresignUnenforced.
	PresignEnforced bool
}

// Run runs the conformance suite against the backends newBackend returns.
// newBackend is called once per subtest and must return an empty backend;
// it registers any cleanup with t.
func Run(t *testing.T, newBackend func(t *testing.T) storage.Backend, opts Options) {
	if opts.BigObjectSize == 0 {
		opts.BigObjectSize = DefaultBigObjectSize
	}
	if opts.MaxMemoryGrowth == 0 {
		opts.MaxMemoryGrowth = DefaultMaxMemoryGrowth
	}
	s := &suite{newBackend: newBackend, opts: opts}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"PutGet", s.testPutGet},
		{"KeyLayout", s.testKeyLayout},
		{"HeadMetadata", s.testHeadMetadata},
		{"Missing", s.testMissing},
		{"IdempotentPut", s.testIdempotentPut},
		{"ModTimeAfterPutStart", s.testModTimeAfterPutStart},
		{"Delete", s.testDelete},
		{"RangeRead", s.testRangeRead},
		{"InvalidRange", s.testInvalidRange},
		{"HealthCapacity", s.testHealthCapacity},
		{"HealthVanished", s.testHealthVanished},
		{"InvalidKeys", s.testInvalidKeys},
		{"WalkSkipsJunk", s.testWalkSkipsJunk},
		{"Registry", s.testRegistry},
		{"RePutDifferentBytes", s.testRePutDifferentBytes},
		{"Mismatch", s.testMismatch},
		{"ConcurrentPut", s.testConcurrentPut},
		{"Walk", s.testWalk},
		{"CancelPut", s.testCancelPut},
		{"BigObject", s.testBigObject},
		{"PutVerified", s.testPutVerified},
		{"Stage", s.testStage},
		{"Presign", s.testPresign},
	} {
		t.Run(tc.name, tc.fn)
	}
}

type suite struct {
	newBackend func(t *testing.T) storage.Backend
	opts       Options
}

// Blob returns n deterministic pseudo-random bytes for seed.
func Blob(seed uint64, n int) []byte {
	b := make([]byte, n)
	newGen(seed).Read(b)
	return b
}

func newGen(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

// genReader streams size deterministic pseudo-random bytes without holding
// them in memory.
type genReader struct {
	c    *rand.ChaCha8
	left int64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, _ := g.c.Read(p)
	g.left -= int64(n)
	return n, nil
}

// trackingReader records whether its reader was read to EOF.
// selfWriter is a source that can also write itself (io.WriterTo), as a
// push's in-memory chunk does: WriteTo delivers parts in separate Write
// calls, then fails with err if set. Read yields the same bytes and error.
type selfWriter struct {
	parts [][]byte
	err   error
	r     io.Reader
}

func newSelfWriter(err error, parts ...[]byte) *selfWriter {
	rs := make([]io.Reader, 0, len(parts)+1)
	for _, p := range parts {
		rs = append(rs, bytes.NewReader(p))
	}
	if err != nil {
		rs = append(rs, iotest.ErrReader(err))
	}
	return &selfWriter{parts: parts, err: err, r: io.MultiReader(rs...)}
}

func (s *selfWriter) Read(p []byte) (int, error) { return s.r.Read(p) }

func (s *selfWriter) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, p := range s.parts {
		m, err := w.Write(p)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, s.err
}

type trackingReader struct {
	r   io.Reader
	n   int64
	eof bool
}

func (tr *trackingReader) Read(p []byte) (int, error) {
	n, err := tr.r.Read(p)
	tr.n += int64(n)
	if err == io.EOF {
		tr.eof = true
	}
	return n, err
}

func mustPut(t *testing.T, b storage.Backend, data []byte) content.Digest {
	t.Helper()
	d := content.FromBytes(data)
	created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%s, %d bytes): %v", d.Short(), len(data), err)
	}
	if !created {
		t.Fatalf("Put(%s) of a new blob: created=false", d.Short())
	}
	return d
}

func mustRead(t *testing.T, b storage.Backend, d content.Digest, rng *content.Range) []byte {
	t.Helper()
	rc, err := b.Get(t.Context(), d, rng)
	if err != nil {
		t.Fatalf("Get(%s, %v): %v", d.Short(), rng, err)
	}
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%s, %v): read: %v", d.Short(), rng, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Get(%s, %v): close: %v", d.Short(), rng, err)
	}
	return got
}

func listAll(t *testing.T, b storage.Backend) map[content.Digest]storage.Info {
	t.Helper()
	got := map[content.Digest]storage.Info{}
	err := b.Walk(t.Context(), func(i storage.Info) error {
		if _, dup := got[i.Digest]; dup {
			t.Errorf("Walk visited %s twice", i.Digest)
		}
		got[i.Digest] = i
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return got
}

// wantOnly checks that Walk lists exactly the given blobs with their sizes.
func wantOnly(t *testing.T, b storage.Backend, want map[content.Digest]int64) {
	t.Helper()
	got := listAll(t, b)
	for d, size := range want {
		i, ok := got[d]
		switch {
		case !ok:
			t.Errorf("Walk did not list %s", d)
		case i.Size != size:
			t.Errorf("Walk listed %s with size %d, want %d", d, i.Size, size)
		}
	}
	for d := range got {
		if _, ok := want[d]; !ok {
			t.Errorf("Walk listed %s, which was never (successfully) put", d)
		}
	}
}

// wantAbsent checks that nothing is visible under d, by every means.
func (s *suite) wantAbsent(t *testing.T, b storage.Backend, d content.Digest) {
	t.Helper()
	if i, err := b.Head(t.Context(), d); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Head(%s) = %+v, %v; want ErrNotFound", d.Short(), i, err)
	}
	if rc, err := b.Get(t.Context(), d, nil); !errors.Is(err, storage.ErrNotFound) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Get(%s) error = %v; want ErrNotFound", d.Short(), err)
	}
	if _, ok := listAll(t, b)[d]; ok {
		t.Errorf("Walk lists %s", d.Short())
	}
	if s.opts.RawExists != nil && s.opts.RawExists(t, b, d.Key()) {
		t.Errorf("an object exists under %s", d.Key())
	}
}

func (s *suite) checkModTime(t *testing.T, what string, mt, start time.Time) {
	t.Helper()
	if mt.Before(start.Truncate(s.opts.ModTimeGranularity)) {
		t.Errorf("%s: ModTime %s is before the start of the Put (%s)", what, mt.Format(time.RFC3339Nano), start.Format(time.RFC3339Nano))
	}
}

func (s *suite) testPutGet(t *testing.T) {
	b := s.newBackend(t)
	if b.ID() == "" {
		t.Error("ID() is empty")
	}
	for i, size := range []int{0, 1, 100, 4096, 1<<20 + 7, 2<<20 + 4097} {
		data := Blob(uint64(i), size)
		d := mustPut(t, b, data)
		if got := mustRead(t, b, d, nil); !bytes.Equal(got, data) {
			t.Errorf("Get of a %d-byte blob returned %d different bytes", size, len(got))
		}
		info, err := b.Head(t.Context(), d)
		if err != nil || info.Size != int64(size) || info.Digest != d {
			t.Errorf("Head = %+v, %v; want size %d", info, err, size)
		}
	}
}

func (s *suite) testKeyLayout(t *testing.T) {
	b := s.newBackend(t)
	data := Blob(1, 1000)
	d := mustPut(t, b, data)
	wantOnly(t, b, map[content.Digest]int64{d: 1000})
	if s.opts.RawExists == nil {
		t.Log("Options.RawExists not set: key layout checked through Walk only")
		return
	}
	if !s.opts.RawExists(t, b, d.Key()) {
		t.Errorf("no object under the layout key %s", d.Key())
	}
	for _, k := range []string{d.Hex(), d.String(), "sha256/" + d.Hex(), "sha256/" + d.Hex()[:2] + "/" + d.Hex()} {
		if s.opts.RawExists(t, b, k) {
			t.Errorf("object found under %s, which is not the layout key", k)
		}
	}
}

func (s *suite) testHeadMetadata(t *testing.T) {
	b := s.newBackend(t)
	data := Blob(2, 12345)
	start := time.Now()
	d := mustPut(t, b, data)
	end := time.Now()
	info, err := b.Head(t.Context(), d)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if info.Digest != d || info.Size != int64(len(data)) {
		t.Errorf("Head = %+v; want digest %s size %d", info, d, len(data))
	}
	s.checkModTime(t, "Head after Put", info.ModTime, start)
	if info.ModTime.After(end.Add(s.opts.ModTimeGranularity)) {
		t.Errorf("ModTime %s is after the Put returned (%s)", info.ModTime, end)
	}
}

func (s *suite) testMissing(t *testing.T) {
	b := s.newBackend(t)
	mustPut(t, b, []byte("something else"))
	d := content.FromBytes([]byte("never stored"))
	s.wantAbsent(t, b, d)
	if rc, err := b.Get(t.Context(), d, &content.Range{Start: 0, End: 0}); !errors.Is(err, storage.ErrNotFound) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("ranged Get of a missing blob: %v; want ErrNotFound", err)
	}
	removed, err := b.Delete(t.Context(), d)
	if err != nil || removed {
		t.Errorf("Delete of a missing blob = %v, %v; want false, nil", removed, err)
	}
}

func (s *suite) testIdempotentPut(t *testing.T) {
	b := s.newBackend(t)
	data := Blob(3, 100<<10)
	d := mustPut(t, b, data)
	for i := range 2 {
		tr := &trackingReader{r: bytes.NewReader(data)}
		created, err := b.Put(t.Context(), d, int64(len(data)), tr)
		if err != nil || created {
			t.Fatalf("re-put %d = %v, %v; want created=false, nil", i, created, err)
		}
		if !tr.eof || tr.n != int64(len(data)) {
			t.Errorf("re-put %d read %d of %d bytes (EOF seen: %v); the reader must be drained", i, tr.n, len(data), tr.eof)
		}
	}
	if got := mustRead(t, b, d, nil); !bytes.Equal(got, data) {
		t.Error("content changed after re-puts")
	}
	wantOnly(t, b, map[content.Digest]int64{d: int64(len(data))})
}

func (s *suite) testModTimeAfterPutStart(t *testing.T) {
	b := s.newBackend(t)
	data := Blob(4, 5000)
	start := time.Now()
	d := mustPut(t, b, data)
	info, err := b.Head(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	s.checkModTime(t, "first Put", info.ModTime, start)

	start = time.Now()
	if created, err := b.Put(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil || created {
		t.Fatalf("re-put = %v, %v", created, err)
	}
	info, err = b.Head(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	s.checkModTime(t, "re-put", info.ModTime, start)
	if w := listAll(t, b)[d]; !w.ModTime.Equal(info.ModTime) {
		t.Errorf("Walk ModTime %s differs from Head ModTime %s", w.ModTime, info.ModTime)
	}
}

func (s *suite) testDelete(t *testing.T) {
	b := s.newBackend(t)
	keep := mustPut(t, b, Blob(5, 300))
	data := Blob(6, 400)
	d := mustPut(t, b, data)
	for i, want := range []bool{true, false} {
		removed, err := b.Delete(t.Context(), d)
		if err != nil || removed != want {
			t.Fatalf("Delete #%d = %v, %v; want %v, nil", i+1, removed, err, want)
		}
	}
	s.wantAbsent(t, b, d)
	wantOnly(t, b, map[content.Digest]int64{keep: 300})
	// The blob can be stored again after its deletion.
	mustPut(t, b, data)
	if got := mustRead(t, b, d, nil); !bytes.Equal(got, data) {
		t.Error("content differs after delete and re-put")
	}
}

func (s *suite) testRangeRead(t *testing.T) {
	b := s.newBackend(t)
	// Over 2 MiB and not a multiple of 4 KiB, so that a backend reading
	// large sections in aligned blocks (local, with O_DIRECT) is checked
	// across its block boundaries and at an unaligned end.
	data := Blob(7, 2<<20+4099)
	n := int64(len(data))
	d := mustPut(t, b, data)
	for _, r := range []content.Range{
		{Start: 0, End: 0},         // first byte
		{Start: n - 1, End: n - 1}, // last byte
		{Start: 0, End: n - 1},     // everything
		{Start: 1, End: n - 2},
		{Start: 100, End: 199},
		{Start: n - 10, End: n - 1},
		{Start: 4096, End: 8191},
		{Start: 32 << 10, End: 32 << 10},
		{Start: 4097, End: 1<<20 + 4097}, // large, from an unaligned start
		{Start: 1<<20 - 5, End: n - 1},
		{Start: 1 << 20, End: 2<<20 - 1},
	} {
		want := data[r.Start : r.End+1]
		if got := mustRead(t, b, d, &r); !bytes.Equal(got, want) {
			t.Errorf("Get(range %v) returned %d bytes, want %d matching bytes", r, len(got), len(want))
		}
		// io.Copy may take a WriterTo fast path; it must honour the range too.
		rc, err := b.Get(t.Context(), d, &r)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, rc); err != nil || !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("io.Copy of range %v: %d bytes, %v", r, buf.Len(), err)
		}
		rc.Close()
		// And so must small reads: one byte at a time, or (for large
		// ranges, which would take minutes so under the race detector)
		// 4093 bytes, a size that never lines up with a block.
		rc, err = b.Get(t.Context(), d, &r)
		if err != nil {
			t.Fatal(err)
		}
		small := iotest.OneByteReader(rc)
		if r.Length() > 64<<10 {
			small = &cappedReader{r: rc, n: 4093}
		}
		got, err := io.ReadAll(small)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("small reads of range %v: %d bytes, %v", r, len(got), err)
		}
		rc.Close()
	}
}

func (s *suite) testInvalidRange(t *testing.T) {
	b := s.newBackend(t)
	d := mustPut(t, b, Blob(8, 1000))
	empty := mustPut(t, b, nil)
	for _, c := range []struct {
		d content.Digest
		r content.Range
	}{
		{d, content.Range{Start: -1, End: 5}},
		{d, content.Range{Start: 5, End: 4}},
		{d, content.Range{Start: 0, End: 1000}},
		{d, content.Range{Start: 999, End: 1000}},
		{d, content.Range{Start: 1000, End: 1000}},
		{d, content.Range{Start: 2000, End: 3000}},
		{d, content.Range{Start: 0, End: 1<<63 - 1}},
		{empty, content.Range{Start: 0, End: 0}},
	} {
		rc, err := b.Get(t.Context(), c.d, &c.r)
		if !errors.Is(err, storage.ErrInvalidRange) {
			t.Errorf("Get(%s, %v) error = %v; want ErrInvalidRange", c.d.Short(), c.r, err)
		}
		if rc != nil {
			t.Errorf("Get(%s, %v) returned a reader with its error", c.d.Short(), c.r)
			rc.Close()
		}
	}
}

func (s *suite) testHealthCapacity(t *testing.T) {
	b := s.newBackend(t)
	h := b.Health(t.Context())
	if !h.Healthy || h.Detail == "" {
		t.Fatalf("Health = %+v; want healthy with a detail", h)
	}
	if !s.opts.CapacityKnown {
		if h.TotalBytes != -1 || h.UsedBytes != -1 || h.FreeBytes != -1 {
			t.Errorf("Health = %+v; a backend without known capacity must report -1", h)
		}
		return
	}
	if h.TotalBytes <= 0 || h.FreeBytes < 0 || h.UsedBytes < 0 || h.FreeBytes > h.TotalBytes || h.UsedBytes > h.TotalBytes {
		t.Errorf("Health capacity total=%d used=%d free=%d is inconsistent", h.TotalBytes, h.UsedBytes, h.FreeBytes)
	}
}

func (s *suite) testHealthVanished(t *testing.T) {
	if s.opts.Vanish == nil {
		t.Skip("Options.Vanish not set: the backend cannot be made to vanish")
	}
	b := s.newBackend(t)
	d := mustPut(t, b, Blob(9, 100))
	s.opts.Vanish(t, b)

	h := b.Health(t.Context())
	if h.Healthy || h.Detail == "" {
		t.Errorf("Health after the store vanished = %+v; want unhealthy with a detail", h)
	}
	data := Blob(10, 100)
	if _, err := b.Put(t.Context(), content.FromBytes(data), 100, bytes.NewReader(data)); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Put after the store vanished: %v; want ErrUnavailable", err)
	}
	if _, err := b.Head(t.Context(), d); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Head after the store vanished: %v; want ErrUnavailable", err)
	}
	if rc, err := b.Get(t.Context(), d, nil); !errors.Is(err, storage.ErrUnavailable) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Get after the store vanished: %v; want ErrUnavailable", err)
	}
	if _, err := b.Delete(t.Context(), d); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Delete after the store vanished: %v; want ErrUnavailable", err)
	}
	if err := b.Walk(t.Context(), func(storage.Info) error { return nil }); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Walk after the store vanished: %v; want ErrUnavailable", err)
	}
}

// WeirdDigests are strings that must never parse as digests: traversal
// attempts, near misses of the canonical form, keys instead of digests.
func WeirdDigests() []string {
	hex := content.FromBytes([]byte("x")).Hex()
	pad := func(s string) string { return "sha256:" + s + strings.Repeat("a", max(0, 64-len(s))) }
	return []string{
		pad("../../../../etc/passwd"),
		pad("..%2f..%2f..%2fetc%2fpasswd"),
		pad(`..\..\..\windows\system32`),
		pad("/etc/passwd"),
		"sha256:" + hex[:62] + "/.",
		"sha256:" + hex + "/../../x",
		"sha256:" + strings.ToUpper(hex),
		"sha256:" + hex[:63] + "\x00",
		"sha256:" + hex + "\n",
		"sha256:" + hex + " ",
		"SHA256:" + hex,
		"sha512:" + hex + hex,
		"../sha256:" + hex,
		"sha256/" + hex[:2] + "/" + hex[2:4] + "/" + hex,
		"/etc/passwd",
		"file:///etc/passwd",
		hex,
		"sha256",
		"sha256:",
		":",
	}
}

func (s *suite) testInvalidKeys(t *testing.T) {
	b := s.newBackend(t)
	var zero content.Digest
	check := func(what string, d content.Digest) {
		t.Helper()
		if created, err := b.Put(t.Context(), d, 3, strings.NewReader("abc")); !errors.Is(err, storage.ErrInvalidKey) || created {
			t.Errorf("%s: Put = %v, %v; want ErrInvalidKey", what, created, err)
		}
		if rc, err := b.Get(t.Context(), d, nil); !errors.Is(err, storage.ErrInvalidKey) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("%s: Get: %v; want ErrInvalidKey", what, err)
		}
		if rc, err := b.Get(t.Context(), d, &content.Range{Start: 0, End: 0}); !errors.Is(err, storage.ErrInvalidKey) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("%s: ranged Get: %v; want ErrInvalidKey", what, err)
		}
		if _, err := b.Head(t.Context(), d); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("%s: Head: %v; want ErrInvalidKey", what, err)
		}
		if removed, err := b.Delete(t.Context(), d); !errors.Is(err, storage.ErrInvalidKey) || removed {
			t.Errorf("%s: Delete = %v, %v; want ErrInvalidKey", what, removed, err)
		}
	}
	check("zero digest", zero)

	for _, w := range WeirdDigests() {
		if d, err := content.ParseDigest(w); err == nil {
			t.Errorf("ParseDigest(%q) = %v; it must fail", w, d)
		}
		var d content.Digest
		if err := d.UnmarshalText([]byte(w)); err == nil {
			t.Errorf("UnmarshalText(%q) succeeded", w)
		}
		var doc struct {
			D content.Digest `json:"d"`
		}
		js, _ := json.Marshal(map[string]string{"d": w})
		if err := json.Unmarshal(js, &doc); err == nil {
			t.Errorf("json.Unmarshal(%s) succeeded", js)
		}
		// Whatever a failed decode left behind must be refused by the backend.
		check(fmt.Sprintf("digest decoded from %q", w), d)
		check(fmt.Sprintf("digest JSON-decoded from %q", w), doc.D)
	}
	wantOnly(t, b, nil)
}

func (s *suite) testWalkSkipsJunk(t *testing.T) {
	if s.opts.PlantJunk == nil {
		t.Skip("Options.PlantJunk not set: cannot plant junk objects")
	}
	b := s.newBackend(t)
	d1 := mustPut(t, b, Blob(11, 10))
	d2 := mustPut(t, b, Blob(12, 20))
	s.opts.PlantJunk(t, b)
	wantOnly(t, b, map[content.Digest]int64{d1: 10, d2: 20})
	if got := mustRead(t, b, d2, nil); !bytes.Equal(got, Blob(12, 20)) {
		t.Error("blob content changed after planting junk")
	}
}

func (s *suite) testRegistry(t *testing.T) {
	b := s.newBackend(t)
	reg := storage.NewRegistry()
	if err := reg.Register(b); err != nil {
		t.Fatalf("Register: %v", err)
	}
	got, err := reg.Get(b.ID())
	if err != nil || got != b {
		t.Fatalf("Get(%q) = %v, %v; want the registered backend", b.ID(), got, err)
	}
	if ids := reg.IDs(); !slices.Equal(ids, []string{b.ID()}) {
		t.Errorf("IDs() = %v", ids)
	}
	if l := reg.List(); len(l) != 1 || l[0] != b {
		t.Errorf("List() = %v", l)
	}
	if err := reg.Register(b); err == nil || !strings.Contains(err.Error(), b.ID()) {
		t.Errorf("second Register with ID %q: %v; want an error naming the ID", b.ID(), err)
	}
	if _, err := reg.Get(b.ID() + "-missing"); !errors.Is(err, storage.ErrUnknownBackend) {
		t.Errorf("Get of an unknown ID: %v; want ErrUnknownBackend", err)
	}
	// The registered backend is the working backend.
	d := mustPut(t, got, []byte("via the registry"))
	if _, err := b.Head(t.Context(), d); err != nil {
		t.Errorf("Head after a put through the registry: %v", err)
	}
}

func (s *suite) testRePutDifferentBytes(t *testing.T) {
	b := s.newBackend(t)
	orig := Blob(13, 1000)
	d := mustPut(t, b, orig)
	for _, c := range []struct {
		name string
		size int64
		data []byte
	}{
		{"same size", 1000, Blob(14, 1000)},
		{"shorter, declared honestly", 500, Blob(14, 500)},
		{"shorter, declared as the original", 1000, Blob(14, 500)},
		{"longer", 2000, Blob(14, 2000)},
		{"one byte flipped", 1000, append([]byte{orig[0] ^ 1}, orig[1:]...)},
	} {
		created, err := b.Put(t.Context(), d, c.size, bytes.NewReader(c.data))
		if created || (err != nil && !errors.Is(err, storage.ErrDigestMismatch)) {
			t.Errorf("%s: Put = %v, %v; want a mismatch error or created=false", c.name, created, err)
		}
		if got := mustRead(t, b, d, nil); !bytes.Equal(got, orig) {
			t.Fatalf("%s: the stored bytes were overwritten", c.name)
		}
	}
	wantOnly(t, b, map[content.Digest]int64{d: 1000})
}

func (s *suite) testMismatch(t *testing.T) {
	data := Blob(15, 256<<10+1)
	n := int64(len(data))
	d := content.FromBytes(data)
	other := Blob(16, len(data))
	boom := errors.New("reader exploded")
	for _, c := range []struct {
		name     string
		size     int64
		r        io.Reader
		mismatch bool  // the error must match ErrDigestMismatch
		target   error // or this one
	}{
		{"wrong bytes", n, bytes.NewReader(other), true, nil},
		{"last byte wrong", n, bytes.NewReader(append(append([]byte(nil), data[:n-1]...), data[n-1]^0xff)), true, nil},
		{"short stream", n, bytes.NewReader(data[:n-1]), true, nil},
		{"empty stream", n, bytes.NewReader(nil), true, nil},
		{"long stream", n, io.MultiReader(bytes.NewReader(data), strings.NewReader("+")), true, nil},
		{"much longer stream", n, &genReader{c: newGen(99), left: n + 16<<20}, true, nil},
		{"declared size too large", n + 1, bytes.NewReader(data), true, nil},
		{"declared size too small", n - 1, bytes.NewReader(data), true, nil},
		{"reader fails midway", n, io.MultiReader(bytes.NewReader(data[:n/2]), iotest.ErrReader(boom)), false, boom},
		{"negative size", -1, bytes.NewReader(data), false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := s.newBackend(t)
			keep := mustPut(t, b, []byte("bystander"))
			created, err := b.Put(t.Context(), d, c.size, c.r)
			switch {
			case err == nil || created:
				t.Fatalf("Put = %v, %v; want an error", created, err)
			case c.mismatch && !errors.Is(err, storage.ErrDigestMismatch):
				t.Errorf("Put error = %v; want ErrDigestMismatch", err)
			case c.target != nil && !errors.Is(err, c.target):
				t.Errorf("Put error = %v; want %v", err, c.target)
			}
			s.wantAbsent(t, b, d)
			wantOnly(t, b, map[content.Digest]int64{keep: 9})
		})
	}
}

func (s *suite) testConcurrentPut(t *testing.T) {
	b := s.newBackend(t)
	data := Blob(17, 1<<20+5)
	d := content.FromBytes(data)
	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		errs    []error
	)
	for range n {
		wg.Go(func() {
			c, err := b.Put(t.Context(), d, int64(len(data)), iotest.HalfReader(bytes.NewReader(data)))
			mu.Lock()
			defer mu.Unlock()
			if c {
				created++
			}
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d concurrent puts failed, first: %v", len(errs), n, errs[0])
	}
	if created == 0 {
		t.Error("no concurrent put reported created=true")
	}
	if got := mustRead(t, b, d, nil); !bytes.Equal(got, data) {
		t.Error("content corrupted by concurrent puts")
	}
	wantOnly(t, b, map[content.Digest]int64{d: int64(len(data))})
}

func (s *suite) testWalk(t *testing.T) {
	b := s.newBackend(t)
	wantOnly(t, b, nil)
	want := map[content.Digest]int64{}
	for i := range 25 {
		size := (i * 997) % 5000
		d := mustPut(t, b, Blob(uint64(100+i), size))
		want[d] = int64(size)
	}
	wantOnly(t, b, want)
	for d, i := range listAll(t, b) {
		if i.ModTime.IsZero() || i.Digest != d {
			t.Errorf("Walk info %+v lacks a digest or ModTime", i)
		}
	}

	stop := errors.New("stop here")
	calls := 0
	err := b.Walk(t.Context(), func(storage.Info) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Walk with a failing callback = %v after %d calls; want the callback's error after 1", err, calls)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls = 0
	err = b.Walk(ctx, func(storage.Info) error { calls++; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with a cancelled context = %v after %d calls; want context.Canceled", err, calls)
	}
}

// cancellingReader yields its data, cancelling ctx after the first after bytes.
type cancellingReader struct {
	r      io.Reader
	after  int64
	n      int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	p = p[:min(len(p), 16<<10)]
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.after {
		c.cancel()
	}
	return n, err
}

func (s *suite) testCancelPut(t *testing.T) {
	data := Blob(18, 1<<20)
	d := content.FromBytes(data)

	t.Run("midway", func(t *testing.T) {
		b := s.newBackend(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		cr := &cancellingReader{r: bytes.NewReader(data), after: 64 << 10, cancel: cancel}
		created, err := b.Put(ctx, d, int64(len(data)), cr)
		if created || !errors.Is(err, context.Canceled) {
			t.Errorf("Put cancelled midway = %v, %v; want context.Canceled", created, err)
		}
		s.wantAbsent(t, b, d)
		// A later Put of the same blob succeeds.
		mustPut(t, b, data)
	})
	t.Run("before", func(t *testing.T) {
		b := s.newBackend(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		created, err := b.Put(ctx, d, int64(len(data)), bytes.NewReader(data))
		if created || !errors.Is(err, context.Canceled) {
			t.Errorf("Put with a cancelled context = %v, %v; want context.Canceled", created, err)
		}
		s.wantAbsent(t, b, d)
	})
}

func (s *suite) testBigObject(t *testing.T) {
	if testing.Short() {
		t.Skipf("streams a %d-byte object; skipped under -short", s.opts.BigObjectSize)
	}
	b := s.newBackend(t)
	size := s.opts.BigObjectSize
	const seed = 2026
	d, n, err := content.FromReader(&genReader{c: newGen(seed), left: size})
	if err != nil || n != size {
		t.Fatalf("digesting the generator: %d bytes, %v", n, err)
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	// The sampler collects before each look, so what it records is the
	// live heap: what the backend holds on to, not garbage a collection
	// has not reached yet (which depends on the GC's pacing, not on the
	// backend). A buffer held for longer than a tick is seen.
	peak := make(chan uint64)
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		var hi uint64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.GC()
			runtime.ReadMemStats(&m)
			hi = max(hi, m.HeapAlloc)
			select {
			case <-done:
				peak <- hi
				return
			case <-tick.C:
			}
		}
	}()

	start := time.Now()
	created, err := b.Put(t.Context(), d, size, &genReader{c: newGen(seed), left: size})
	putTime := time.Since(start)
	if err != nil || !created {
		close(done)
		<-peak
		t.Fatalf("Put of %d bytes = %v, %v", size, created, err)
	}
	info, err := b.Head(t.Context(), d)
	if err != nil || info.Size != size {
		t.Errorf("Head = %+v, %v; want size %d", info, err, size)
	}

	start = time.Now()
	rc, err := b.Get(t.Context(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, gotN, err := content.FromReader(rc)
	rc.Close()
	getTime := time.Since(start)
	if err != nil || gotN != size || got != d {
		t.Errorf("Get streamed %d bytes hashing to %s, %v; want %d bytes, %s", gotN, got, err, size, d)
	}

	// The last 4 KiB, through a range read.
	tail := content.Range{Start: size - 4096, End: size - 1}
	g := &genReader{c: newGen(seed), left: size}
	if _, err := io.CopyN(io.Discard, g, tail.Start); err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(g)
	if got := mustRead(t, b, d, &tail); !bytes.Equal(got, want) {
		t.Errorf("range %v of the big object differs", tail)
	}

	close(done)
	peakHeap := <-peak
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heapGrowth := peakHeap - min(peakHeap, before.HeapAlloc)
	sysGrowth := after.Sys - min(after.Sys, before.Sys)
	mib := func(n uint64) float64 { return float64(n) / (1 << 20) }
	t.Logf("%d MiB: put %.0f MiB/s, get %.0f MiB/s; peak live heap growth %.1f MiB, Sys growth %.1f MiB, allocated %.1f MiB in total",
		size>>20, float64(size>>20)/putTime.Seconds(), float64(size>>20)/getTime.Seconds(),
		mib(heapGrowth), mib(sysGrowth), mib(after.TotalAlloc-before.TotalAlloc))
	if heapGrowth > s.opts.MaxMemoryGrowth || sysGrowth > s.opts.MaxMemoryGrowth {
		t.Errorf("memory grew by %.1f MiB (peak live heap) / %.1f MiB (Sys) while streaming %d bytes; the limit is %.0f MiB",
			mib(heapGrowth), mib(sysGrowth), size, mib(s.opts.MaxMemoryGrowth))
	}
}

// testPutVerified checks storage.VerifiedPutter, for backends that
// implement it: a correct put stores the blob like Put, a re-put keeps
// Put's contract, and a stream of the wrong size stores nothing.
func (s *suite) testPutVerified(t *testing.T) {
	if _, ok := s.newBackend(t).(storage.VerifiedPutter); !ok {
		t.Skip("the backend does not implement the optional storage.VerifiedPutter")
	}
	data := Blob(31, 256<<10+3)
	n := int64(len(data))
	d := content.FromBytes(data)

	t.Run("stores and re-puts", func(t *testing.T) {
		b := s.newBackend(t)
		vp := b.(storage.VerifiedPutter)
		start := time.Now()
		created, err := vp.PutVerified(t.Context(), d, n, bytes.NewReader(data))
		if err != nil || !created {
			t.Fatalf("PutVerified = %v, %v; want created", created, err)
		}
		if got := mustRead(t, b, d, nil); !bytes.Equal(got, data) {
			t.Fatal("Get returns other bytes than PutVerified stored")
		}
		i, err := b.Head(t.Context(), d)
		if err != nil || i.Size != n {
			t.Fatalf("Head = %+v, %v; want size %d", i, err, n)
		}
		s.checkModTime(t, "after PutVerified", i.ModTime, start)
		start = time.Now()
		tr := &trackingReader{r: bytes.NewReader(data)}
		created, err = vp.PutVerified(t.Context(), d, n, tr)
		if err != nil || created {
			t.Fatalf("re-PutVerified = %v, %v; want created=false", created, err)
		}
		if !tr.eof {
			t.Errorf("re-PutVerified read %d of %d bytes; it must drain the reader", tr.n, n)
		}
		if i, err = b.Head(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		s.checkModTime(t, "after re-PutVerified", i.ModTime, start)
		// A re-put of a stored blob still refuses a stream of the wrong size.
		if created, err := vp.PutVerified(t.Context(), d, n, bytes.NewReader(data[:n-1])); created || !errors.Is(err, storage.ErrDigestMismatch) {
			t.Errorf("re-PutVerified of a short stream = %v, %v; want ErrDigestMismatch", created, err)
		}
		if got := mustRead(t, b, d, nil); !bytes.Equal(got, data) {
			t.Fatal("a refused re-put changed the stored bytes")
		}
		wantOnly(t, b, map[content.Digest]int64{d: n})
	})

	boom := errors.New("reader exploded")
	for _, c := range []struct {
		name     string
		d        content.Digest
		size     int64
		r        io.Reader
		mismatch bool  // the error must match ErrDigestMismatch
		target   error // or this one
	}{
		{"short stream", d, n, bytes.NewReader(data[:n-1]), true, nil},
		{"empty stream", d, n, bytes.NewReader(nil), true, nil},
		{"long stream", d, n, io.MultiReader(bytes.NewReader(data), strings.NewReader("+")), true, nil},
		{"much longer stream", d, n, &genReader{c: newGen(98), left: n + 16<<20}, true, nil},
		{"declared size too large", d, n + 1, bytes.NewReader(data), true, nil},
		{"declared size too small", d, n - 1, bytes.NewReader(data), true, nil},
		{"reader fails midway", d, n, io.MultiReader(bytes.NewReader(data[:n/2]), iotest.ErrReader(boom)), false, boom},
		{"self-writing stream too long", d, n, newSelfWriter(nil, data[:n/2], data[n/2:], []byte("+")), true, nil},
		{"self-writing stream too short", d, n, newSelfWriter(nil, data[:n/2], data[n/2:n-1]), true, nil},
		{"self-writing stream fails midway", d, n, newSelfWriter(boom, data[:n/2]), false, boom},
		{"negative size", d, -1, bytes.NewReader(data), false, nil},
		{"zero digest", content.Digest{}, n, bytes.NewReader(data), false, storage.ErrInvalidKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := s.newBackend(t)
			keep := mustPut(t, b, []byte("bystander"))
			created, err := b.(storage.VerifiedPutter).PutVerified(t.Context(), c.d, c.size, c.r)
			switch {
			case err == nil || created:
				t.Fatalf("PutVerified = %v, %v; want an error", created, err)
			case c.mismatch && !errors.Is(err, storage.ErrDigestMismatch):
				t.Errorf("PutVerified error = %v; want ErrDigestMismatch", err)
			case c.target != nil && !errors.Is(err, c.target):
				t.Errorf("PutVerified error = %v; want %v", err, c.target)
			}
			s.wantAbsent(t, b, d)
			wantOnly(t, b, map[content.Digest]int64{keep: 9})
		})
	}
}

// testStage checks storage.Stager, for backends that implement it: staged
// blobs stay invisible until Commit, then read back like Put's; a blob
// already stored is handled at once; wrong sizes stage nothing; Abort
// discards; a Commit after more staging publishes only the new blobs;
// concurrent staging works.
func (s *suite) testStage(t *testing.T) {
	if _, ok := s.newBackend(t).(storage.Stager); !ok {
		t.Skip("the backend does not implement the optional storage.Stager")
	}
	t.Run("invisible until commit", s.stageInvisibleUntilCommit)
	t.Run("existing blob", s.stageExistingBlob)
	t.Run("wrong size stages nothing", s.stageWrongSize)
	t.Run("concurrent staging", s.stageConcurrent)
}

// stageBlob is the i-th blob of the staging tests.
func stageBlob(i int) ([]byte, content.Digest) {
	data := Blob(uint64(400+i), 64<<10+i)
	return data, content.FromBytes(data)
}

func (s *suite) stageInvisibleUntilCommit(t *testing.T) {
	b := s.newBackend(t)
	st := b.(storage.Stager).NewStage()
	defer st.Abort()
	want := map[content.Digest]int64{}
	start := time.Now()
	for i := range 5 {
		data, d := stageBlob(i)
		created, err := st.PutVerified(t.Context(), d, int64(len(data)), bytes.NewReader(data))
		if err != nil || !created {
			t.Fatalf("stage blob %d = %v, %v; want created", i, created, err)
		}
		s.wantAbsent(t, b, d)
		want[d] = int64(len(data))
	}
	if err := st.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		data, d := stageBlob(i)
		if got := mustRead(t, b, d, nil); !bytes.Equal(got, data) {
			t.Fatalf("blob %d reads back other bytes after Commit", i)
		}
		i, err := b.Head(t.Context(), d)
		if err != nil {
			t.Fatal(err)
		}
		s.checkModTime(t, "staged blob", i.ModTime, start)
	}
	wantOnly(t, b, want)

	// More staging after a Commit, then Abort: only the committed
	// blobs exist; Commit and Abort again are harmless.
	data, d := stageBlob(9)
	if _, err := st.PutVerified(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	st.Abort()
	st.Abort()
	if err := st.Commit(t.Context()); err != nil {
		t.Fatalf("Commit after Abort = %v; want nil (nothing staged)", err)
	}
	s.wantAbsent(t, b, d)
	wantOnly(t, b, want)
}

func (s *suite) stageExistingBlob(t *testing.T) {
	b := s.newBackend(t)
	data, d := stageBlob(20)
	mustPut(t, b, data)
	st := b.(storage.Stager).NewStage()
	defer st.Abort()
	start := time.Now()
	tr := &trackingReader{r: bytes.NewReader(data)}
	created, err := st.PutVerified(t.Context(), d, int64(len(data)), tr)
	if err != nil || created {
		t.Fatalf("staging a stored blob = %v, %v; want created=false", created, err)
	}
	if !tr.eof {
		t.Errorf("staging a stored blob read %d of %d bytes; it must drain the reader", tr.n, len(data))
	}
	i, err := b.Head(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	s.checkModTime(t, "re-staged blob", i.ModTime, start)
	st.Abort() // nothing was staged: the stored blob stays
	if got := mustRead(t, b, d, nil); !bytes.Equal(got, data) {
		t.Fatal("Abort touched a blob that was stored before the stage")
	}
}

func (s *suite) stageWrongSize(t *testing.T) {
	b := s.newBackend(t)
	data, d := stageBlob(30)
	st := b.(storage.Stager).NewStage()
	defer st.Abort()
	for _, c := range []struct {
		name string
		size int64
		r    io.Reader
	}{
		{"short", int64(len(data)), bytes.NewReader(data[:len(data)-1])},
		{"long", int64(len(data)), io.MultiReader(bytes.NewReader(data), strings.NewReader("+"))},
		{"declared too large", int64(len(data)) + 1, bytes.NewReader(data)},
	} {
		if created, err := st.PutVerified(t.Context(), d, c.size, c.r); created || !errors.Is(err, storage.ErrDigestMismatch) {
			t.Errorf("%s stream: PutVerified = %v, %v; want ErrDigestMismatch", c.name, created, err)
		}
	}
	if _, err := st.PutVerified(t.Context(), content.Digest{}, 1, strings.NewReader("x")); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("zero digest: error = %v; want ErrInvalidKey", err)
	}
	if err := st.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.wantAbsent(t, b, d)
	wantOnly(t, b, map[content.Digest]int64{})
}

func (s *suite) stageConcurrent(t *testing.T) {
	b := s.newBackend(t)
	st := b.(storage.Stager).NewStage()
	defer st.Abort()
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, d := stageBlob(100 + i%12) // every blob staged twice
			if _, err := st.PutVerified(t.Context(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := st.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := map[content.Digest]int64{}
	for i := range 12 {
		data, d := stageBlob(100 + i)
		want[d] = int64(len(data))
		if got := mustRead(t, b, d, nil); !bytes.Equal(got, data) {
			t.Fatalf("blob %d reads back other bytes", i)
		}
	}
	wantOnly(t, b, want)
}

// cappedReader reads at most n bytes per Read.
type cappedReader struct {
	r io.Reader
	n int
}

func (c *cappedReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }
