package transfer

import (
	"fmt"
	"sync/atomic"
)

// holder names one of the two stages that read a buffered chunk's bytes at
// the same time: the in-order whole-content stage, and the stage that
// consumes the chunk on its own (push: the store path, which digests,
// checks and uploads it; pull: the writer). A chunk's buffer space is
// given back when both have released their hold; each stage releases only
// its own.
type holder uint32

const (
	holdInOrder holder = 1 << iota // the whole-content hasher
	holdOwn                        // push: the store path; pull: the writer
)

func (h holder) String() string {
	switch h {
	case holdInOrder:
		return "in-order hasher"
	case holdOwn:
		return "chunk consumer"
	}
	return fmt.Sprintf("holder(%d)", uint32(h))
}

// holds records which holders still hold a chunk's bytes.
type holds struct{ bits atomic.Uint32 }

// hold sets the initial holders.
func (hs *holds) hold(h ...holder) {
	var b uint32
	for _, x := range h {
		b |= uint32(x)
	}
	hs.bits.Store(b)
}

// release drops h's hold and reports whether it was the last one, in which
// case the caller gives the space back. Releasing a hold twice, or one
// never taken, is a bug in the pipeline and panics rather than freeing
// space that is still read.
func (hs *holds) release(h holder) (last bool) {
	old := hs.bits.And(^uint32(h))
	if old&uint32(h) == 0 {
		panic(fmt.Sprintf("transfer: %s released a chunk it did not hold", h))
	}
	return old == uint32(h)
}
