//go:build !linux

package transfer

// hugePages does nothing where transparent huge pages cannot be asked for
// with madvise(2).
func hugePages([]byte) {}
