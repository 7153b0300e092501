//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package transfer

import "syscall"

// bigBuffer returns n zeroed bytes mapped outside the Go heap, and the
// function that unmaps them. The pipelines' large buffers live there so
// that they do not count as live heap: with GOGC=100 a 32 MiB buffer on the
// heap lets 32 MiB of unrelated garbage accumulate before the next
// collection, doubling the process's footprint. The caller must make sure
// nothing touches the bytes after release. If mapping fails, the buffer
// comes from the heap.
//
// Where the system allows it, the mapping is backed by huge pages
// (hugePages): a pull's or a push's buffer is new for each transfer, and
// 24 MiB of fresh 4 KiB pages is 6,144 page faults at first touch (on
// virtual machines that take back the pages a guest frees, a fault in the
// host too), against a dozen with 2 MiB pages.
func bigBuffer(n int) (buf []byte, release func()) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n), func() {}
	}
	hugePages(b)
	return b, func() { _ = syscall.Munmap(b) }
}
