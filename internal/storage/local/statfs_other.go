//go:build !(linux || darwin || freebsd)

package local

import "errors"

// diskUsage is not implemented on this platform: capacity is unknown.
func diskUsage(string) (total, used, free int64, err error) {
	return -1, -1, -1, errors.ErrUnsupported
}

// checkWritable cannot ask the kernel on this platform; Put reports
// problems when it writes.
func checkWritable(string) error { return nil }
