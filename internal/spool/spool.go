// Package spool holds bytes written once and read back, several times if
// need be, in bounded memory: push spools a manifest's chunk list, pull and
// the daemon's content route the manifest they stream chunks by.
package spool

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
)

// MemLimit is how many bytes a Spool keeps in memory before it moves to a
// temporary file: about 10,000 chunks of a manifest's chunk list (24 GiB
// of content at the default chunk size).
const MemLimit = 1 << 20

// Spool holds bytes written once and read back, possibly several times: in
// memory up to MemLimit bytes, beyond that in a temporary file (in
// os.TempDir, removed on close, and on Unix unlinked at once so that a
// crash leaves nothing behind). Push spools a file manifest's chunk list
// through it, so its memory does not grow with the content's size.
type Spool struct {
	// Limit, when positive, replaces MemLimit for this spool: a caller
	// holding several spools at once keeps less in memory.
	Limit int

	mem  []byte
	f    *os.File
	size int64 // bytes in f
	err  error // a failed write: the spool is unusable
}

func (s *Spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	limit := MemLimit
	if s.Limit > 0 {
		limit = s.Limit
	}
	if s.f == nil && len(s.mem)+len(p) <= limit {
		s.mem = append(s.mem, p...)
		return len(p), nil
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "artstore-manifest-*")
		if err != nil {
			s.err = fmt.Errorf("spool to a temporary file (set TMPDIR to a directory with space): %w", err)
			return 0, s.err
		}
		if runtime.GOOS != "windows" {
			_ = os.Remove(f.Name()) // the open file stays readable
		}
		s.f = f
	}
	n, err := s.f.Write(p)
	s.size += int64(n)
	if err != nil {
		s.err = fmt.Errorf("spool to %s (set TMPDIR to a directory with space): %w", s.f.Name(), err)
		return n, s.err
	}
	return n, nil
}

// Len returns the number of bytes written.
func (s *Spool) Len() int64 { return int64(len(s.mem)) + s.size }

// InFile reports whether the spool has moved to its temporary file, whose
// bytes another process could change: a reader of them that must be
// right verifies them.
func (s *Spool) InFile() bool { return s.f != nil }

// Reader returns a reader of everything written, from the start.
func (s *Spool) Reader() io.Reader {
	if s.f == nil {
		return bytes.NewReader(s.mem)
	}
	return io.MultiReader(bytes.NewReader(s.mem), io.NewSectionReader(s.f, 0, s.size))
}

// Close releases the spool's file.
func (s *Spool) Close() {
	if s.f != nil {
		name := s.f.Name()
		s.f.Close()
		if runtime.GOOS == "windows" {
			os.Remove(name)
		}
		s.f = nil
	}
	s.mem = nil
}
