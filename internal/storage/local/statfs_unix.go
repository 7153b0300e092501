//go:build linux || darwin || freebsd

package local

import "syscall"

// diskUsage returns the capacity of the filesystem holding dir: total
// bytes, bytes in use, and bytes available to unprivileged users.
func diskUsage(dir string) (total, used, free int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1, -1, -1, err
	}
	bs := int64(st.Bsize)
	total = int64(st.Blocks) * bs
	used = (int64(st.Blocks) - int64(st.Bfree)) * bs
	free = int64(st.Bavail) * bs
	return total, used, free, nil
}

// checkWritable asks the kernel whether the process may create files in dir
// (access(2) with W_OK; it also reports read-only filesystems).
func checkWritable(dir string) error {
	const wOK = 0x2
	return syscall.Access(dir, wOK)
}
