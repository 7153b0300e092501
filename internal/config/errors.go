package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Problem is one thing wrong with the configuration. Its message names the
// key and where the bad value came from, and the flag and environment
// variable that set the same key, so the user knows what to edit.
type Problem struct {
	Key    string // config key, e.g. "backends.s3main.part_size"; "" for the file as a whole
	Msg    string // what is wrong and what is allowed
	Source string // where the value came from: "flag --store", "env ARTSTORE_STORE", "/x/config.yaml line 4"
	Flag   string // the flag that sets Key, if any ("--backend")
	Env    string // the environment variable that sets Key, if any
}

// Error formats the problem on one line.
func (p *Problem) Error() string {
	var b strings.Builder
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	var also []string
	if p.Flag != "" {
		also = append(also, "flag "+p.Flag)
	}
	if p.Env != "" {
		also = append(also, "env "+p.Env)
	}
	switch {
	case p.Source != "" && len(also) > 0:
		fmt.Fprintf(&b, " (from %s; set with %s)", p.Source, strings.Join(also, ", "))
	case p.Source != "":
		fmt.Fprintf(&b, " (%s)", p.Source)
	case len(also) > 0:
		fmt.Fprintf(&b, " (set with %s)", strings.Join(also, ", "))
	}
	return b.String()
}

// Error is what Load returns for a configuration the user must fix. It
// matches ErrInvalid with errors.Is and lists every problem found, so one
// run reports them all.
type Error struct {
	Problems []*Problem
}

// Error formats the problems, one per line after the first.
func (e *Error) Error() string {
	switch len(e.Problems) {
	case 0:
		return "invalid configuration"
	case 1:
		return "configuration: " + e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "configuration has %d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// problems collects Problems during loading.
type problems struct{ list []*Problem }

func (ps *problems) add(p *Problem) { ps.list = append(ps.list, p) }

func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	return &Error{Problems: ps.list}
}

// suggest returns the candidate closest to s by edit distance, or "" when
// none is close enough to be a plausible typo.
func suggest(s string, candidates []string) string {
	var best []string
	bestD := 3
	for _, c := range candidates {
		switch d := editDistance(strings.ToLower(s), c); {
		case d < bestD:
			best, bestD = []string{strconv.Quote(c)}, d
		case d == bestD:
			best = append(best, strconv.Quote(c)) // a tie: offer every one
		}
	}
	return strings.Join(best, " or ")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
