package transfer

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncTreeOnce: a tree pull makes a batch of files durable with one
// syncfs(2) of the destination's filesystem, not one fsync per file (on
// ext4 each fsync of a new file waits for a journal commit of its own).
const syncTreeOnce = true

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
