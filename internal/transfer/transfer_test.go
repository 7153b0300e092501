package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/storage"
)

// small chunker parameters: many chunks from little data, so the ring wraps
// often and tests stay fast under -race.
func smallParams() content.ChunkerParams {
	return content.ChunkerParams{Algorithm: content.AlgorithmFastCDCGearV1, Min: 1 << 10, Avg: 4 << 10, Max: 16 << 10}
}

// fastRetry retries quickly so tests do not sleep long.
func fastRetry() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}
}

// referenceChunks cuts data with the plain streaming chunker.
func referenceChunks(t testing.TB, data []byte, p content.ChunkerParams) []content.ChunkRef {
	t.Helper()
	c, err := content.NewChunker(bytes.NewReader(data), p)
	if err != nil {
		t.Fatal(err)
	}
	var refs []content.ChunkRef
	for {
		ch, err := c.Next()
		if err == io.EOF {
			return refs
		}
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, content.ChunkRef{Digest: content.FromBytes(ch.Data), Size: int64(len(ch.Data))})
	}
}

func manifestOf(t testing.TB, s *memStore, d content.Digest) content.Manifest {
	t.Helper()
	m, err := fetchManifest(context.Background(), s, d, fastRetry().withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// distinctChunks counts the distinct chunks among chunks and their bytes.
func distinctChunks(chunks []content.ChunkRef) (n int, bytes int64) {
	seen := map[content.Digest]bool{}
	for _, c := range chunks {
		if !seen[c.Digest] {
			seen[c.Digest] = true
			n++
			bytes += c.Size
		}
	}
	return n, bytes
}

func TestPushPullRoundTrip(t *testing.T) {
	sp := smallParams()
	zeros := make([]byte, 200<<10)
	repeated := bytes.Repeat(randBytes(11, 50<<10), 6)
	for _, tc := range []struct {
		name  string
		data  []byte
		opts  PushOptions
		short bool // deliver the input in small, uneven reads
	}{
		{"empty", nil, PushOptions{Chunker: sp}, false},
		{"one byte", []byte{42}, PushOptions{Chunker: sp}, false},
		{"below min", randBytes(1, 1000), PushOptions{Chunker: sp}, false},
		{"random 1 MiB", randBytes(2, 1<<20), PushOptions{Chunker: sp}, false},
		{"tightest buffer, serial", randBytes(3, 1<<20), PushOptions{Chunker: sp, BufferSize: 2 * 16 << 10, Concurrency: 1, HashWorkers: 1}, false},
		{"tight buffer, wide", randBytes(4, 1<<20), PushOptions{Chunker: sp, BufferSize: 40 << 10, Concurrency: 8, HashWorkers: 3, MissingBatch: 3}, false},
		{"zeros (repeated max chunks)", zeros, PushOptions{Chunker: sp}, false},
		{"repeated block", repeated, PushOptions{Chunker: sp, MediaType: "application/octet-stream"}, false},
		{"default params", randBytes(5, 9<<20), PushOptions{}, false},
		{"short reads, tight buffer", randBytes(17, 1<<20), PushOptions{Chunker: sp, BufferSize: 2 * 16 << 10, Concurrency: 2}, true},
		{"short reads, roomy buffer", randBytes(18, 1<<20), PushOptions{Chunker: sp, BufferSize: 1 << 20}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore()
			var last Progress
			tc.opts.Progress = func(p Progress) { last = p }
			tc.opts.Retry = fastRetry()
			var in io.Reader = bytes.NewReader(tc.data)
			if tc.short {
				in = &unevenReader{r: in}
			}
			res, err := Push(context.Background(), in, s, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			params := tc.opts.Chunker
			if params == (content.ChunkerParams{}) {
				params = content.DefaultChunkerParams()
			}
			want := referenceChunks(t, tc.data, params)
			m := manifestOf(t, s, res.ManifestDigest)
			if !slices.Equal(m.Chunks, want) {
				t.Fatalf("pipeline chunks differ from content.Chunker's: got %d chunks, want %d", len(m.Chunks), len(want))
			}
			if res.ContentDigest != content.FromBytes(tc.data) || m.Digest != res.ContentDigest {
				t.Fatalf("content digest %s, want %s", res.ContentDigest, content.FromBytes(tc.data))
			}
			if res.Size != int64(len(tc.data)) || res.Chunks != len(want) || res.Kind != content.KindFile || m.MediaType != tc.opts.MediaType {
				t.Fatalf("result %+v does not describe the input", res)
			}
			if res.UploadedBytes+res.DeduplicatedBytes != res.Size {
				t.Fatalf("uploaded %d + deduplicated %d != size %d", res.UploadedBytes, res.DeduplicatedBytes, res.Size)
			}
			nDistinct, distinctBytes := distinctChunks(want)
			if res.UploadedBytes != distinctBytes || s.putOK != nDistinct+1 {
				t.Fatalf("uploaded %d bytes in %d blobs, want each distinct chunk once and the manifest: %d bytes, %d blobs",
					res.UploadedBytes, s.putOK, distinctBytes, nDistinct+1)
			}
			if len(tc.data) > 0 && (last.Read != res.Size || last.Written != res.UploadedBytes ||
				last.Deduplicated != res.DeduplicatedBytes || last.Total != -1) {
				t.Fatalf("last progress %+v does not match the result %+v", last, res)
			}
			if s.maxInFlight > max(tc.opts.Concurrency, 1) && tc.opts.Concurrency > 0 {
				t.Fatalf("%d Puts in flight, Concurrency is %d", s.maxInFlight, tc.opts.Concurrency)
			}

			// Pull it back, whole and through a file.
			var out bytes.Buffer
			var pulled Progress
			pres, err := Pull(context.Background(), res.ManifestDigest, s, &out, PullOptions{Concurrency: 3, Retry: fastRetry(),
				Progress: func(p Progress) { pulled = p }})
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.data) > 0 && (pulled.Written != res.Size || pulled.Total != res.Size || pulled.Read != res.Size) {
				t.Fatalf("last pull progress %+v, want %d bytes", pulled, res.Size)
			}
			if !bytes.Equal(out.Bytes(), tc.data) || pres.Written != res.Size {
				t.Fatalf("pulled %d bytes that differ from the %d pushed", out.Len(), len(tc.data))
			}
			target := filepath.Join(t.TempDir(), "out.bin")
			if _, err := PullToFile(context.Background(), res.ManifestDigest, s, target, PullOptions{}); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(target)
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("PullToFile wrote different bytes (err %v)", err)
			}
			if st, err := os.Stat(target); err != nil || st.Mode().Perm() != 0o644 {
				t.Fatalf("PullToFile mode: %v %v", st.Mode(), err)
			}
		})
	}
}

func TestPushProgressTotal(t *testing.T) {
	data := randBytes(22, 100<<10)
	var calls int
	var last Progress
	_, err := Push(context.Background(), bytes.NewReader(data), newMemStore(), PushOptions{Chunker: smallParams(),
		ExpectedSize: int64(len(data)), Progress: func(p Progress) { calls++; last = p }})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 || last.Total != int64(len(data)) || last.Read != int64(len(data)) || last.Written != int64(len(data)) {
		t.Fatalf("%d progress calls, last %+v", calls, last)
	}
}

func TestPushIsDeterministic(t *testing.T) {
	data := randBytes(6, 600<<10)
	var digests []content.Digest
	for _, opts := range []PushOptions{
		{Chunker: smallParams()},
		{Chunker: smallParams(), Concurrency: 1, HashWorkers: 1, BufferSize: 32 << 10},
		{Chunker: smallParams(), Concurrency: 7, HashWorkers: 4, MissingBatch: 1},
	} {
		res, err := Push(context.Background(), bytes.NewReader(data), newMemStore(), opts)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, res.ManifestDigest)
	}
	if digests[0] != digests[1] || digests[0] != digests[2] {
		t.Fatalf("the same content gave different manifests: %v", digests)
	}
}

func TestPushRePushUploadsNothing(t *testing.T) {
	s := newMemStore()
	data := randBytes(7, 500<<10)
	first, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	puts := s.putOK
	second, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	if second.UploadedBytes != 0 || second.DeduplicatedBytes != int64(len(data)) || s.putOK != puts {
		t.Fatalf("re-push uploaded %d bytes (%d new blobs), want 0", second.UploadedBytes, s.putOK-puts)
	}
	if second.ManifestDigest != first.ManifestDigest {
		t.Fatalf("re-push gave manifest %s, first push %s", second.ManifestDigest, first.ManifestDigest)
	}
}

func TestPushRetries(t *testing.T) {
	data := randBytes(8, 300<<10)
	for _, tc := range []struct {
		name         string
		failPut      func(call int, d content.Digest) error
		failMissing  func(call int) error
		wantErr      error // nil: the push succeeds
		wantPutCalls int   // 0: don't check
	}{
		{
			name:    "third put fails once, temporarily",
			failPut: func(call int, _ content.Digest) error { return failOn(call, 3, tempErr{"connection reset"}) },
		},
		{
			name:    "unavailable twice",
			failPut: func(call int, _ content.Digest) error { return failOn(call, 2, storage.ErrUnavailable, 3) },
		},
		{
			name:        "missing check fails once",
			failMissing: func(call int) error { return failOn(call, 1, tempErr{"timeout"}) },
		},
		{
			name:         "permanent error is not retried",
			failPut:      func(call int, _ content.Digest) error { return failOn(call, 1, errBroken) },
			wantErr:      errBroken,
			wantPutCalls: 1,
		},
		{
			name:         "mismatch is not retried",
			failPut:      func(call int, d content.Digest) error { return failOn(call, 1, &content.MismatchError{Expected: d}) },
			wantErr:      content.ErrMismatch,
			wantPutCalls: 1,
		},
		{
			name:         "temporary errors run out of attempts",
			failPut:      func(int, content.Digest) error { return tempErr{"still down"} },
			wantErr:      tempErr{"still down"},
			wantPutCalls: 4,
		},
		{
			name:        "missing fails for good",
			failMissing: func(int) error { return errBroken },
			wantErr:     errBroken,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore()
			s.failPut, s.failMissing = tc.failPut, tc.failMissing
			res, err := Push(context.Background(), bytes.NewReader(data), s,
				PushOptions{Chunker: smallParams(), Concurrency: 1, Retry: fastRetry()})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				if tc.wantPutCalls > 0 && s.putCalls != tc.wantPutCalls {
					t.Fatalf("%d Put calls, want %d", s.putCalls, tc.wantPutCalls)
				}
				for d := range s.blobs {
					if m, err := content.ParseManifest(s.blobs[d]); err == nil {
						t.Fatalf("a manifest (%s) was stored by a failed push", m.Kind)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if _, err := Pull(context.Background(), res.ManifestDigest, s, &out, PullOptions{}); err != nil || !bytes.Equal(out.Bytes(), data) {
				t.Fatalf("pull after retried push: %v", err)
			}
		})
	}
}

// failOn returns err when call is one of the listed call numbers (from
// first, for count calls; count defaults to 1).
func failOn(call, first int, err error, count ...int) error {
	n := 1
	if len(count) > 0 {
		n = count[0]
	}
	if call >= first && call < first+n {
		return err
	}
	return nil
}

// TestPushResume interrupts a push after some chunks are stored and checks
// that running it again uploads exactly the rest.
func TestPushResume(t *testing.T) {
	data := randBytes(9, 1<<20)
	all := referenceChunks(t, data, smallParams())
	s := newMemStore()
	ctx, cancel := context.WithCancel(context.Background())
	const k = 40
	s.afterPut = func(stored int) {
		if stored == k {
			cancel()
		}
	}
	_, err := Push(ctx, bytes.NewReader(data), s, PushOptions{Chunker: smallParams(), Concurrency: 2})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted push: got %v, want context.Canceled", err)
	}
	stored := len(s.blobs)
	if stored < k || stored >= len(all) {
		t.Fatalf("%d of %d chunks stored after the interruption; want at least %d and not all", stored, len(all), k)
	}
	var rest int64
	restBlobs := map[content.Digest]bool{}
	for _, c := range all {
		if !s.has(c.Digest) && !restBlobs[c.Digest] {
			restBlobs[c.Digest] = true
			rest += c.Size
		}
	}
	s.afterPut = nil
	before := s.putOK
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	if res.UploadedBytes != rest || s.putOK-before != len(restBlobs)+1 {
		t.Fatalf("resumed push uploaded %d bytes in %d blobs, want %d bytes in %d chunks + the manifest",
			res.UploadedBytes, s.putOK-before, rest, len(restBlobs))
	}
	if res.DeduplicatedBytes != int64(len(data))-rest {
		t.Fatalf("deduplicated %d bytes, want %d", res.DeduplicatedBytes, int64(len(data))-rest)
	}
}

type failingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

func TestPushReadError(t *testing.T) {
	s := newMemStore()
	r := &failingReader{r: newPRNG(1, 1<<30), n: 700 << 10, err: errBroken}
	_, err := Push(context.Background(), r, s, PushOptions{Chunker: smallParams()})
	if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), "read input") {
		t.Fatalf("got %v, want the read error", err)
	}
	for d, b := range s.blobs {
		if _, err := content.ParseManifest(b); err == nil {
			t.Fatalf("manifest %s stored by a failed push", d)
		}
	}
}

func TestPushOptionsInvalid(t *testing.T) {
	for _, opts := range []PushOptions{
		{Chunker: content.ChunkerParams{Algorithm: "nope", Min: 64, Avg: 64, Max: 64}},
		{Chunker: smallParams(), BufferSize: 16<<10 + 1},
	} {
		if _, err := Push(context.Background(), bytes.NewReader(nil), newMemStore(), opts); err == nil {
			t.Errorf("Push accepted options %+v", opts)
		}
	}
}

// TestEditedCopy checks deduplication across versions: a 64 MiB file with
// 1 MiB changed in the middle stores only the chunks around the change.
func TestEditedCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB of data; skipped with -short")
	}
	s := newMemStore()
	orig := randBytes(10, 64<<20)
	first, err := Push(context.Background(), bytes.NewReader(orig), s, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	edited := slices.Clone(orig)
	copy(edited[32<<20:], randBytes(11, 1<<20))
	before := s.putOK
	second, err := Push(context.Background(), bytes.NewReader(edited), s, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	newChunks := s.putOK - before - 1 // minus the manifest
	t.Logf("edited copy: %d of %d chunks new, %d bytes uploaded (%.1f%%)", newChunks, second.Chunks,
		second.UploadedBytes, 100*float64(second.UploadedBytes)/float64(second.Size))
	// The changed MiB may straddle a boundary (2 chunks) and the cut after
	// it may move once more before the chains resynchronise: at most 3,
	// which is also the worst case measured over 80 random files.
	if newChunks > 3 || second.UploadedBytes > 3*content.DefaultChunkerParams().Max {
		t.Fatalf("edited copy stored %d new chunks (%d bytes); want at most 3", newChunks, second.UploadedBytes)
	}
	if first.ManifestDigest == second.ManifestDigest {
		t.Fatal("edited copy has the same manifest")
	}
}

func TestPullRange(t *testing.T) {
	s := newMemStore()
	data := randBytes(12, 200<<10)
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	firstEnd := m.Chunks[0].Size - 1
	n := int64(len(data))
	for _, r := range []content.Range{
		{Start: 0, End: 0}, {Start: 0, End: n - 1}, {Start: n - 1, End: n - 1},
		{Start: 0, End: firstEnd}, {Start: firstEnd, End: firstEnd + 1},
		{Start: 1234, End: 150000}, {Start: firstEnd + 1, End: n - 2},
	} {
		var out bytes.Buffer
		gets := s.getCalls
		pr, err := Pull(context.Background(), res.ManifestDigest, s, &out, PullOptions{Range: &r})
		if err != nil {
			t.Fatalf("range %v: %v", r, err)
		}
		if !bytes.Equal(out.Bytes(), data[r.Start:r.End+1]) || pr.Written != r.Length() {
			t.Fatalf("range %v: got %d bytes that differ from the content", r, out.Len())
		}
		first, last, _, _ := m.ChunkSpan(r)
		if got := s.getCalls - gets; got != last-first+2 { // + the manifest
			t.Fatalf("range %v fetched %d blobs, want %d chunks + manifest", r, got, last-first+1)
		}
	}
	bad := content.Range{Start: 10, End: n}
	if _, err := Pull(context.Background(), res.ManifestDigest, s, io.Discard, PullOptions{Range: &bad}); !errors.Is(err, content.ErrInvalidRange) {
		t.Fatalf("range past the end: got %v, want ErrInvalidRange", err)
	}
}

func TestPullIntegrity(t *testing.T) {
	data := randBytes(13, 300<<10)
	setup := func(t *testing.T) (*memStore, PushResult, content.Manifest) {
		s := newMemStore()
		res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
		if err != nil {
			t.Fatal(err)
		}
		return s, res, manifestOf(t, s, res.ManifestDigest)
	}
	for _, tc := range []struct {
		name    string
		break_  func(s *memStore, res PushResult, m content.Manifest) content.Digest // returns the digest to pull
		wantErr error
	}{
		{"corrupt chunk", func(s *memStore, res PushResult, m content.Manifest) content.Digest {
			s.corrupt(m.Chunks[len(m.Chunks)/2].Digest)
			return res.ManifestDigest
		}, content.ErrMismatch},
		{"truncated chunk", func(s *memStore, res PushResult, m content.Manifest) content.Digest {
			d := m.Chunks[3].Digest
			s.set(d, s.blobs[d][:10])
			return res.ManifestDigest
		}, content.ErrMismatch},
		{"longer chunk", func(s *memStore, res PushResult, m content.Manifest) content.Digest {
			d := m.Chunks[3].Digest
			s.set(d, append(bytes.Clone(s.blobs[d]), 1))
			return res.ManifestDigest
		}, content.ErrMismatch},
		{"missing chunk", func(s *memStore, res PushResult, m content.Manifest) content.Digest {
			delete(s.blobs, m.Chunks[len(m.Chunks)-1].Digest)
			return res.ManifestDigest
		}, storage.ErrNotFound},
		{"corrupt manifest", func(s *memStore, res PushResult, _ content.Manifest) content.Digest {
			s.corrupt(res.ManifestDigest)
			return res.ManifestDigest
		}, content.ErrMismatch},
		{"lying content digest", func(s *memStore, _ PushResult, m content.Manifest) content.Digest {
			m.Digest = content.FromBytes([]byte("something else"))
			b, err := m.Encode()
			if err != nil {
				panic(err)
			}
			d := content.FromBytes(b)
			s.set(d, b)
			return d
		}, content.ErrMismatch},
		{"tree pulled as file", func(s *memStore, _ PushResult, _ content.Manifest) content.Digest {
			m, err := content.NewTreeManifest(nil, "")
			if err != nil {
				panic(err)
			}
			b, _ := m.Encode()
			s.set(content.FromBytes(b), b)
			return content.FromBytes(b)
		}, ErrWrongKind},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, res, m := setup(t)
			d := tc.break_(s, res, m)
			if _, err := Pull(context.Background(), d, s, io.Discard, PullOptions{Retry: fastRetry()}); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Pull: got %v, want %v", err, tc.wantErr)
			}
			dir := t.TempDir()
			target := filepath.Join(dir, "out.bin")
			if err := os.WriteFile(target, []byte("previous"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := PullToFile(context.Background(), d, s, target, PullOptions{Retry: fastRetry()}); !errors.Is(err, tc.wantErr) {
				t.Fatalf("PullToFile: got %v, want %v", err, tc.wantErr)
			}
			if got, _ := os.ReadFile(target); string(got) != "previous" {
				t.Fatal("a failed PullToFile changed the target")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Fatalf("a failed PullToFile left files behind: %v", ents)
			}
		})
	}
}

// TestPullWritesOnlyVerifiedBytes corrupts each chunk in turn and checks
// that a pull to a stream writes exactly the content before it: a chunk
// reaches the writer only once verified, whether its fetcher verified it
// or the in-order hasher did (with the whole digest, for chunks close to
// it).
func TestPullWritesOnlyVerifiedBytes(t *testing.T) {
	data := randBytes(17, 400<<10)
	for _, conc := range []int{1, 4} {
		s := newMemStore()
		res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
		if err != nil {
			t.Fatal(err)
		}
		m := manifestOf(t, s, res.ManifestDigest)
		if len(m.Chunks) < 2*pairAhead+2 {
			t.Fatalf("only %d chunks; the test needs chunks near and far from the hasher", len(m.Chunks))
		}
		var off int64
		for k, c := range m.Chunks {
			good := bytes.Clone(s.blobs[c.Digest])
			s.corrupt(c.Digest)
			var out bytes.Buffer
			_, err := Pull(context.Background(), res.ManifestDigest, s, &out, PullOptions{Concurrency: conc, Retry: fastRetry()})
			if !errors.Is(err, content.ErrMismatch) {
				t.Fatalf("concurrency %d, chunk %d corrupt: Pull = %v; want ErrMismatch", conc, k, err)
			}
			if !bytes.Equal(out.Bytes(), data[:off]) {
				t.Fatalf("concurrency %d, chunk %d corrupt: wrote %d bytes; want exactly the %d before it", conc, k, out.Len(), off)
			}
			s.set(c.Digest, good)
			off += c.Size
		}
		var out bytes.Buffer
		if _, err := Pull(context.Background(), res.ManifestDigest, s, &out, PullOptions{Concurrency: conc}); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("pull after repair: %v", err)
		}
	}
}

func TestPullRetriesGet(t *testing.T) {
	s := newMemStore()
	data := randBytes(14, 100<<10)
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	failed := map[content.Digest]bool{}
	s.failGet = func(_ int, d content.Digest) error { // every blob fails once
		mu.Lock()
		defer mu.Unlock()
		if !failed[d] {
			failed[d] = true
			return tempErr{"flaky"}
		}
		return nil
	}
	var out bytes.Buffer
	if _, err := Pull(context.Background(), res.ManifestDigest, s, &out, PullOptions{Retry: fastRetry()}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatal("pulled bytes differ")
	}
}

func TestPullCancel(t *testing.T) {
	s := newMemStore()
	res, err := Push(context.Background(), newPRNG(15, 400<<10), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.failGet = func(call int, _ content.Digest) error {
		if call == 10 {
			cancel()
		}
		return nil
	}
	target := filepath.Join(t.TempDir(), "x")
	if _, err := PullToFile(ctx, res.ManifestDigest, s, target, PullOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(target)); len(ents) != 0 {
		t.Fatalf("cancelled pull left %v", ents)
	}
}

// fakeBackend is the part of storage.Backend that FromBackend uses.
type fakeBackend struct {
	storage.Backend
	have    map[content.Digest]bool
	headErr error
}

func (f fakeBackend) ID() string { return "fake" }

func (f fakeBackend) Head(_ context.Context, d content.Digest) (storage.Info, error) {
	if f.headErr != nil {
		return storage.Info{}, f.headErr
	}
	if f.have[d] {
		return storage.Info{Digest: d}, nil
	}
	return storage.Info{}, storage.ErrNotFound
}

func TestFromBackendMissing(t *testing.T) {
	var ds []content.Digest
	have := map[content.Digest]bool{}
	for i := range 50 {
		d := content.FromBytes([]byte{byte(i)})
		ds = append(ds, d)
		have[d] = i%3 == 0
	}
	got, err := FromBackend(fakeBackend{have: have}).Missing(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	var want []content.Digest
	for _, d := range ds {
		if !have[d] {
			want = append(want, d)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Missing returned %d digests, want %d in order", len(got), len(want))
	}
	_, err = FromBackend(fakeBackend{headErr: storage.ErrUnavailable}).Missing(context.Background(), ds[:3])
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}

func TestDefaultRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.Canceled, false},
		{context.DeadlineExceeded, false},
		{&content.MismatchError{}, false},
		{storage.ErrNotFound, false},
		{storage.ErrInvalidKey, false},
		{errBroken, false},
		{storage.ErrUnavailable, true},
		{tempErr{"x"}, true},
		{errors.Join(errBroken, tempErr{"x"}), true},
		{errors.Join(tempErr{"x"}, &content.MismatchError{}), false},
	} {
		if got := DefaultRetryable(tc.err); got != tc.want {
			t.Errorf("DefaultRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestPullBuffers pulls through buffers from the tightest (one chunk) up,
// so the FIFO wraps in every possible way.
func TestPullBuffers(t *testing.T) {
	s := newMemStore()
	data := randBytes(16, 700<<10)
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []PullOptions{
		{BufferSize: 1, Concurrency: 1},
		{BufferSize: 1, Concurrency: 4},
		{BufferSize: 20 << 10, Concurrency: 3, ReadAhead: 2},
		{BufferSize: 33 << 10, Concurrency: 5},
		{BufferSize: 100 << 10, Concurrency: 2, ReadAhead: 64},
		{BufferSize: 64 << 20},
	} {
		var out bytes.Buffer
		if _, err := Pull(context.Background(), res.ManifestDigest, s, &out, opts); err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("%+v: pulled bytes differ", opts)
		}
		r := content.Range{Start: 5000, End: 600000}
		out.Reset()
		if _, err := Pull(context.Background(), res.ManifestDigest, s, &out, PullOptions{Range: &r, BufferSize: opts.BufferSize, Concurrency: opts.Concurrency}); err != nil || !bytes.Equal(out.Bytes(), data[r.Start:r.End+1]) {
			t.Fatalf("%+v: range pull: %v", opts, err)
		}
	}
}

// unevenReader returns reads of 1 to 7000 bytes in a fixed pattern.
type unevenReader struct {
	r io.Reader
	n uint
}

func (u *unevenReader) Read(p []byte) (int, error) {
	u.n = u.n*1103515245 + 12345
	if k := 1 + int(u.n%7000); k < len(p) {
		p = p[:k]
	}
	return u.r.Read(p)
}

// TestPushOutOfOrderCompletion makes uploads finish in a scrambled order,
// so ring space is released out of order, and checks that the chunks and
// the content still come out right.
func TestPushOutOfOrderCompletion(t *testing.T) {
	data := randBytes(19, 1<<20)
	want := referenceChunks(t, data, smallParams())
	for _, buf := range []int{32 << 10, 48 << 10, 200 << 10} {
		s := newMemStore()
		s.failPut = func(call int, _ content.Digest) error {
			time.Sleep(time.Duration(call*7919%400) * time.Microsecond)
			return nil
		}
		res, err := Push(context.Background(), &unevenReader{r: bytes.NewReader(data)}, s,
			PushOptions{Chunker: smallParams(), BufferSize: buf, Concurrency: 6})
		if err != nil {
			t.Fatal(err)
		}
		if m := manifestOf(t, s, res.ManifestDigest); !slices.Equal(m.Chunks, want) || m.Digest != content.FromBytes(data) {
			t.Fatalf("buffer %d: chunks or digest differ from the reference", buf)
		}
		for _, c := range want {
			if got := s.blobs[c.Digest]; content.FromBytes(got) != c.Digest {
				t.Fatalf("buffer %d: stored chunk %s has other bytes", buf, c.Digest.Short())
			}
		}
	}
}

// cancelReader cancels a context after n reads.
type cancelReader struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return c.r.Read(p)
}

// TestPushCancelAnywhere cancels pushes at many points, with tight and
// roomy buffers, and checks that each returns context.Canceled without
// hanging and without leaking goroutines.
func TestPushCancelAnywhere(t *testing.T) {
	data := randBytes(23, 400<<10)
	before := runtime.NumGoroutine()
	for _, buf := range []int{32 << 10, 256 << 10} {
		for k := 1; k <= 40; k += 3 {
			ctx, cancel := context.WithCancel(context.Background())
			in := &cancelReader{r: &unevenReader{r: bytes.NewReader(data)}, n: k, cancel: cancel}
			_, err := Push(ctx, in, newMemStore(), PushOptions{Chunker: smallParams(), BufferSize: buf, Concurrency: 3})
			cancel()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("buffer %d, cancel after %d reads: got %v, want context.Canceled", buf, k, err)
			}
		}
	}
	// Goroutines of finished pushes are gone (the checkQ closer may take a
	// moment to be scheduled).
	for i := 0; runtime.NumGoroutine() > before && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left running (%d before)", n, before)
	}
}

// TestRetryWindow checks a policy bounded by time: it retries past the
// default attempt limit until the window ends, tells OnRetry before each
// wait, and says what to check when it gives up; a call that succeeds
// within the window returns nil.
func TestRetryWindow(t *testing.T) {
	ctx := context.Background()
	down := fmt.Errorf("daemon: %w", storage.ErrUnavailable)
	var retries atomic.Int64
	p := RetryPolicy{Window: 30 * time.Millisecond, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond,
		OnRetry: func(error) { retries.Add(1) }, GiveUpHint: "check the daemon"}
	calls := 0
	err := p.Do(ctx, func() error { calls++; return down })
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), fmt.Sprintf("after %d attempts over ", calls)) ||
		!strings.HasSuffix(err.Error(), "; check the daemon)") {
		t.Errorf("error at the end of the window = %v", err)
	}
	if calls < 2 || retries.Load() != int64(calls-1) {
		t.Errorf("%d calls, %d OnRetry calls; want several calls and one OnRetry before each retry", calls, retries.Load())
	}

	calls = 0
	long := p
	long.Window = time.Minute
	err = long.Do(ctx, func() error {
		calls++
		if calls < 8 { // more than the default five attempts
			return down
		}
		return nil
	})
	if err != nil || calls != 8 {
		t.Errorf("call that recovers within the window: %v after %d calls", err, calls)
	}

	calls = 0
	bad := fmt.Errorf("blob: %w", content.ErrMismatch)
	if err := p.Do(ctx, func() error { calls++; return bad }); err != bad || calls != 1 {
		t.Errorf("error that is not retryable: %v after %d calls, want it as it is after 1", err, calls)
	}
}
