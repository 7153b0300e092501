package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/artifact-store/artstore/internal/content"
)

// TestFifo: regions are handed out in order and come back oldest first; an
// allocation that does not fit waits for a release, or for its context.
func TestFifo(t *testing.T) {
	fq := &fifo{buf: make([]byte, 100), freed: make(chan struct{}, 1)}
	a, _ := fq.alloc(context.Background(), 40)
	b, _ := fq.alloc(context.Background(), 40)
	if &a[0] == &b[0] || len(a) != 40 || cap(b) != 40 {
		t.Fatal("regions overlap or are not exactly the size asked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := fq.alloc(ctx, 40); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("alloc with no room = %v; want it to wait until its context ends", err)
	}
	got := make(chan []byte)
	go func() {
		c, _ := fq.alloc(context.Background(), 40)
		got <- c
	}()
	fq.release() // a's region
	if c := <-got; &c[0] != &a[0] {
		t.Fatal("the region after a release is not the freed one")
	}
}

// TestFifoAligns: in a page-aligned buffer, a region starts at an aligned
// address wherever there is room for that, and packs in right after the
// previous one where there is not, so aligning a region never makes its
// allocation wait.
func TestFifoAligns(t *testing.T) {
	buf, free := bigBuffer(4 * fifoAlign)
	defer free()
	fq := &fifo{buf: buf, freed: make(chan struct{}, 1)}
	ctx := context.Background()
	var starts []int
	for _, n := range []int{100, fifoAlign + 1, 2*fifoAlign - 1 - 100} {
		r, err := fq.alloc(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, int(uintptr(unsafe.Pointer(&r[0]))-uintptr(unsafe.Pointer(&buf[0]))))
	}
	// 100 at 0; fifoAlign+1 at fifoAlign; the last fits only right after it.
	if want := []int{0, fifoAlign, 2*fifoAlign + 1}; !slices.Equal(starts, want) {
		t.Fatalf("regions start at %v, want %v", starts, want)
	}
	fq.release()
	fq.release()
	r, err := fq.alloc(ctx, fifoAlign) // wraps to 0
	if err != nil || &r[0] != &buf[0] {
		t.Fatalf("alloc after the releases: %v, at offset %d; want the start of the buffer", err, uintptr(unsafe.Pointer(&r[0]))-uintptr(unsafe.Pointer(&buf[0])))
	}
	if uintptr(unsafe.Pointer(&buf[0]))%fifoAlign != 0 {
		t.Fatal("bigBuffer is not page-aligned")
	}
}

// TestPullFetcher: the fetchers verify a chunk far from the in-order
// hasher themselves and report a corrupt one; one the hasher will pair they
// only size-check and pass on unverified.
func TestPullFetcher(t *testing.T) {
	s := newMemStore()
	data := randBytes(38, 100<<10)
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	bad := 2*pairAhead + 2
	if len(m.Chunks) <= bad {
		t.Fatalf("only %d chunks", len(m.Chunks))
	}
	s.corrupt(m.Chunks[0].Digest)
	s.corrupt(m.Chunks[bad].Digest)
	var at atomic.Int64
	f := &pullFetcher{store: s, opts: PullOptions{Retry: fastRetry()}.withDefaults(), both: true, hashAt: &at}
	jobs := make(chan fetchJob, 2)
	outs := []chan fetched{make(chan fetched, 1), make(chan fetched, 1)}
	for k, i := range []int{0, bad} {
		jobs <- fetchJob{index: i, ref: m.Chunks[i], buf: make([]byte, m.Chunks[i].Size), out: outs[k]}
	}
	close(jobs)
	f.fetch(context.Background(), jobs)
	near, far := <-outs[0], <-outs[1]
	if near.err != nil || near.verified {
		t.Errorf("chunk next to the hasher: err %v, verified %v; want passed on for the hasher to verify", near.err, near.verified)
	}
	if !errors.Is(far.err, content.ErrMismatch) {
		t.Errorf("corrupt chunk far ahead: %v; want ErrMismatch from the fetcher", far.err)
	}
}

// TestPullFetcherPaired: fetchers that verify chunks in pairs (a range
// pull) report a corrupt chunk in either position of a pair, and one
// finished alone, under its own index and digest, and pass its partner on
// verified. One fetcher with the jobs queued parks chunk 0, hashes it
// alongside chunk 1 when that is read, the rest of the longer of the two
// alongside chunk 2, and so on; the rest of the last pair it finishes
// alone (no job left).
func TestPullFetcherPaired(t *testing.T) {
	s := newMemStore()
	data := randBytes(39, 100<<10)
	res, err := Push(context.Background(), bytes.NewReader(data), s, PushOptions{Chunker: smallParams()})
	if err != nil {
		t.Fatal(err)
	}
	m := manifestOf(t, s, res.ManifestDigest)
	const n = 5
	if len(m.Chunks) < n {
		t.Fatalf("only %d chunks", len(m.Chunks))
	}
	for _, bad := range [][]int{{}, {0}, {1}, {0, 1}, {0, 3}, {1, 2}, {4}, {1, 4}} {
		s := newMemStore()
		var off int64
		for _, c := range m.Chunks[:n] {
			s.set(c.Digest, data[off:off+c.Size])
			off += c.Size
		}
		for _, i := range bad {
			s.corrupt(m.Chunks[i].Digest)
		}
		f := &pullFetcher{store: s, opts: PullOptions{Retry: fastRetry()}.withDefaults(), prog: &progress{}, paired: newParked()}
		jobs := make(chan fetchJob, n)
		var outs []chan fetched
		for i, c := range m.Chunks[:n] {
			out := make(chan fetched, 1)
			outs = append(outs, out)
			jobs <- fetchJob{index: i, ref: c, buf: make([]byte, c.Size), out: out}
		}
		close(jobs)
		f.fetch(context.Background(), jobs)
		off = 0
		for i, c := range m.Chunks[:n] {
			got := <-outs[i]
			if slices.Contains(bad, i) {
				var me *content.MismatchError
				if !errors.As(got.err, &me) || me.Expected != c.Digest || me.Actual.IsZero() {
					t.Errorf("corrupt %v: chunk %d: %v; want a digest mismatch for %s", bad, i, got.err, c.Digest.Short())
				} else if want := fmt.Sprintf("chunk %d (%s): ", i, c.Digest.Short()); !strings.HasPrefix(got.err.Error(), want) {
					t.Errorf("corrupt %v: chunk %d: %q; want it to start %q", bad, i, got.err, want)
				}
			} else if got.err != nil || !got.verified || !bytes.Equal(got.buf, data[off:off+c.Size]) {
				t.Errorf("corrupt %v: intact chunk %d: err %v, verified %v; want passed on verified", bad, i, got.err, got.verified)
			}
			off += c.Size
		}
	}
}

// TestAwaitFinishesParkedChunk: the feeder waiting for a chunk that is
// parked (waiting for a partner) leaves it while a fetcher is reading a
// chunk that would pair with it, and finishes it alone, verified, once the
// last such fetcher is done without taking it. A corrupt one it reports.
func TestAwaitFinishesParkedChunk(t *testing.T) {
	data := randBytes(41, 3000)
	for _, corrupt := range []bool{false, true} {
		ref := content.ChunkRef{Digest: content.FromBytes(data), Size: int64(len(data))}
		buf := bytes.Clone(data)
		if corrupt {
			buf[100] ^= 1
		}
		f := &pullFetcher{opts: PullOptions{Retry: fastRetry()}.withDefaults(), prog: &progress{}, paired: newParked()}
		out := make(chan fetched, 1)
		c := hashing{job: fetchJob{index: 3, ref: ref, buf: buf, out: out}}
		c.msg.Reset(buf)
		f.paired.start() // a fetcher reads another chunk
		if _, ok := f.paired.swap(&c); ok {
			t.Fatal("swap with no chunk parked took one")
		}
		got := make(chan fetched, 1)
		go func() {
			r, _ := f.await(context.Background(), out)
			got <- r
		}()
		select {
		case r := <-got:
			t.Fatalf("await finished the parked chunk (%v) while a fetcher that would pair it was reading", r.err)
		case <-time.After(50 * time.Millisecond):
		}
		f.paired.done() // its read failed: it does not take the parked chunk
		select {
		case r := <-got:
			if corrupt {
				if !errors.Is(r.err, content.ErrMismatch) || !strings.HasPrefix(r.err.Error(), "chunk 3 (") {
					t.Errorf("corrupt parked chunk: %v; want a mismatch for chunk 3", r.err)
				}
			} else if r.err != nil || !r.verified {
				t.Errorf("parked chunk: err %v, verified %v; want verified", r.err, r.verified)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("await did not finish the parked chunk after the last fetcher was done")
		}
	}
}
