//go:build amd64 && !purego

package sha256x2

//go:generate go run gen.go

// blocks2 runs the compression function over n 64-byte blocks at pa into
// ha and, interleaved, over n blocks at pb into hb.
//
//go:noescape
func blocks2(ha, hb *[8]uint32, pa, pb *byte, n int)

// block1 runs the compression function over n 64-byte blocks at p into h.
//
//go:noescape
func block1(h *[8]uint32, p *byte, n int)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// haveSHA reports the SHA extensions and the SSSE3 and SSE4.1 instructions
// blocks2 also uses.
var haveSHA = func() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	_, b7, _, _ := cpuid(7, 0)
	const ssse3, sse41, sha = 1 << 9, 1 << 19, 1 << 29
	return c1&ssse3 != 0 && c1&sse41 != 0 && b7&sha != 0
}()
