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
func bigBuffer(n int) (buf []byte, release func()) {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n), func() {}
	}
	return b, func() { _ = syscall.Munmap(b) }
}
