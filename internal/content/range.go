package content

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidRange is wrapped by every range parsing or validation error.
var ErrInvalidRange = errors.New("invalid range")

// Range is an inclusive byte range [Start, End], as in HTTP.
type Range struct {
	Start int64
	End   int64
}

// Length is the number of bytes the range covers.
func (r Range) Length() int64 { return r.End - r.Start + 1 }

// String formats the range as "start-end".
func (r Range) String() string { return fmt.Sprintf("%d-%d", r.Start, r.End) }

// Validate checks that the range is well formed and lies inside an object of
// the given size.
func (r Range) Validate(size int64) error {
	switch {
	case r.Start < 0 || r.End < r.Start:
		return fmt.Errorf("%w %d-%d: start must be >= 0 and <= end", ErrInvalidRange, r.Start, r.End)
	case r.End >= size:
		return fmt.Errorf("%w %d-%d: object has %d bytes (last byte is %d)", ErrInvalidRange, r.Start, r.End, size, size-1)
	}
	return nil
}

// ParseRange parses the CLI form "a-b" (inclusive, both required, or "a-"
// meaning to the end) against an object size. "-n" is a suffix range (the
// last n bytes).
func ParseRange(s string, size int64) (Range, error) {
	s = strings.TrimSpace(s)
	start, end, ok := strings.Cut(s, "-")
	if !ok {
		return Range{}, fmt.Errorf("%w %q: want START-END, START- or -SUFFIX_LENGTH", ErrInvalidRange, clip(s))
	}
	return resolve(s, start, end, size)
}

// ParseHTTPRange parses an HTTP Range header value ("bytes=0-99",
// "bytes=100-", "bytes=-500") against an object size and returns the
// resolved range. Only a single range is supported; several comma-separated
// ranges are refused. An end beyond the object is clipped to the last byte,
// as RFC 9110 requires; a start at or beyond the size is unsatisfiable.
func ParseHTTPRange(header string, size int64) (Range, error) {
	unit, spec, ok := strings.Cut(strings.TrimSpace(header), "=")
	// Range unit names are case-insensitive (RFC 9110, section 14.1).
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return Range{}, fmt.Errorf("%w %q: want bytes=START-END", ErrInvalidRange, clip(header))
	}
	if strings.Contains(spec, ",") {
		return Range{}, fmt.Errorf("%w %q: multiple ranges are not supported", ErrInvalidRange, clip(header))
	}
	start, end, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return Range{}, fmt.Errorf("%w %q: want bytes=START-END", ErrInvalidRange, clip(header))
	}
	return resolveHTTP(header, strings.TrimSpace(start), strings.TrimSpace(end), size)
}

func parseNum(whole, s string) (int64, error) {
	if s == "" || len(s) > 19 {
		return 0, fmt.Errorf("%w %q: %q is not a byte offset", ErrInvalidRange, clip(whole), clip(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w %q: %q is not a byte offset", ErrInvalidRange, clip(whole), clip(s))
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %q: %q is out of range", ErrInvalidRange, clip(whole), clip(s))
	}
	return n, nil
}

// resolve applies the strict CLI semantics: an explicit end must lie inside
// the object.
func resolve(whole, start, end string, size int64) (Range, error) {
	r, err := resolveHTTP(whole, start, end, size)
	if err != nil {
		return Range{}, err
	}
	if start != "" && end != "" {
		e, _ := parseNum(whole, end)
		if e >= size {
			return Range{}, fmt.Errorf("%w %q: object has %d bytes (last byte is %d)", ErrInvalidRange, clip(whole), size, size-1)
		}
	}
	return r, nil
}

func resolveHTTP(whole, start, end string, size int64) (Range, error) {
	if size <= 0 {
		return Range{}, fmt.Errorf("%w %q: the object is empty", ErrInvalidRange, clip(whole))
	}
	if start == "" { // suffix range: last n bytes
		n, err := parseNum(whole, end)
		if err != nil {
			return Range{}, err
		}
		if n == 0 {
			return Range{}, fmt.Errorf("%w %q: a suffix range needs a length > 0", ErrInvalidRange, clip(whole))
		}
		if n > size {
			n = size
		}
		return Range{Start: size - n, End: size - 1}, nil
	}
	s, err := parseNum(whole, start)
	if err != nil {
		return Range{}, err
	}
	if s >= size {
		return Range{}, fmt.Errorf("%w %q: start %d is past the end of the object (%d bytes)", ErrInvalidRange, clip(whole), s, size)
	}
	e := size - 1
	if end != "" {
		if e, err = parseNum(whole, end); err != nil {
			return Range{}, err
		}
		if e < s {
			return Range{}, fmt.Errorf("%w %q: end is before start", ErrInvalidRange, clip(whole))
		}
		if e >= size {
			e = size - 1
		}
	}
	return Range{Start: s, End: e}, nil
}
