package tui

import (
	"fmt"
	"strings"
)

// filter is what the user typed after "/": an optional name pattern (a glob
// such as "reports/*" or a prefix) and label selectors, separated by spaces.
// A token is a selector when it has the form k=v, k!=v or !k; any other token
// is the name pattern, of which there is at most one. The "k" (label exists)
// selector of client.Query has no spelling here because a bare word is the
// name pattern.
type filter struct {
	Pattern   string
	Selectors []string
}

// parseFilter parses the filter text. It checks only the shape of each
// token; the store validates names and label keys and its error is shown to
// the user.
func parseFilter(s string) (filter, error) {
	var f filter
	for _, tok := range strings.Fields(s) {
		switch {
		case strings.HasPrefix(tok, "!"):
			key := tok[1:]
			if key == "" || strings.ContainsAny(key, "=!") {
				return filter{}, fmt.Errorf("selector %q: write !key to match artifacts without that label", tok)
			}
			f.Selectors = append(f.Selectors, tok)
		case strings.Contains(tok, "="):
			key, _, _ := strings.Cut(tok, "=")
			key = strings.TrimSuffix(key, "!")
			if key == "" || strings.Contains(key, "!") {
				return filter{}, fmt.Errorf("selector %q: write key=value or key!=value", tok)
			}
			f.Selectors = append(f.Selectors, tok)
		default:
			if f.Pattern != "" {
				return filter{}, fmt.Errorf("one name pattern only (got %q and %q); label selectors look like key=value, key!=value or !key", f.Pattern, tok)
			}
			f.Pattern = tok
		}
	}
	return f, nil
}

// String renders the filter back in the syntax parseFilter reads.
func (f filter) String() string {
	parts := make([]string, 0, len(f.Selectors)+1)
	if f.Pattern != "" {
		parts = append(parts, f.Pattern)
	}
	parts = append(parts, f.Selectors...)
	return strings.Join(parts, " ")
}

// empty reports whether the filter selects everything.
func (f filter) empty() bool { return f.Pattern == "" && len(f.Selectors) == 0 }
