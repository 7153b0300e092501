package sha256x2

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
)

// check writes data to a Pair in the given write sizes, cutting segments
// at the given stream offsets, and compares every segment digest and the
// whole digest with crypto/sha256.
func check(t testing.TB, p *Pair, data []byte, writes []int, cuts []int) {
	t.Helper()
	var got, want [][Size]byte
	pos, start := 0, 0
	cut := func() {
		got = append(got, p.Cut())
		want = append(want, sha256.Sum256(data[start:pos]))
		start = pos
	}
	wi := 0
	for pos < len(data) {
		n := len(data) - pos
		if len(writes) > 0 {
			n = min(n, max(writes[wi%len(writes)], 0))
			wi++
		}
		// A write never crosses a cut: the pipeline writes whole chunks.
		for _, c := range cuts {
			if c > pos && c < pos+n {
				n = c - pos
			}
		}
		if n == 0 {
			n = 1
		}
		p.Write(data[pos : pos+n])
		pos += n
		for _, c := range cuts {
			if c == pos {
				cut()
			}
		}
		if s, w := p.Sum(), sha256.Sum256(data[:pos]); s != w {
			t.Fatalf("after %d bytes: Sum = %x, want %x", pos, s, w)
		}
	}
	if start < pos || len(got) == 0 {
		cut()
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("segment %d: Cut = %x, want %x (writes %v, cuts %v, %d bytes)", i, got[i], want[i], writes, cuts, len(data))
		}
	}
}

func random(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	return b
}

func TestAcceleratedOnThisMachine(t *testing.T) {
	t.Logf("Accelerated() = %v", Accelerated())
}

func TestMatchesCryptoSHA256(t *testing.T) {
	data := random(1, 70000)
	for _, c := range []struct {
		writes, cuts []int
	}{
		{nil, nil},
		{[]int{1}, []int{1, 2, 3, 64, 65, 127, 128, 129}},
		{[]int{63}, []int{100, 1000, 1001, 5000}},
		{[]int{64}, []int{64, 128, 192, 1000}},
		{[]int{65}, []int{7, 64 + 7, 64*40 + 7, 64*400 + 7}},
		{[]int{4096}, []int{33, 4096 + 33, 20000, 20001, 20063, 20064, 20065}},
		{[]int{1000, 3, 70000}, []int{500, 60000}},
		{nil, []int{1, 69999}},
	} {
		t.Run(fmt.Sprintf("writes%v/cuts%v", c.writes, c.cuts), func(t *testing.T) {
			check(t, New(), data, c.writes, c.cuts)
		})
	}
}

func TestEveryLengthAndOffset(t *testing.T) {
	data := random(2, 700)
	// Every segment start offset modulo 64 against every length up to a
	// few blocks: the two streams' block boundaries differ by the offset.
	for off := 0; off < 130; off++ {
		for n := 0; n <= 300; n += 1 + n/40 {
			p := New()
			p.Write(data[:off])
			p.Cut()
			p.Write(data[off : off+n])
			if got, want := p.Cut(), sha256.Sum256(data[off:off+n]); got != want {
				t.Fatalf("segment at %d of %d bytes: %x, want %x", off, n, got, want)
			}
			if got, want := p.Sum(), sha256.Sum256(data[:off+n]); got != want {
				t.Fatalf("whole of %d bytes: %x, want %x", off+n, got, want)
			}
		}
	}
}

func TestEmpty(t *testing.T) {
	p := New()
	if got, want := p.Cut(), sha256.Sum256(nil); got != want {
		t.Errorf("empty segment: %x, want %x", got, want)
	}
	if got, want := p.Sum(), sha256.Sum256(nil); got != want {
		t.Errorf("empty stream: %x, want %x", got, want)
	}
	p.Write(nil)
	if got, want := p.Sum(), sha256.Sum256(nil); got != want {
		t.Errorf("after an empty write: %x, want %x", got, want)
	}
}

// TestBlockFunctions compares the interleaved assembly with the plain Go
// compression function on random states and blocks.
func TestBlockFunctions(t *testing.T) {
	if !Accelerated() {
		t.Skip("blocks2 needs the SHA extensions, which this machine lacks")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		n := 1 + r.IntN(9)
		pa, pb := random(r.Uint64(), 64*n), random(r.Uint64(), 64*n)
		var ha, hb [8]uint32
		for i := range ha {
			ha[i], hb[i] = r.Uint32(), r.Uint32()
		}
		wa, wb := ha, hb
		block(&wa, pa)
		block(&wb, pb)
		h1 := ha
		block1(&h1, &pa[0], n)
		blocks2(&ha, &hb, &pa[0], &pb[0], n)
		if ha != wa || hb != wb {
			t.Fatalf("blocks2 over %d blocks differs from block", n)
		}
		if h1 != wa {
			t.Fatalf("block1 over %d blocks differs from block", n)
		}
		// The same block for both streams (pointers equal).
		hc, hd := ha, ha
		blocks2(&hc, &hd, &pa[0], &pa[0], n)
		if hc != hd {
			t.Fatal("blocks2 with equal inputs gave two results")
		}
	}
}

// TestWriteWhole interleaves segments written to both digests with bytes
// written to the whole stream only.
func TestWriteWhole(t *testing.T) {
	data := random(7, 50000)
	r := rand.New(rand.NewPCG(8, 9))
	for range 100 {
		p := New()
		pos := 0
		for pos < len(data) {
			n := min(len(data)-pos, r.IntN(3000))
			seg := data[pos : pos+n]
			if r.IntN(2) == 0 {
				p.WriteWhole(seg)
			} else {
				p.Write(seg)
				if got, want := p.Cut(), sha256.Sum256(seg); got != want {
					t.Fatalf("segment [%d,%d): %x, want %x", pos, pos+n, got, want)
				}
			}
			pos += n
			if got, want := p.Sum(), sha256.Sum256(data[:pos]); got != want {
				t.Fatalf("whole after %d bytes: %x, want %x", pos, got, want)
			}
		}
	}
	f := &Pair{hw: sha256.New(), hs: sha256.New()}
	f.WriteWhole(data[:100])
	f.Write(data[100:200])
	if got, want := f.Cut(), sha256.Sum256(data[100:200]); got != want {
		t.Fatalf("fallback segment: %x, want %x", got, want)
	}
	if got, want := f.Sum(), sha256.Sum256(data[:200]); got != want {
		t.Fatalf("fallback whole: %x, want %x", got, want)
	}
}

// TestCutWhole cuts the whole stream and the segments at independent
// offsets (a tree's files and its chunks), writing pieces to both or to
// the whole stream only, in the accelerated Pair and the fallback.
func TestCutWhole(t *testing.T) {
	data := random(11, 60000)
	r := rand.New(rand.NewPCG(12, 13))
	for _, mk := range []func() *Pair{New, func() *Pair { return &Pair{hw: sha256.New(), hs: sha256.New()} }} {
		for range 50 {
			p := mk()
			pos, file, seg := 0, 0, 0
			both := r.IntN(2) == 0
			for pos < len(data) {
				n := min(len(data)-pos, r.IntN(2000))
				if both {
					p.Write(data[pos : pos+n])
				} else {
					p.WriteWhole(data[pos : pos+n])
				}
				pos += n
				if r.IntN(3) == 0 {
					if got, want := p.CutWhole(), sha256.Sum256(data[file:pos]); got != want {
						t.Fatalf("file [%d,%d): %x, want %x", file, pos, got, want)
					}
					file = pos
				}
				if r.IntN(4) == 0 {
					if both {
						if got, want := p.Cut(), sha256.Sum256(data[seg:pos]); got != want {
							t.Fatalf("segment [%d,%d): %x, want %x", seg, pos, got, want)
						}
					}
					seg, both = pos, r.IntN(2) == 0
				}
			}
		}
	}
}

// TestFallback runs the Pair that machines without the SHA extensions
// get, whatever this machine has.
func TestFallback(t *testing.T) {
	p := &Pair{hw: sha256.New(), hs: sha256.New()}
	check(t, p, random(5, 10000), []int{100, 7}, []int{1000, 5000})
}

func FuzzPair(f *testing.F) {
	f.Add([]byte("hello, world"), uint16(3), uint16(5))
	f.Add(bytes.Repeat([]byte{0xa5}, 1000), uint16(64), uint16(130))
	f.Fuzz(func(t *testing.T, data []byte, w, c uint16) {
		var cuts []int
		if len(data) > 0 {
			for x := int(c) % (len(data) + 1); x < len(data); x += 1 + int(c) {
				cuts = append(cuts, x)
			}
		}
		check(t, New(), data, []int{1 + int(w)}, cuts)
	})
}

func BenchmarkPair(b *testing.B) {
	data := random(6, 8<<20)
	b.SetBytes(int64(len(data)))
	p := New()
	for b.Loop() {
		p.Write(data[:7]) // offset the segment from the stream's blocks
		p.Cut()
		p.Write(data)
		p.Cut()
	}
}

func BenchmarkWriteWhole(b *testing.B) {
	data := random(6, 8<<20)
	b.SetBytes(int64(len(data)))
	p := New()
	for b.Loop() {
		p.WriteWhole(data)
	}
}

func BenchmarkTwoHashers(b *testing.B) {
	data := random(6, 8<<20)
	b.SetBytes(int64(len(data)))
	w := sha256.New()
	for b.Loop() {
		w.Write(data)
		sha256.Sum256(data)
	}
}
