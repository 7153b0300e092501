//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package transfer

// bigBuffer returns n zeroed bytes from the Go heap (see buffer_unix.go for
// why unix systems map them outside it).
func bigBuffer(n int) (buf []byte, release func()) { return make([]byte, n), func() {} }
