//go:build !linux

package transfer

import "os"

// syncTreeOnce: without syncfs(2), a tree pull syncs each file before it
// is renamed into place.
const syncTreeOnce = false

// syncTree syncs root's directory.
func syncTree(root *os.Root) error {
	f, err := root.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
