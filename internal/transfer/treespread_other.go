//go:build !linux

package transfer

import (
	"errors"
	"os"
)

const fsTopdirFL = 0

// spreadDirs: directory placement hints are used on Linux only.
func spreadDirs(*os.Root) (undo func()) { return func() {} }

func dirFlags(*os.Root) (uint32, error) { return 0, errors.ErrUnsupported }
