package tui

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
)

func TestAge(t *testing.T) {
	now := baseTime
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Hour, "now"},
		{0, "now"},
		{59 * time.Second, "59s"},
		{5 * time.Minute, "5m"},
		{47 * time.Hour, "47h"},
		{48 * time.Hour, "2d"},
		{59 * 24 * time.Hour, "59d"},
		{90 * 24 * time.Hour, "3mo"},
		{729 * 24 * time.Hour, "24mo"},
		{3 * 365 * 24 * time.Hour, "3y"},
	}
	for _, tt := range tests {
		if got := age(now.Add(-tt.d), now); got != tt.want {
			t.Errorf("age(now-%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := age(time.Time{}, now); got != "-" {
		t.Errorf("age(zero) = %q", got)
	}
	if got := relTime(now.Add(35*24*time.Hour), now); got != "2027-01-01 12:00 UTC (in 35d)" {
		t.Errorf("relTime(future) = %q", got)
	}
}

func TestTruncAndPad(t *testing.T) {
	tests := []struct {
		s    string
		w    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 4, "hel…"},
		{"hello", 1, "…"},
		{"hello", 0, ""},
		{"日本語のテキスト", 5, "日本…"},
	}
	for _, tt := range tests {
		got := trunc(tt.s, tt.w)
		if got != tt.want {
			t.Errorf("trunc(%q, %d) = %q, want %q", tt.s, tt.w, got, tt.want)
		}
		if lipgloss.Width(got) > max(tt.w, 0) {
			t.Errorf("trunc(%q, %d) is %d wide", tt.s, tt.w, lipgloss.Width(got))
		}
		if w := lipgloss.Width(pad(tt.s, tt.w)); w != max(tt.w, 0) {
			t.Errorf("pad(%q, %d) is %d wide", tt.s, tt.w, w)
		}
		if w := lipgloss.Width(padLeft(tt.s, tt.w)); w != max(tt.w, 0) {
			t.Errorf("padLeft(%q, %d) is %d wide", tt.s, tt.w, w)
		}
	}
}

func TestListColumnsFit(t *testing.T) {
	for w := 0; w <= 240; w++ {
		ref, tags, labels := listColumns(w)
		used := 2 + ref + 9 + 5
		if tags > 0 {
			used++
			used += tags
		}
		if labels > 0 {
			used += 1 + labels
		}
		if w >= 16 && used > w {
			t.Errorf("width %d: columns ref=%d tags=%d labels=%d use %d", w, ref, tags, labels, used)
		}
		if ref < 0 || tags < 0 || labels < 0 {
			t.Errorf("width %d: negative column", w)
		}
	}
	if ref, tags, labels := listColumns(80); ref < 20 || tags == 0 || labels == 0 {
		t.Errorf("80 columns: ref=%d tags=%d labels=%d, want every column", ref, tags, labels)
	}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in      string
		want    filter
		wantErr string
	}{
		{"", filter{}, ""},
		{"   ", filter{}, ""},
		{"reports/*", filter{Pattern: "reports/*"}, ""},
		{"env=prod", filter{Selectors: []string{"env=prod"}}, ""},
		{"logs/ env=prod team!=infra !draft", filter{Pattern: "logs/", Selectors: []string{"env=prod", "team!=infra", "!draft"}}, ""},
		{"k= reports", filter{Pattern: "reports", Selectors: []string{"k="}}, ""},
		{"a b", filter{}, "one name pattern only"},
		{"!", filter{}, "write !key"},
		{"!a=b", filter{}, "write !key"},
		{"=v", filter{}, "write key=value"},
		{"!=v", filter{}, "write !key"},
		{"a!b=c", filter{}, "write key=value"},
	}
	for _, tt := range tests {
		got, err := parseFilter(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseFilter(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseFilter(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseFilter checks that parsing never panics and that a parsed filter
// prints back to text that parses to the same filter.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "reports/*", "logs/ env=prod team!=infra !draft", "a b", "!", "=v", "k=v=w", "\t!x \n y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseFilter(s)
		if err != nil {
			return
		}
		again, err := parseFilter(got.String())
		if err != nil {
			t.Fatalf("String() of a parsed filter does not parse: %q: %v", got.String(), err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("round trip: %+v became %+v", got, again)
		}
	})
}

func TestAround(t *testing.T) {
	tests := []struct {
		prefix, ref, suffix string
		w                   int
		want                string
	}{
		{"inputs of ", "reports/q:3", " (2)", 40, "inputs of reports/q:3 (2)"},
		{"inputs of ", "reports/quarterly-summary:12", " (2)", 30, "inputs of report…ummary:12 (2)"},
		{"derived from ", "日本語のテキスト:1", "", 21, "derived from 日…ト:1"},
		// Too narrow for the reference: the line is cut at its end.
		{"inputs of ", "reports/quarterly-summary:12", " (2)", 12, "inputs of r…"},
	}
	for _, tt := range tests {
		got := around(tt.prefix, tt.ref, tt.suffix, tt.w)
		if got != tt.want {
			t.Errorf("around(%q, %q, %q, %d) = %q, want %q", tt.prefix, tt.ref, tt.suffix, tt.w, got, tt.want)
		}
		if lipgloss.Width(got) > tt.w {
			t.Errorf("around(..., %d) = %q is wider than %d", tt.w, got, tt.w)
		}
	}
}
