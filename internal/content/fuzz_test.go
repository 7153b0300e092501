package content_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

// Fuzz targets for every parser of outside input in this package. Each one
// checks, besides "no panic", that a successful parse round-trips and that a
// failure wraps the package's sentinel error.

func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{
		"sha256:" + hexABC,
		"sha256:" + hexEmpty,
		"sha256:" + strings.ToUpper(hexABC),
		"sha256:",
		"sha512:" + hexABC + hexABC,
		"sha256:../../../../etc/passwd",
		"",
		":",
		"sha256::" + hexABC[1:],
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := content.ParseDigest(s)
		if err != nil {
			if !errors.Is(err, content.ErrInvalidDigest) {
				t.Fatalf("ParseDigest(%q): error %v does not wrap ErrInvalidDigest", s, err)
			}
			if !d.IsZero() {
				t.Fatalf("ParseDigest(%q) failed but returned %v", s, d)
			}
			var u content.Digest
			if s != "" && u.UnmarshalText([]byte(s)) == nil {
				t.Fatalf("UnmarshalText(%q) accepted what ParseDigest refused", s)
			}
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDigest(%q).String() = %q", s, d.String())
		}
		if strings.ContainsAny(d.Hex(), "/\\.") || len(d.Hex()) != 64 {
			t.Fatalf("ParseDigest(%q) hex %q is not 64 hex characters", s, d.Hex())
		}
		k, err := content.ParseKey(d.Key())
		if err != nil || k != d {
			t.Fatalf("ParseKey(%q) = %v, %v; want %v", d.Key(), k, err, d)
		}
		sum, err := hex.DecodeString(d.Hex())
		if err != nil {
			t.Fatalf("hex of %v does not decode: %v", d, err)
		}
		if n, err := content.NewDigest(d.Algorithm(), sum); err != nil || n != d {
			t.Fatalf("NewDigest(%s, sum) = %v, %v; want %v", d.Algorithm(), n, err, d)
		}
		text, _ := d.MarshalText()
		var u content.Digest
		if err := u.UnmarshalText(text); err != nil || u != d {
			t.Fatalf("text round trip of %v = %v, %v", d, u, err)
		}
	})
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		"sha256/ba/78/" + hexABC,
		"sha256/bb/78/" + hexABC,
		"sha256/../78/" + hexABC,
		"/sha256/ba/78/" + hexABC,
		"sha256/ba/78/" + hexABC + "/",
		"sha256:x/ba/78/" + hexABC,
		"tmp/put-123",
		"",
		"///",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := content.ParseKey(s)
		if err != nil {
			if !errors.Is(err, content.ErrInvalidDigest) {
				t.Fatalf("ParseKey(%q): error %v does not wrap ErrInvalidDigest", s, err)
			}
			if !d.IsZero() {
				t.Fatalf("ParseKey(%q) failed but returned %v", s, d)
			}
			return
		}
		if d.Key() != s {
			t.Fatalf("ParseKey(%q).Key() = %q", s, d.Key())
		}
		if strings.Contains(s, "..") || strings.Contains(s, "//") || strings.HasPrefix(s, "/") || strings.ContainsAny(s, "\\:\x00") {
			t.Fatalf("ParseKey accepted a key that is not a plain relative path: %q", s)
		}
		p, err := content.ParseDigest(d.String())
		if err != nil || p != d {
			t.Fatalf("ParseDigest(%q) = %v, %v; want %v", d.String(), p, err, d)
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, c := range []struct {
		s    string
		size int64
	}{
		{"0-9", 10}, {"5-", 10}, {"-3", 10}, {"-20", 10}, {"0-10", 10}, {"5-4", 10},
		{"", 0}, {"-", 1}, {"0-0", 0}, {"9223372036854775806-", 9223372036854775807},
		{"99999999999999999999-1", 5}, {" 1-2 ", 3}, {"0-0", -5},
	} {
		f.Add(c.s, c.size)
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		r, err := content.ParseRange(s, size)
		if err != nil {
			if !errors.Is(err, content.ErrInvalidRange) {
				t.Fatalf("ParseRange(%q, %d): error %v does not wrap ErrInvalidRange", s, size, err)
			}
			return
		}
		checkParsedRange(t, s, size, r)
		// The canonical form parses back to the same range.
		if again, err := content.ParseRange(r.String(), size); err != nil || again != r {
			t.Fatalf("ParseRange(%q, %d) = %v, %v; want %v", r.String(), size, again, err, r)
		}
		// The strict CLI parser accepts nothing the HTTP parser would resolve differently.
		if h, err := content.ParseHTTPRange("bytes="+strings.TrimSpace(s), size); err != nil || h != r {
			t.Fatalf("ParseHTTPRange(bytes=%s, %d) = %v, %v; ParseRange gave %v", strings.TrimSpace(s), size, h, err, r)
		}
	})
}

func FuzzParseHTTPRange(f *testing.F) {
	for _, c := range []struct {
		s    string
		size int64
	}{
		{"bytes=0-99", 1000}, {"bytes=100-", 1000}, {"bytes=-500", 1000}, {"bytes=0-2000", 1000},
		{"bytes=0-1,2-3", 1000}, {"BYTES=1-1", 2}, {"bytes=-0", 1}, {"bytes=", 1}, {"items=0-1", 5},
		{"bytes=0-0", 0}, {" bytes = 1 - 2 ", 10}, {"bytes=9223372036854775807-", 9223372036854775807},
	} {
		f.Add(c.s, c.size)
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		r, err := content.ParseHTTPRange(s, size)
		if err != nil {
			if !errors.Is(err, content.ErrInvalidRange) {
				t.Fatalf("ParseHTTPRange(%q, %d): error %v does not wrap ErrInvalidRange", s, size, err)
			}
			return
		}
		checkParsedRange(t, s, size, r)
		if again, err := content.ParseHTTPRange("bytes="+r.String(), size); err != nil || again != r {
			t.Fatalf("ParseHTTPRange(bytes=%s, %d) = %v, %v; want %v", r.String(), size, again, err, r)
		}
	})
}

// checkParsedRange checks what every successfully parsed range promises.
func checkParsedRange(t *testing.T, s string, size int64, r content.Range) {
	t.Helper()
	if err := r.Validate(size); err != nil {
		t.Fatalf("parse(%q, %d) = %v, which does not validate: %v", s, size, r, err)
	}
	if r.Length() < 1 || r.Length() > size {
		t.Fatalf("parse(%q, %d) = %v with length %d", s, size, r, r.Length())
	}
}
