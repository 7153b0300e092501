package registry

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/eventlog"
)

// TestParseSelectorListCap: up to MaxSelectors selectors, spread over any
// number of parameters, are accepted; one more is ErrInvalid, whether in
// one comma-separated string or in as many parameters, before any is
// parsed further.
func TestParseSelectorListCap(t *testing.T) {
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "k=v"
		}
		return out
	}
	if sels, err := ParseSelectorList(many(MaxSelectors)); err != nil || len(sels) != MaxSelectors {
		t.Errorf("ParseSelectorList(%d params) = %d, %v; want them all", MaxSelectors, len(sels), err)
	}
	if sels, err := ParseSelectorList([]string{strings.Join(many(MaxSelectors), ",")}); err != nil || len(sels) != MaxSelectors {
		t.Errorf("ParseSelectorList(%d in one) = %d, %v; want them all", MaxSelectors, len(sels), err)
	}
	for name, in := range map[string][]string{
		"params":       many(300),
		"one string":   {strings.Join(many(300), ",")},
		"split":        {strings.Join(many(MaxSelectors), ","), "k=v"},
		"huge string":  {strings.Repeat("k=v,", 1<<20)},
		"empty commas": {strings.Repeat(",", 1<<20)},
	} {
		if _, err := ParseSelectorList(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: ParseSelectorList = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := ParseSelectors(strings.Join(many(300), ",")); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseSelectors(300 selectors) = %v, want ErrInvalid", err)
	}
}

// TestListRefusesHostileQueries: List refuses what a database would choke
// on or cannot store (NUL, invalid UTF-8) and more selectors than
// MaxSelectors, with ErrInvalid, before querying the log.
func TestListRefusesHostileQueries(t *testing.T) {
	r := New(nil, nil, nil) // a nil log: List must refuse before using it
	sels := make([]eventlog.Selector, MaxSelectors+1)
	for i := range sels {
		sels[i] = eventlog.Selector{Key: "k", Op: eventlog.OpExists}
	}
	for name, opts := range map[string]ListOptions{
		"NUL in prefix":         {NamePrefix: "a\x00b"},
		"invalid UTF-8 prefix":  {NamePrefix: "a\xffb"},
		"upper-case prefix":     {NamePrefix: "Reports/"},
		"overlong prefix":       {NamePrefix: strings.Repeat("a", MaxNameLen+1)},
		"overlong glob":         {NameGlob: strings.Repeat("*a", MaxNameLen)},
		"too many selectors":    {Selectors: sels},
		"NUL in selector value": {Selectors: []eventlog.Selector{{Key: "k", Op: eventlog.OpEquals, Value: "a\x00"}}},
	} {
		if _, err := r.List(context.Background(), opts); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: List = %v, want ErrInvalid", name, err)
		}
	}
}
