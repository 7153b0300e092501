package fsck

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/artifact-store/artstore/internal/textfmt"
)

// firstDifference compares two view dumps line by line and describes the
// first difference ("" when equal). One line of look-ahead tells an added
// or removed row from a changed one.
func firstDifference(livePath, replayPath string) (string, error) {
	a, err := newLineReader(livePath)
	if err != nil {
		return "", err
	}
	defer a.Close()
	b, err := newLineReader(replayPath)
	if err != nil {
		return "", err
	}
	defer b.Close()
	table := ""
	for line := 1; ; line++ {
		la, okA := a.next()
		lb, okB := b.next()
		if err := errors.Join(a.err(), b.err()); err != nil {
			return "", err
		}
		switch {
		case !okA && !okB:
			return "", nil
		case !okB:
			return fmt.Sprintf("table %s has an extra live row %s", table, textfmt.Clip(la, 300)), nil
		case !okA:
			return fmt.Sprintf("table %s lacks the row %s", table, textfmt.Clip(lb, 300)), nil
		case la == lb:
			if strings.HasPrefix(la, "# ") {
				table = la[2:]
			}
			continue
		}
		na, _ := a.peek()
		nb, _ := b.peek()
		switch {
		case na == lb && !strings.HasPrefix(la, "# "):
			return fmt.Sprintf("table %s has an extra live row %s", table, textfmt.Clip(la, 300)), nil
		case nb == la && !strings.HasPrefix(lb, "# "):
			return fmt.Sprintf("table %s lacks the row %s", table, textfmt.Clip(lb, 300)), nil
		}
		return describeRowDiff(table, line, la, lb), nil
	}
}

// lineReader reads a file line by line with one line of look-ahead.
type lineReader struct {
	f      *os.File
	s      *bufio.Scanner
	peeked bool
	line   string
	ok     bool
}

func newLineReader(path string) (*lineReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := bufio.NewScanner(f)
	s.Buffer(nil, 64<<20)
	return &lineReader{f: f, s: s}, nil
}

func (r *lineReader) peek() (string, bool) {
	if !r.peeked {
		r.ok = r.s.Scan()
		r.line = r.s.Text()
		r.peeked = true
	}
	return r.line, r.ok
}

func (r *lineReader) next() (string, bool) {
	l, ok := r.peek()
	r.peeked = false
	return l, ok
}

func (r *lineReader) err() error   { return r.s.Err() }
func (r *lineReader) Close() error { return r.f.Close() }

// describeRowDiff says how two dump rows (JSON arrays of strings) differ:
// the first differing column when both parse, else both rows.
func describeRowDiff(table string, line int, live, replayed string) string {
	var a, b []string
	if json.Unmarshal([]byte(live), &a) == nil && json.Unmarshal([]byte(replayed), &b) == nil && len(a) == len(b) && len(a) > 0 {
		for i := range a {
			if a[i] != b[i] {
				return fmt.Sprintf("table %s, row %q (line %d): column %d is %q, but %q when replayed",
					table, textfmt.Clip(a[0], 300), line, i+1, textfmt.Clip(a[i], 300), textfmt.Clip(b[i], 300))
			}
		}
	}
	return fmt.Sprintf("table %s, line %d: live row %s, replayed row %s", table, line, textfmt.Clip(live, 300), textfmt.Clip(replayed, 300))
}
