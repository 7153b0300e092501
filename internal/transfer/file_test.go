package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// TestFileWriteRange: a File fetches the manifest once, hands it to Check
// before anything is written, then serves the whole content and any
// ranges of it, each verified, in one chunk's worth of buffer when asked.
func TestFileWriteRange(t *testing.T) {
	s := newMemStore()
	data := randBytes(21, 150<<10)
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	var checked content.Manifest
	gets := s.getCalls
	f, err := OpenFile(context.Background(), res.ManifestDigest, s, PullOptions{
		Concurrency: 1, ReadAhead: 1, BufferSize: 1,
		Check: func(m content.Manifest) error { checked = m; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := s.getCalls - gets; got != 1 {
		t.Fatalf("OpenFile made %d Get calls, want 1 (the manifest)", got)
	}
	if m := f.Manifest(); m.Digest != res.ContentDigest || m.Size != int64(len(data)) || checked.Digest != m.Digest {
		t.Fatalf("Manifest() = %s %d bytes, checked %s; want %s %d bytes", m.Digest, m.Size, checked.Digest, res.ContentDigest, len(data))
	}
	n := int64(len(data))
	for _, r := range []*content.Range{nil, {Start: 0, End: 0}, {Start: 5000, End: 90000}, {Start: n - 1, End: n - 1}, nil} {
		var out bytes.Buffer
		pr, err := f.WriteRange(context.Background(), &out, r)
		want := data
		if r != nil {
			want = data[r.Start : r.End+1]
		}
		if err != nil || !bytes.Equal(out.Bytes(), want) || pr.Written != int64(len(want)) {
			t.Fatalf("WriteRange(%v): %d bytes, written %d, %v; want the %d bytes", r, out.Len(), pr.Written, err, len(want))
		}
	}
}

// TestOpenFileCheck: an error from Check fails OpenFile, wrapped.
func TestOpenFileCheck(t *testing.T) {
	s := newMemStore()
	res, err := Push(context.Background(), bytes.NewReader([]byte("some bytes")), s, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenFile(context.Background(), res.ManifestDigest, s, PullOptions{
		Check: func(content.Manifest) error { return content.ErrMismatch },
	})
	if !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("OpenFile with a failing Check: %v; want ErrMismatch", err)
	}
}

// TestFileWriteRangeVerifies: a corrupt chunk fails WriteRange with
// ErrMismatch and none of its bytes reach the writer.
func TestFileWriteRangeVerifies(t *testing.T) {
	s := newMemStore()
	data := randBytes(22, 100<<10)
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	f, err := OpenFile(context.Background(), res.ManifestDigest, s, PullOptions{Retry: fastRetry()})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s.corrupt(m.Chunks[1].Digest)
	var out bytes.Buffer
	r := content.Range{Start: 10, End: m.Chunks[0].Size + 10}
	if _, err := f.WriteRange(context.Background(), &out, &r); !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("WriteRange over a corrupt chunk: %v; want ErrMismatch", err)
	}
	if !bytes.Equal(out.Bytes(), data[10:m.Chunks[0].Size]) {
		t.Fatalf("wrote %d bytes; want only the %d of the intact first chunk", out.Len(), m.Chunks[0].Size-10)
	}
}

// TestFileWriteSection: a file of a stream-layout tree is a section of the
// tree's stream; WriteSection serves it whole (checking its digest) or any
// range of it, and refuses a file manifest and a section past the stream.
func TestFileWriteSection(t *testing.T) {
	src := t.TempDir()
	paths := manyFiles(t, src, 60, 300)
	s := newMemStore()
	res, err := PushTree(context.Background(), src, s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	if !m.Stream() {
		t.Fatal("the tree is not in the stream layout")
	}
	f, err := OpenFile(context.Background(), res.ManifestDigest, s, PullOptions{Concurrency: 1, ReadAhead: 1, BufferSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := 0
	for _, e := range m.Entries {
		if e.Type != content.EntryFile {
			continue
		}
		files++
		want, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(e.Path)))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		pr, err := f.WriteSection(context.Background(), &out, e.Offset, e.Size, e.Digest, nil)
		if err != nil || !bytes.Equal(out.Bytes(), want) || pr.Written != int64(len(want)) {
			t.Fatalf("WriteSection(%s): %d bytes, %v; want its %d bytes", e.Path, out.Len(), err, len(want))
		}
		if e.Size > 10 {
			out.Reset()
			r := content.Range{Start: 3, End: e.Size - 2}
			if _, err := f.WriteSection(context.Background(), &out, e.Offset, e.Size, e.Digest, &r); err != nil || !bytes.Equal(out.Bytes(), want[3:e.Size-1]) {
				t.Fatalf("WriteSection(%s, %v): %q, %v; want %q", e.Path, r, out.Bytes(), err, want[3:e.Size-1])
			}
		}
	}
	if files != len(paths) {
		t.Fatalf("%d file entries, want %d", files, len(paths))
	}
	e := m.Entries[len(m.Entries)-1]
	var out bytes.Buffer
	if _, err := f.WriteSection(context.Background(), &out, e.Offset, e.Size, content.FromBytes([]byte("other")), nil); !errors.Is(err, content.ErrMismatch) {
		t.Fatalf("WriteSection with the wrong digest: %v; want ErrMismatch", err)
	}
	if _, err := f.WriteSection(context.Background(), &out, m.Size-5, 10, e.Digest, nil); err == nil {
		t.Fatal("WriteSection past the end of the stream succeeded")
	}

	one, err := Push(context.Background(), bytes.NewReader([]byte("a file")), s, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ff, err := OpenFile(context.Background(), one.ManifestDigest, s, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	if _, err := ff.WriteSection(context.Background(), &out, 0, 6, one.ContentDigest, nil); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("WriteSection of a file manifest: %v; want ErrWrongKind", err)
	}
}

// TestWriteRangeWritesOnlyVerifiedBytes corrupts each chunk in turn and
// checks that a range pull (the fetchers verify every chunk: in pairs with
// several fetchers, see fetchPaired) fails naming that chunk and writes
// exactly the content before it, whatever the buffer holds.
func TestWriteRangeWritesOnlyVerifiedBytes(t *testing.T) {
	data := randBytes(40, 200<<10)
	s := newMemStore()
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	all := content.Range{Start: 0, End: int64(len(data)) - 1}
	// With a buffer of one chunk, a chunk left for a partner blocks the
	// next one's space: its fetcher must verify it alone.
	for _, o := range []struct{ conc, buf int }{{1, 0}, {2, 0}, {3, 0}, {3, 1}} {
		conc := o.conc
		f, err := OpenFile(context.Background(), res.ManifestDigest, s, PullOptions{Concurrency: conc, ReadAhead: conc, BufferSize: o.buf, Retry: fastRetry()})
		if err != nil {
			t.Fatal(err)
		}
		var off int64
		for k, c := range m.Chunks {
			good := s.blobs[c.Digest]
			s.corrupt(c.Digest)
			var out bytes.Buffer
			_, err := f.WriteRange(context.Background(), &out, &all)
			if want := fmt.Sprintf("chunk %d (%s)", k, c.Digest.Short()); !errors.Is(err, content.ErrMismatch) || !strings.Contains(fmt.Sprint(err), want) {
				t.Fatalf("concurrency %d, chunk %d corrupt: WriteRange = %v; want ErrMismatch naming %s", conc, k, err, want)
			}
			if !bytes.Equal(out.Bytes(), data[:off]) {
				t.Fatalf("concurrency %d, chunk %d corrupt: wrote %d bytes; want exactly the %d before it", conc, k, out.Len(), off)
			}
			s.set(c.Digest, good)
			off += c.Size
		}
		var out bytes.Buffer
		if _, err := f.WriteRange(context.Background(), &out, &all); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("concurrency %d: WriteRange after repair: %v", conc, err)
		}
		f.Close()
	}
}
