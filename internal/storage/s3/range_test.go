package s3

import (
	"fmt"
	"testing"
)

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in                string
		start, end, total int64
		ok                bool
	}{
		{"bytes 0-0/1", 0, 0, 1, true},
		{"bytes 0-999/1000", 0, 999, 1000, true},
		{"bytes 100-199/1000", 100, 199, 1000, true},
		{"bytes 2147483648-2147483659/4294967296", 2147483648, 2147483659, 4294967296, true},
		{"bytes 0-999/*", 0, 0, 0, false},
		{"bytes */1000", 0, 0, 0, false},
		{"bytes 0-1000/1000", 0, 0, 0, false},
		{"bytes 5-4/1000", 0, 0, 0, false},
		{"bytes -1-4/1000", 0, 0, 0, false},
		{"bytes 0-4", 0, 0, 0, false},
		{"items 0-4/10", 0, 0, 0, false},
		{"bytes=0-4/10", 0, 0, 0, false},
		{"bytes 0-4/10 ", 0, 0, 0, false},
		{"bytes 00-4/10", 0, 4, 10, true},
		{"bytes +1-4/10", 0, 0, 0, false},
		{"bytes 0-99999999999999999999/10", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	}
	for _, tt := range tests {
		s, e, n, err := parseContentRange(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseContentRange(%q) error = %v; want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && (s != tt.start || e != tt.end || n != tt.total) {
			t.Errorf("parseContentRange(%q) = %d, %d, %d; want %d, %d, %d", tt.in, s, e, n, tt.start, tt.end, tt.total)
		}
	}
}

// FuzzParseContentRange: the header comes from the server. Whatever it
// sends, an accepted value describes a range inside the object, and
// formatting it back parses to the same numbers.
func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-0/1", "bytes 10-19/20", "bytes */5", "bytes 1-0/5", "bytes 0-4", "bytes 9223372036854775806-9223372036854775806/9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, e, n, err := parseContentRange(in)
		if err != nil {
			return
		}
		if s < 0 || e < s || e >= n {
			t.Fatalf("parseContentRange(%q) = %d, %d, %d: not a range inside the object", in, s, e, n)
		}
		s2, e2, n2, err := parseContentRange(fmt.Sprintf("bytes %d-%d/%d", s, e, n))
		if err != nil || s2 != s || e2 != e || n2 != n {
			t.Fatalf("round trip of %q: %d, %d, %d, %v", in, s2, e2, n2, err)
		}
	})
}
