package config

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "1048576", want: 1 << 20},
		{in: "64MiB", want: 64 << 20},
		{in: "64mib", want: 64 << 20},
		{in: "64 MiB", want: 64 << 20},
		{in: "64M", want: 64 << 20},
		{in: "5MB", want: 5_000_000},
		{in: "1GiB", want: 1 << 30},
		{in: "2TB", want: 2_000_000_000_000},
		{in: "10B", want: 10},
		{in: " 7k ", want: 7 << 10},
		{in: "", wantErr: "is not a size"},
		{in: "MiB", wantErr: "is not a size"},
		{in: "-5MiB", wantErr: "is not a size"},
		{in: "1.5GiB", wantErr: `unknown unit ".5GiB"`},
		{in: "12XB", wantErr: `unknown unit "XB"`},
		{in: "99999999999999999999", wantErr: "number too large"},
		{in: "9000000TiB", wantErr: "too large"},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSize(%q) = %d, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "64MiB", "1 GB", "12XB", "9223372036854775807", "9000000TiB", " k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("ParseSize(%q) returned %d with error %v", s, n, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative", s, n)
		}
	})
}
