package sha256x2

import (
	"crypto/sha256"
	"encoding/binary"
)

// Sum2 returns the SHA-256 digests of a and of b. With the SHA extensions
// (Accelerated) it hashes the two messages' blocks side by side in one
// loop, as Pair does for its two digests, so that two messages cost little
// more than the longer of them alone; otherwise it calls crypto/sha256
// twice. A pull verifies the chunks it fetches this way, two at a time.
func Sum2(a, b []byte) (da, db [Size]byte) {
	if !haveSHA {
		return sha256.Sum256(a), sha256.Sum256(b)
	}
	var ma, mb message
	ma.init(a)
	mb.init(b)
	// Both have blocks left: hash as many of each as the shorter run has
	// (at most three rounds: the full blocks and the padded tails of both
	// line up in at most three runs).
	for {
		ra, rb := ma.run(), mb.run()
		if len(ra) == 0 || len(rb) == 0 {
			break
		}
		n := min(len(ra), len(rb)) / 64
		blocks2(&ma.h, &mb.h, &ra[0], &rb[0], n)
		ma.done += 64 * n
		mb.done += 64 * n
	}
	return ma.finish(), mb.finish()
}

// message is one of Sum2's two computations: the chaining value, the
// message's full blocks, its padded tail and how many bytes of the two
// (in that order) are hashed. It holds no pointer into itself, so that it
// stays on the stack.
type message struct {
	h    [8]uint32
	full []byte
	tail [128]byte
	nt   int // the tail's length: one or two blocks
	done int
}

// init starts the computation of p's digest: its full blocks, then the
// padded tail (the rest of p, 0x80, zeros and the length in bits, one or
// two blocks; FIPS 180-4, 5.1.1).
func (m *message) init(p []byte) {
	m.h = iv
	n := len(p) &^ 63
	m.full = p[:n]
	r := copy(m.tail[:], p[n:])
	m.tail[r] = 0x80
	m.nt = 64
	if r >= 56 {
		m.nt = 128
	}
	binary.BigEndian.PutUint64(m.tail[m.nt-8:], uint64(len(p))<<3)
}

// run returns the blocks to hash next, contiguous: the full blocks left,
// else the tail left; empty when all are hashed.
func (m *message) run() []byte {
	if m.done < len(m.full) {
		return m.full[m.done:]
	}
	return m.tail[m.done-len(m.full) : m.nt]
}

// finish hashes the blocks left, one stream alone, and returns the digest.
func (m *message) finish() [Size]byte {
	for r := m.run(); len(r) > 0; r = m.run() {
		block1(&m.h, &r[0], len(r)/64)
		m.done += len(r)
	}
	var d [Size]byte
	for i, v := range m.h {
		binary.BigEndian.PutUint32(d[4*i:], v)
	}
	return d
}
