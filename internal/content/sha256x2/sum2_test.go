package sha256x2

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// sum2Lengths are message lengths around the block and padding boundaries
// (a tail of 55 bytes pads to one block, of 56 to two), and longer ones.
var sum2Lengths = []int{0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 191, 192, 1000, 4096 + 7, 70000}

// TestSum2 compares Sum2 with crypto/sha256 over every pair of lengths,
// both ways round, so the shorter message is first in some and second in
// others and their full blocks and padded tails line up in every way.
func TestSum2(t *testing.T) {
	data := random(7, 2*70000)
	for _, la := range sum2Lengths {
		for _, lb := range sum2Lengths {
			a, b := data[:la], data[70000:70000+lb]
			da, db := Sum2(a, b)
			if want := sha256.Sum256(a); da != want {
				t.Errorf("Sum2(%d bytes, %d bytes): first digest %x, want %x", la, lb, da, want)
			}
			if want := sha256.Sum256(b); db != want {
				t.Errorf("Sum2(%d bytes, %d bytes): second digest %x, want %x", la, lb, db, want)
			}
		}
	}
}

// TestSum2EveryLength checks lengths 0..300 against each other around a
// fixed-length partner, and the same slice twice.
func TestSum2EveryLength(t *testing.T) {
	data := random(8, 600)
	for n := range 301 {
		for _, other := range []int{0, 64, 130, 299} {
			a, b := data[:n], data[300:300+other]
			da, db := Sum2(a, b)
			if da != sha256.Sum256(a) || db != sha256.Sum256(b) {
				t.Fatalf("Sum2(%d bytes, %d bytes) differs from crypto/sha256", n, other)
			}
			db, da = Sum2(b, a)
			if da != sha256.Sum256(a) || db != sha256.Sum256(b) {
				t.Fatalf("Sum2(%d bytes, %d bytes) differs from crypto/sha256", other, n)
			}
		}
		da, db := Sum2(data[:n], data[:n])
		if want := sha256.Sum256(data[:n]); da != want || db != want {
			t.Fatalf("Sum2 of the same %d bytes twice differs from crypto/sha256", n)
		}
	}
}

// TestSum2DoesNotAllocate: the pull verifies every chunk with Sum2.
func TestSum2DoesNotAllocate(t *testing.T) {
	a, b := random(9, 5000), random(10, 3000)
	if n := testing.AllocsPerRun(10, func() { Sum2(a, b) }); n != 0 {
		t.Errorf("Sum2 allocates %v times per call", n)
	}
}

// TestStep2Series hashes a series of messages of random lengths in two
// streams, as a pull verifies its chunks: each message Step2 finishes is
// replaced by the next, carrying on the other where it stopped (through a
// copy of its Msg, as a caller that parks it does); the last is finished
// alone. Every digest must be crypto/sha256's. It runs in plain Go
// without the SHA extensions (-tags purego).
func TestStep2Series(t *testing.T) {
	data := random(14, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		var msgs [][]byte
		for range 1 + r.IntN(12) {
			n := r.IntN(20000)
			if r.IntN(4) == 0 {
				n = r.IntN(200)
			}
			off := r.IntN(len(data) - n)
			msgs = append(msgs, data[off:off+n])
		}
		var got [][Size]byte
		idx := make([]int, 2)
		var lanes [2]Msg
		next := 0
		load := func(l int) bool {
			if next == len(msgs) {
				return false
			}
			lanes[l].Reset(msgs[next])
			idx[l] = next
			next++
			got = append(got, [Size]byte{})
			return true
		}
		busy := [2]bool{load(0), load(1)}
		for busy[0] && busy[1] {
			a := lanes[0] // carried on through a copy
			Step2(&a, &lanes[1])
			lanes[0] = a
			for l := range 2 {
				if lanes[l].Done() {
					got[idx[l]] = lanes[l].Sum()
					busy[l] = load(l)
				}
			}
		}
		for l := range 2 {
			if busy[l] {
				got[idx[l]] = lanes[l].Sum()
			}
		}
		for i, m := range msgs {
			if want := sha256.Sum256(m); got[i] != want {
				t.Fatalf("message %d of %d (%d bytes): %x, want %x", i, len(msgs), len(m), got[i], want)
			}
		}
	}
}

func FuzzSum2(f *testing.F) {
	f.Add([]byte("hello, world"), uint16(5))
	f.Add(random(11, 300), uint16(120))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		k := int(split) % (len(data) + 1)
		a, b := data[:k], data[k:]
		da, db := Sum2(a, b)
		if want := sha256.Sum256(a); da != want {
			t.Fatalf("Sum2(%d bytes, %d bytes): first digest %x, want %x", len(a), len(b), da, want)
		}
		if want := sha256.Sum256(b); db != want {
			t.Fatalf("Sum2(%d bytes, %d bytes): second digest %x, want %x", len(a), len(b), db, want)
		}
	})
}

// BenchmarkSum2 hashes two chunk-sized messages (1 MiB, the chunker's
// average) together; BenchmarkSum256Twice hashes them one after the other
// with crypto/sha256. MB/s counts the bytes of both.
func BenchmarkSum2(b *testing.B) {
	x, y := random(12, 1<<20), random(13, 1<<20+100)
	b.SetBytes(int64(len(x) + len(y)))
	for b.Loop() {
		Sum2(x, y)
	}
}

func BenchmarkSum256Twice(b *testing.B) {
	x, y := random(12, 1<<20), random(13, 1<<20+100)
	b.SetBytes(int64(len(x) + len(y)))
	for b.Loop() {
		sha256.Sum256(x)
		sha256.Sum256(y)
	}
}
