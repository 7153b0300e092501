package sha256x2

import (
	"crypto/sha256"
	"encoding/binary"
)

// Sum2 returns the SHA-256 digests of a and of b. With the SHA extensions
// (Accelerated) it hashes the two messages' blocks side by side in one
// loop, as Pair does for its two digests, so that two messages of the
// same length cost little more than one; the longer one's excess is
// hashed alone. Otherwise it calls crypto/sha256 twice.
func Sum2(a, b []byte) (da, db [Size]byte) {
	if !haveSHA {
		return sha256.Sum256(a), sha256.Sum256(b)
	}
	var ma, mb Msg
	ma.Reset(a)
	mb.Reset(b)
	Step2(&ma, &mb)
	return ma.Sum(), mb.Sum()
}

// Msg is the SHA-256 computation of one message held whole in memory,
// which Step2 advances side by side with another. A caller with a series
// of messages of unequal lengths (a pull's chunks) keeps both streams busy
// by giving Step2 a new message in place of each one it finishes, so only
// the last is hashed alone (Sum). The zero value is not ready; use Reset.
//
// Without the SHA extensions Step2 runs in plain Go, several times slower
// than crypto/sha256: use Msg where Accelerated reports true.
//
// A Msg holds no pointer into itself: it may be copied, and the copy
// carries on the computation. It refers to the message's bytes, which must
// not change until Sum.
type Msg struct {
	h    [8]uint32
	full []byte    // the message's full blocks
	tail [128]byte // the rest of the message, padded: one or two blocks
	nt   int       // the tail's length
	done int       // the bytes of full, then of the tail, hashed
}

// Reset starts the computation of p's digest: its full blocks, then the
// padded tail (the rest of p, 0x80, zeros and the length in bits, one or
// two blocks; FIPS 180-4, 5.1.1).
func (m *Msg) Reset(p []byte) {
	m.h = iv
	n := len(p) &^ 63
	m.full = p[:n]
	m.tail = [128]byte{}
	r := copy(m.tail[:], p[n:])
	m.tail[r] = 0x80
	m.nt = 64
	if r >= 56 {
		m.nt = 128
	}
	binary.BigEndian.PutUint64(m.tail[m.nt-8:], uint64(len(p))<<3)
	m.done = 0
}

// Done reports whether every block of the message is hashed: Sum then
// only formats the digest.
func (m *Msg) Done() bool { return len(m.run()) == 0 }

// run returns the blocks to hash next, contiguous: the full blocks left,
// else the tail left; empty when all are hashed.
func (m *Msg) run() []byte {
	if m.done < len(m.full) {
		return m.full[m.done:]
	}
	return m.tail[m.done-len(m.full) : m.nt]
}

// Step2 hashes the blocks of a and b side by side until one of them (or
// both) is done.
func Step2(a, b *Msg) {
	// The full blocks and the padded tails of the two line up in at most
	// three runs.
	for {
		ra, rb := a.run(), b.run()
		if len(ra) == 0 || len(rb) == 0 {
			return
		}
		n := min(len(ra), len(rb)) / 64
		if haveSHA {
			blocks2(&a.h, &b.h, &ra[0], &rb[0], n)
		} else {
			block(&a.h, ra[:64*n])
			block(&b.h, rb[:64*n])
		}
		a.done += 64 * n
		b.done += 64 * n
	}
}

// Sum hashes the blocks left, alone, and returns the digest.
func (m *Msg) Sum() [Size]byte {
	for r := m.run(); len(r) > 0; r = m.run() {
		if haveSHA {
			block1(&m.h, &r[0], len(r)/64)
		} else {
			block(&m.h, r)
		}
		m.done += len(r)
	}
	var d [Size]byte
	for i, v := range m.h {
		binary.BigEndian.PutUint32(d[4*i:], v)
	}
	return d
}
