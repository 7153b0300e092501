//go:build !amd64 || purego

package sha256x2

const haveSHA = false

func blocks2(ha, hb *[8]uint32, pa, pb *byte, n int) {
	panic("sha256x2: blocks2 without the SHA extensions")
}

func block1(h *[8]uint32, p *byte, n int) {
	panic("sha256x2: block1 without the SHA extensions")
}
