package transfer

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// A tree pull makes each batch of files durable before renaming it into
// place, one of two ways (syncPlan): one syncfs(2) of the destination's
// filesystem, which is the cheapest when nothing else is waiting to be
// written (on ext4 each fsync of a new file waits for a journal commit;
// one syncfs writes the batch and commits once), or an fsync of each file
// from a pool of workers (fsyncs that wait together share a commit), which
// writes only the pull's own files. A syncfs also writes every other
// program's dirty data on the filesystem: after a 98 MB restore by another
// program, or on a machine whose other jobs keep gigabytes dirty, the pull
// would wait for all of it. So the pull looks at the machine's dirty data
// (/proc/meminfo) before each sync.

// haveSyncfs: syncTree can sync the destination's filesystem.
const haveSyncfs = true

// syncTree flushes the filesystem that holds root to disk.
func syncTree(root *os.Root) error {
	f, err := root.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("sync the destination's filesystem: %w", err)
	}
	return nil
}

// dirtyBytes returns the bytes waiting to be written to disk on the
// machine (Dirty and Writeback of /proc/meminfo), and whether it could
// read them.
func dirtyBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return parseMeminfo(b)
}
