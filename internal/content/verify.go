package content

import (
	"errors"
	"fmt"
	"io"
)

// ErrMismatch is the sentinel wrapped by *MismatchError.
var ErrMismatch = errors.New("content does not match its digest")

// MismatchError says that bytes did not have the expected size or digest.
// errors.Is(err, ErrMismatch) is true for it.
type MismatchError struct {
	Expected     Digest
	Actual       Digest // zero when the size already differed
	ExpectedSize int64  // -1 when the size was not known in advance
	ActualSize   int64
}

func (e *MismatchError) Error() string {
	if e.ExpectedSize >= 0 && e.ExpectedSize != e.ActualSize {
		return fmt.Sprintf("content for %s: expected %d bytes, got %d", e.Expected, e.ExpectedSize, e.ActualSize)
	}
	return fmt.Sprintf("content for %s: bytes hash to %s", e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrMismatch) true.
func (e *MismatchError) Is(target error) bool { return target == ErrMismatch }

// VerifyingReader wraps a reader, hashing what passes through. When the
// underlying reader reports io.EOF it checks size and digest and returns a
// *MismatchError instead of io.EOF if they are wrong; it also fails as soon as
// more than the expected size has been read. Callers therefore never see a
// clean EOF for bad content.
type VerifyingReader struct {
	r        io.Reader
	expected Digest
	size     int64 // -1: unknown
	dg       *Digester
	err      error
}

// NewVerifyingReader returns a reader that verifies r against d and size
// (size -1 means unknown, and only the digest is checked). With the zero
// (invalid) digest every Read fails with an error wrapping ErrInvalidDigest.
func NewVerifyingReader(r io.Reader, d Digest, size int64) *VerifyingReader {
	if d.IsZero() {
		return &VerifyingReader{r: r, size: size, dg: NewDigester(SHA256),
			err: fmt.Errorf("%w: cannot verify content against the zero digest", ErrInvalidDigest)}
	}
	return &VerifyingReader{r: r, expected: d, size: size, dg: NewDigester(d.Algorithm())}
}

// Read implements io.Reader.
func (v *VerifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	if n > 0 {
		v.dg.Write(p[:n])
		if v.size >= 0 && v.dg.Size() > v.size {
			v.err = &MismatchError{Expected: v.expected, ExpectedSize: v.size, ActualSize: v.dg.Size()}
			return n, v.err
		}
	}
	if err == io.EOF {
		if e := v.check(); e != nil {
			v.err = e
			return n, e
		}
		v.err = io.EOF
	} else if err != nil {
		v.err = err
	}
	return n, err
}

func (v *VerifyingReader) check() error {
	if v.size >= 0 && v.dg.Size() != v.size {
		return &MismatchError{Expected: v.expected, ExpectedSize: v.size, ActualSize: v.dg.Size()}
	}
	if got := v.dg.Digest(); got != v.expected {
		return &MismatchError{Expected: v.expected, Actual: got, ExpectedSize: v.size, ActualSize: v.dg.Size()}
	}
	return nil
}

// Verified reports whether the reader reached EOF with matching content.
func (v *VerifyingReader) Verified() bool { return v.err == io.EOF }

// BytesRead returns the number of bytes read so far.
func (v *VerifyingReader) BytesRead() int64 { return v.dg.Size() }

// SizeReader checks only how many bytes pass through it, for content whose
// digest is checked elsewhere: it fails with a *MismatchError as soon as
// more than size bytes arrive, and at EOF if fewer did.
type SizeReader struct {
	r        io.Reader
	expected Digest
	size, n  int64
	err      error // sticky: io.EOF once verified, or the failure
}

// NewSizeReader returns a SizeReader expecting exactly size bytes from r;
// d only names the content in errors.
func NewSizeReader(r io.Reader, d Digest, size int64) *SizeReader {
	return &SizeReader{r: r, expected: d, size: size}
}

func (s *SizeReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	// Ask for one byte more than expected, so a long stream is caught.
	if rest := s.size - s.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	switch {
	case s.n > s.size:
		s.err = &MismatchError{Expected: s.expected, ExpectedSize: s.size, ActualSize: s.n}
		return 0, s.err
	case err == io.EOF && s.n != s.size:
		s.err = &MismatchError{Expected: s.expected, ExpectedSize: s.size, ActualSize: s.n}
		return n, s.err
	case err != nil:
		s.err = err
	}
	return n, err
}

// Verified reports whether exactly size bytes were read up to EOF.
func (s *SizeReader) Verified() bool { return s.err == io.EOF }

// BytesRead returns how many bytes have been read.
func (s *SizeReader) BytesRead() int64 { return s.n }
