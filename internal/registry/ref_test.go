package registry

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
	"github.com/artifact-store/artstore/internal/eventlog"
)

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "reports/quarterly", "a.b_c-d/0/x..y", strings.Repeat("a", MaxNameLen)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "A", "a//b", "/a", "a/", "a/./b", "../a", "a b", "a:b", "a@b", "é", strings.Repeat("a", MaxNameLen+1)} {
		if err := ValidateName(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestValidateVersionAndTag(t *testing.T) {
	tests := []struct {
		s            string
		version, tag bool
	}{
		{"7", true, false},
		{"0042", true, false},
		{"v1.2.3-rc_1", true, true},
		{"Latest", true, true},
		{"latest", true, true},
		{".x", false, false},
		{"-x", false, false},
		{"", false, false},
		{"a/b", false, false},
		{"a:b", false, false},
		{strings.Repeat("v", MaxVersionLen), true, true},
		{strings.Repeat("v", MaxVersionLen+1), false, false},
	}
	for _, tc := range tests {
		if err := ValidateVersion(tc.s); (err == nil) != tc.version || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("ValidateVersion(%q) = %v", tc.s, err)
		}
		if err := ValidateTag(tc.s); (err == nil) != tc.tag || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("ValidateTag(%q) = %v", tc.s, err)
		}
	}
}

func TestParseRef(t *testing.T) {
	d := content.FromBytes([]byte("x"))
	tests := []struct {
		in   string
		want Ref
		str  string
	}{
		{"reports/q", Ref{Name: "reports/q", Ident: "latest"}, "reports/q:latest"},
		{"reports/q:7", Ref{Name: "reports/q", Ident: "7"}, "reports/q:7"},
		{"reports/q:prod", Ref{Name: "reports/q", Ident: "prod"}, "reports/q:prod"},
		{"reports/q@" + d.String(), Ref{Name: "reports/q", Digest: d}, "reports/q@" + d.String()},
		{"01JD5Q7Z3N8X9W2Y4K6M1P0R3S", Ref{ID: "01JD5Q7Z3N8X9W2Y4K6M1P0R3S"}, "01JD5Q7Z3N8X9W2Y4K6M1P0R3S"},
		// A lower-case 26-character string is a name, not an ID.
		{"01jd5q7z3n8x9w2y4k6m1p0r3s", Ref{Name: "01jd5q7z3n8x9w2y4k6m1p0r3s", Ident: "latest"}, "01jd5q7z3n8x9w2y4k6m1p0r3s:latest"},
	}
	for _, tc := range tests {
		got, err := ParseRef(tc.in)
		if err != nil || got != tc.want || got.String() != tc.str {
			t.Errorf("ParseRef(%q) = %+v (%s), %v; want %+v", tc.in, got, got.String(), err, tc.want)
		}
	}
	for _, bad := range []string{"", "Reports", "a:", "a:b:c", "a@sha256:00", "a@", "@" + d.String(), "a:-x", ":7",
		"81JD5Q7Z3N8X9W2Y4K6M1P0R3S" /* overflows */, "01JD5Q7Z3N8X9W2Y4K6M1P0RUU" /* U is not Crockford */, "a b"} {
		if _, err := ParseRef(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseRef(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestParseSelectors(t *testing.T) {
	tests := []struct {
		in   string
		want []eventlog.Selector
	}{
		{"", nil},
		{"  ", nil},
		{"env=prod", []eventlog.Selector{{Key: "env", Op: eventlog.OpEquals, Value: "prod"}}},
		{"env==prod, team != core ,approved,!draft", []eventlog.Selector{
			{Key: "env", Op: eventlog.OpEquals, Value: "prod"},
			{Key: "team", Op: eventlog.OpNotEquals, Value: "core"},
			{Key: "approved", Op: eventlog.OpExists},
			{Key: "draft", Op: eventlog.OpNotExists}}},
		{"k=", []eventlog.Selector{{Key: "k", Op: eventlog.OpEquals, Value: ""}}},
		{"k=a=b", []eventlog.Selector{{Key: "k", Op: eventlog.OpEquals, Value: "a=b"}}},
		{"example.com/owner=x y", []eventlog.Selector{{Key: "example.com/owner", Op: eventlog.OpEquals, Value: "x y"}}},
	}
	for _, tc := range tests {
		got, err := ParseSelectors(tc.in)
		if err != nil || (len(got) != 0 || len(tc.want) != 0) && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSelectors(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"=x", "!", "a,,b", "!k=v", "k!", "-k=v", "k=\x01"} {
		if _, err := ParseSelectors(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseSelectors(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestGlobToLike(t *testing.T) {
	for in, want := range map[string]string{"reports/*": "reports/%", "a?c": "a_c", "a_b*": `a\_b%`, "x": "x"} {
		if got, err := globToLike(in); err != nil || got != want {
			t.Errorf("globToLike(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"a%", "A*", `a\`, "[ab]"} {
		if _, err := globToLike(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("globToLike(%q) = %v", bad, err)
		}
	}
}

// FuzzParseRef: ParseRef never panics, and what it accepts round-trips
// through String.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"a", "a/b:1", "a:latest", "a@sha256:" + strings.Repeat("0", 64), "01JD5Q7Z3N8X9W2Y4K6M1P0R3S", "a:b:c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseRef(%q) error %v does not match ErrInvalid", s, err)
			}
			return
		}
		r2, err := ParseRef(r.String())
		if err != nil || r2 != r {
			t.Fatalf("ParseRef(%q) = %+v, but its String %q parses to %+v, %v", s, r, r.String(), r2, err)
		}
	})
}

// FuzzParseSelectors: never panics; accepted selectors have valid keys.
func FuzzParseSelectors(f *testing.F) {
	for _, s := range []string{"a=b", "a!=b,c", "!d", "a==b", ",", "=", "k=v=w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sels, err := ParseSelectors(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		for _, sel := range sels {
			if err := ValidateLabel(sel.Key, sel.Value); err != nil {
				t.Fatalf("accepted invalid selector %+v: %v", sel, err)
			}
		}
	})
}
