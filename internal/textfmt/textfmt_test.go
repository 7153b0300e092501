package textfmt

import (
	"math"
	"strings"
	"testing"
	"unicode"
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

// cells is a terminal-like measure for the tests: Chinese and Japanese
// characters take two columns, combining marks none, everything else one.
func cells(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana):
			n += 2
		default:
			n++
		}
	}
	return n
}

func TestClipMiddle(t *testing.T) {
	for _, tt := range []struct {
		s    string
		w    int
		want string
	}{
		{"short", 5, "short"},
		{"abcdefghij", 9, "abcd…ghij"},
		{"abcdefghij", 8, "abcd…hij"}, // the start gets the odd column
		{"abcdefghij", 2, "a…"},
		{"abcdefghij", 1, "…"},
		{"abcdefghij", 0, ""},
		{"abcdefghij", -3, ""},
		{"日本語のテキスト", 7, "日…スト"}, // a wide character that does not fit is left out
		{"日本語のテキスト", 8, "日本…ト"},
		// A combining mark stays with its letter, never after the "…".
		{"e\u0301e\u0301e\u0301e\u0301", 3, "e\u0301…e\u0301"},
	} {
		got := ClipMiddle(tt.s, tt.w, cells)
		if got != tt.want {
			t.Errorf("ClipMiddle(%q, %d) = %q, want %q", tt.s, tt.w, got, tt.want)
		}
		if tt.w > 0 && cells(got) > tt.w {
			t.Errorf("ClipMiddle(%q, %d) = %q is %d columns wide", tt.s, tt.w, got, cells(got))
		}
	}
}

func TestClipRef(t *testing.T) {
	for _, tt := range []struct {
		ref  string
		w    int
		want string
	}{
		{"reports/q:3", 11, "reports/q:3"},
		// Two versions of one long name stay apart.
		{"reports/quarterly-summary:1", 16, "reports…ummary:1"},
		{"reports/quarterly-summary:2", 16, "reports…ummary:2"},
		{"reports/quarterly-summary:12", 16, "report…ummary:12"},
		// The version is kept whole down to one character of the name.
		{"reports/quarterly:2026-11-20", 13, "r…:2026-11-20"},
		// A version with no room for the name: the whole reference is
		// clipped in its middle.
		{"reports/quarterly:2026-11-20", 12, "report…11-20"},
		// No version: the middle of the whole.
		{"01JFAKE0000000000000000005", 11, "01JFA…00005"},
		{"x:1", 0, ""},
	} {
		got := ClipRef(tt.ref, tt.w, cells)
		if got != tt.want {
			t.Errorf("ClipRef(%q, %d) = %q, want %q", tt.ref, tt.w, got, tt.want)
		}
	}
}

// clippedFrom reports whether out is s, or a prefix of s, "…" and a suffix
// of s that together are shorter than s.
func clippedFrom(s, out string) bool {
	if out == s {
		return true
	}
	for j := strings.Index(out, ellipsis); j >= 0; {
		head, tail := out[:j], out[j+len(ellipsis):]
		if strings.HasPrefix(s, head) && strings.HasSuffix(s, tail) && len(head)+len(tail) < len(s) {
			return true
		}
		k := strings.Index(out[j+1:], ellipsis)
		if k < 0 {
			break
		}
		j += 1 + k
	}
	return false
}

func FuzzClipRef(f *testing.F) {
	for _, s := range []string{"reports/quarterly-summary:12", "a:b:c", ":", "日本:語", "e\u0301:1", "bad\xff:1"} {
		f.Add(s, 16)
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, w int) {
		w %= 300
		for name, clip := range map[string]func(string, int, func(string) int) string{"ClipRef": ClipRef, "ClipMiddle": ClipMiddle} {
			got := clip(s, w, cells)
			switch {
			case w < 1 && got != "":
				t.Fatalf("%s(%q, %d) = %q, want \"\"", name, s, w, got)
			case w >= 1 && cells(got) > w:
				t.Fatalf("%s(%q, %d) = %q is %d columns wide", name, s, w, got, cells(got))
			case w >= 1 && cells(s) <= w && got != s:
				t.Fatalf("%s(%q, %d) = %q changed text that fits", name, s, w, got)
			case w >= 1 && !clippedFrom(s, got):
				t.Fatalf("%s(%q, %d) = %q is not a start and an end of the input around …", name, s, w, got)
			case utf8.ValidString(s) && !utf8.ValidString(got):
				t.Fatalf("%s(%q, %d) = %q is not valid UTF-8", name, s, w, got)
			}
		}
		// ClipRef keeps ":version" whole whenever it leaves room for a
		// character of the name and "…".
		if i := strings.LastIndexByte(s, ':'); i > 0 && utf8.ValidString(s) {
			if v := s[i:]; cells(v)+2 <= w {
				if got := ClipRef(s, w, cells); !strings.HasSuffix(got, v) {
					t.Fatalf("ClipRef(%q, %d) = %q lost the version %q", s, w, got, v)
				}
			}
		}
	})
}

func TestCount(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "0 events"}, {1, "1 event"}, {2, "2 events"}, {1284, "1284 events"}} {
		if got := Count(tt.n, "event"); got != tt.want {
			t.Errorf("Count(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
