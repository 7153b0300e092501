package local

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// registerOwner opens ownersFile (creating it) and takes the read lock on
// a new owner's byte. Owners only take read locks and Temp only asks, so
// no lock stands in the way; an error means this filesystem or kernel has
// no such locks.
func registerOwner(root *os.Root) (*tempOwner, error) {
	f, err := root.OpenFile(ownersFile, os.O_RDONLY|os.O_CREATE, blobMode)
	if err != nil {
		return nil, err
	}
	id := newOwnerID()
	lk := unix.Flock_t{Type: unix.F_RDLCK, Whence: io.SeekStart, Start: int64(id), Len: 1}
	if err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", ownersFile, err)
	}
	return newTempOwner(id, f), nil
}

// ownerProbe tells whether the owners of temporary files are alive, asking
// ownersFile through a descriptor of its own; answers are remembered for
// the probe's lifetime (one Temp call).
type ownerProbe struct {
	f    *os.File // nil: no owners file, so no owner is alive
	seen map[uint64]bool
}

func newOwnerProbe(root *os.Root) *ownerProbe {
	p := &ownerProbe{seen: map[uint64]bool{}}
	if f, err := root.OpenFile(ownersFile, os.O_RDONLY, 0); err == nil {
		p.f = f
	}
	return p
}

// alive reports whether the owner named in a temporary file's name holds
// its lock. A name without an owner, or a failed query, reports false:
// the file is then judged by its age alone.
func (p *ownerProbe) alive(name string) bool {
	id, ok := tempFileOwner(name)
	if !ok || p.f == nil {
		return false
	}
	if a, ok := p.seen[id]; ok {
		return a
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart, Start: int64(id), Len: 1}
	a := unix.FcntlFlock(p.f.Fd(), unix.F_OFD_GETLK, &lk) == nil && lk.Type != unix.F_UNLCK
	p.seen[id] = a
	return a
}

func (p *ownerProbe) close() {
	if p.f != nil {
		p.f.Close()
	}
}
