package local

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Uploads in progress are told from the leftovers of dead ones by a lock,
// not only by age: `gc --grace 0s` (or any grace shorter than an upload's
// pause) must not delete the temporary file a live Put is writing or a
// Stage is holding for its Commit.
//
// Each Backend that writes registers as an owner: it picks a random 62-bit
// ID and holds a read lock on byte ID of tmp/owners.lock, an open file
// description lock (F_OFD_SETLK on Linux), for as long as the Backend is
// in use (the descriptor is closed when the Backend is garbage collected,
// and by the kernel when the process dies). Its temporary files are named
// put-<digest prefix>-<owner ID in hex>-<n>. Temp asks the lock file,
// through a descriptor of its own, whether each owner's byte is locked
// (F_OFD_GETLK; open file description locks conflict between descriptions
// even within one process, so a gc in the daemon sees the daemon's own
// uploads) and leaves the files of live owners alone, whatever their age.
// Files of owners that are gone, and files with no owner in their name,
// are removed by age as before.
//
// One lock file serves every owner, so nothing is left behind when a
// process ends: its byte simply becomes unlocked. Where such locks are not
// available (other systems, filesystems that refuse them), a Backend has
// no owner, names its files put-<digest prefix>-<random> and relies on
// their age alone.
const ownersFile = tmpDir + "/owners.lock"

// tempOwner is a Backend's registration as a writer of temporary files.
type tempOwner struct {
	id     uint64   // below 1<<62: a valid, positive file offset
	lock   *os.File // holds the read lock on byte id of ownersFile
	prefix string   // the ID as it is spelled in file names, and "-"
	n      atomic.Uint64
}

func newTempOwner(id uint64, lock *os.File) *tempOwner {
	return &tempOwner{id: id, lock: lock, prefix: formatOwner(id) + "-"}
}

// name returns the part of a new temporary file's name after the digest
// prefix: the owner's ID and a number not used before by this owner.
func (o *tempOwner) name() string {
	if o == nil {
		return rand.Text()
	}
	return o.prefix + strconv.FormatUint(o.n.Add(1), 10)
}

func formatOwner(id uint64) string {
	s := strconv.FormatUint(id, 16)
	return strings.Repeat("0", 16-len(s)) + s
}

// tempFileOwner returns the owner ID in a temporary file's name
// (put-<16 hex>-<16 hex>-<decimal>), or false for a name without one.
func tempFileOwner(name string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, tmpPrefix)
	if !ok {
		return 0, false
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 3 || len(parts[1]) != 16 || !isLowerHex(parts[1]) {
		return 0, false
	}
	if _, err := strconv.ParseUint(parts[2], 10, 64); err != nil {
		return 0, false
	}
	id, err := strconv.ParseUint(parts[1], 16, 64)
	if err != nil || id >= 1<<62 {
		return 0, false
	}
	return id, true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// newOwnerID returns a random owner ID below 1<<62.
func newOwnerID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	return binary.LittleEndian.Uint64(b[:]) >> 2
}

// ownerSlot is a Backend's tempOwner, registered on the first temporary
// file.
type ownerSlot struct {
	mu    sync.Mutex
	owner *tempOwner
	// failed is set when locks cannot be had here (not for a missing
	// directory, which a later write recreates): no more attempts.
	failed bool
}

// get returns the owner, registering it through root if needed; nil when
// the Backend cannot have one.
func (s *ownerSlot) get(root *os.Root) *tempOwner {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner != nil || s.failed {
		return s.owner
	}
	o, err := registerOwner(root)
	if err != nil {
		s.failed = !errors.Is(err, fs.ErrNotExist)
		return nil
	}
	s.owner = o
	return o
}
