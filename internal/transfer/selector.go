package transfer

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ErrNoMatch: a pull's --path pattern matched no entry of the tree.
var ErrNoMatch = errors.New("no entry matches")

// selector picks the entries of a tree a pull writes (PullOptions.Paths).
// A pattern without glob characters names an entry and, when it is a
// directory, everything below it; a pattern with '*', '?' or '[' is
// matched with path.Match against each entry's path and each of its parent
// directories (a matching directory selects its subtree). '*' does not
// match '/'. The zero selector (no patterns) selects everything.
type selector struct {
	pats    []string
	glob    []bool
	matched []bool
}

// newSelector checks the patterns: slash-separated paths relative to the
// tree's root, as content.ValidatePath accepts them (a trailing slash is
// dropped), or valid path.Match patterns.
func newSelector(pats []string) (*selector, error) {
	s := &selector{}
	for _, p := range pats {
		p = strings.TrimSuffix(p, "/")
		glob := strings.ContainsAny(p, "*?[")
		if glob {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("%w: path pattern %q: %v", ErrInvalidSelection, p, err)
			}
			if strings.HasPrefix(p, "/") {
				return nil, fmt.Errorf("%w: path pattern %q: paths are relative to the tree's root", ErrInvalidSelection, p)
			}
		} else if err := validSelectPath(p); err != nil {
			return nil, err
		}
		s.pats, s.glob, s.matched = append(s.pats, p), append(s.glob, glob), append(s.matched, false)
	}
	return s, nil
}

// ErrInvalidSelection: a --path pattern is malformed.
var ErrInvalidSelection = errors.New("invalid path selection")

func validSelectPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("%w: path %q: give a clean path relative to the tree's root, such as sub/file.txt", ErrInvalidSelection, p)
	}
	return nil
}

// all reports whether every entry is selected.
func (s *selector) all() bool { return len(s.pats) == 0 }

// selects reports whether the entry at path p is selected. It is safe
// for concurrent use.
func (s *selector) selects(p string) bool {
	if s.all() {
		return true
	}
	for i, pat := range s.pats {
		if s.matchOne(i, pat, p) {
			return true
		}
	}
	return false
}

// note records which patterns select the entry at path p, for unmatched.
func (s *selector) note(p string) {
	for i, pat := range s.pats {
		if !s.matched[i] && s.matchOne(i, pat, p) {
			s.matched[i] = true
		}
	}
}

func (s *selector) matchOne(i int, pat, p string) bool {
	if !s.glob[i] {
		return p == pat || (strings.HasPrefix(p, pat) && p[len(pat)] == '/')
	}
	for q := p; ; {
		if ok, _ := path.Match(pat, q); ok {
			return true
		}
		j := strings.LastIndexByte(q, '/')
		if j < 0 {
			return false
		}
		q = q[:j]
	}
}

// unmatched returns an error naming the patterns that matched nothing.
func (s *selector) unmatched() error {
	var miss []string
	for i, ok := range s.matched {
		if !ok {
			miss = append(miss, fmt.Sprintf("%q", s.pats[i]))
		}
	}
	if len(miss) == 0 {
		return nil
	}
	return fmt.Errorf("%w %s in the tree (paths are relative to the tree's root; a directory selects everything below it; '*' does not match '/')",
		ErrNoMatch, strings.Join(miss, ", "))
}
