//go:build !linux

package local

import "os"

// startWriteback does nothing where sync_file_range does not exist; the
// kernel's own writeback and Commit's fsync do the work.
func startWriteback(*os.File) {}
