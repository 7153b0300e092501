package local

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing f's dirty pages now
// (sync_file_range SYNC_FILE_RANGE_WRITE, which does not wait), so the
// fsync that later commits the file finds little left to write. Best
// effort: an error only means no head start.
func startWriteback(f *os.File) {
	const syncFileRangeWrite = 2
	_ = syscall.SyncFileRange(int(f.Fd()), 0, 0, syncFileRangeWrite)
}
