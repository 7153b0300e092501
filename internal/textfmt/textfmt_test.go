package textfmt

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBytes(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{-1, "-"},
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{5000016, "4.8 MiB"},
		{1023*1024 + 920, "1023.9 KiB"},
		{1<<20 - 1, "1.0 MiB"}, // 1023.999 KiB rounds to 1024.0: the next unit
		{1 << 20, "1.0 MiB"},
		{1536 << 20, "1.5 GiB"},
		{5 << 40, "5.0 TiB"},
		{math.MaxInt64, "8.0 EiB"},
	} {
		got := Bytes(tt.n)
		if got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
		if len(got) > 10 {
			t.Errorf("Bytes(%d) = %q is wider than 10 columns", tt.n, got)
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"plain ü 日本":         "plain ü 日本",
		"tab\tnew\nline\r":   "tab new line ",
		"\x1b[2Jclear":       "\uFFFD[2Jclear",
		"bell\x07\x7f":       "bell\uFFFD\uFFFD",
		"c1\u009bx":          "c1\uFFFDx",
		"bad utf8 \xff\xfe.": "bad utf8 \uFFFD\uFFFD.",
		"":                   "",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"plain", "\x1b]0;title\x07", "a\xffb", "\u009b31m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Sanitize(%q) = %q is not valid UTF-8", s, got)
		}
		for _, r := range got {
			if isControl(r) {
				t.Fatalf("Sanitize(%q) = %q keeps control %U", s, got, r)
			}
		}
		if Sanitize(got) != got {
			t.Fatalf("Sanitize is not idempotent on %q", s)
		}
	})
}

func TestPrintable(t *testing.T) {
	for _, tt := range []struct {
		s    string
		max  int
		want bool
	}{
		{"ok", 2, true}, {"too long", 3, false}, {"tab\t", 10, false}, {"del\x7f", 10, false},
		{"bad\xff", 10, false}, {"ü c1 is \u0085 allowed", 40, true},
	} {
		if got := Printable(tt.s, tt.max); got != tt.want {
			t.Errorf("Printable(%q, %d) = %v, want %v", tt.s, tt.max, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	for _, tt := range []struct {
		s    string
		max  int
		want string
	}{
		{"short", 80, "short"},
		{strings.Repeat("a", 81), 80, strings.Repeat("a", 80) + "..."},
		{"aéb", 2, "a..."}, // never half of é
		{"日本語", 4, "日..."},
	} {
		got := Clip(tt.s, tt.max)
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.s, tt.max, got, tt.want)
		}
	}
}
