//go:build !linux

package transfer

import "os"

// earlyWriteback is a plain file writer where sync_file_range is missing.
type earlyWriteback struct{ f *os.File }

func newEarlyWriteback(f *os.File) *earlyWriteback { return &earlyWriteback{f: f} }

func (w *earlyWriteback) Write(p []byte) (int, error) { return w.f.Write(p) }

// startWriteback does nothing where sync_file_range is missing.
func startWriteback(uintptr, int64, int64) {}

// writebackChunk and writePiece are as on Linux (writeback_linux.go): a
// pull writes in pieces of at most writePiece bytes, and calls
// startWriteback, which does nothing here, every writebackChunk bytes.
const (
	writebackChunk = 8 << 20
	writePiece     = 256 << 10
)
