//go:build !linux

package local

import (
	"errors"
	"os"
)

// setDirect: direct I/O is only used on Linux.
func setDirect(*os.File, bool) error { return errors.ErrUnsupported }
