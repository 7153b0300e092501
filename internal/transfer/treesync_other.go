//go:build !linux

package transfer

import (
	"errors"
	"os"
)

// haveSyncfs: there is no syncfs(2) here.
const haveSyncfs = false

// syncTree is not used: without syncfs(2) a tree pull fsyncs each file
// (dirtyBytes does not know).
func syncTree(*os.Root) error {
	return errors.New("internal error: syncfs is only used on Linux")
}

// dirtyBytes does not know the dirty data here: each file is fsynced.
func dirtyBytes() (int64, bool) { return 0, false }
