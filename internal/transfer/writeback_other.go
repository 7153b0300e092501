//go:build !linux

package transfer

import "os"

// earlyWriteback is a plain file writer where sync_file_range is missing.
type earlyWriteback struct{ f *os.File }

func newEarlyWriteback(f *os.File) *earlyWriteback { return &earlyWriteback{f: f} }

func (w *earlyWriteback) Write(p []byte) (int, error) { return w.f.Write(p) }

// startWriteback does nothing where sync_file_range is missing.
func startWriteback(uintptr, int64, int64) {}
