package tui

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
)

func TestHumanSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{10*1024 - 1, "9.9 KiB"},
		{10 * 1024, "10 KiB"},
		{1023 * 1024, "1023 KiB"},
		{1 << 20, "1.0 MiB"},
		{1536 << 20, "1.5 GiB"},
		{5 << 40, "5.0 TiB"},
		{math.MaxInt64, "8.0 EiB"}, // float64 rounds 2^63-1 up to 2^63,
		{-1, "?"},
	}
	for _, tt := range tests {
		got := humanSize(tt.n)
		if got != tt.want {
			t.Errorf("humanSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
		if len(got) > 8 {
			t.Errorf("humanSize(%d) = %q is wider than the 8-column size field", tt.n, got)
		}
	}
}

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

func TestSanitize(t *testing.T) {
	tests := map[string]string{
		"plain":            "plain",
		"tab\tnew\nline\r": "tab new line ",
		"\x1b[2Jclear":     "\uFFFD[2Jclear",
		"bell\x07\x7f":     "bell\uFFFD\uFFFD",
		"c1\u009bx":        "c1\uFFFDx",
		"日本":               "日本",
	}
	for in, want := range tests {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
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
