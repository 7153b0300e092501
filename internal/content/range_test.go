package content_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/artifact-store/artstore/internal/content"
)

func TestRangeBasics(t *testing.T) {
	tests := []struct {
		r       content.Range
		length  int64
		str     string
		size    int64
		wantErr string
	}{
		{content.Range{Start: 0, End: 0}, 1, "0-0", 1, ""},
		{content.Range{Start: 0, End: 9}, 10, "0-9", 10, ""},
		{content.Range{Start: 9, End: 9}, 1, "9-9", 10, ""},
		{content.Range{Start: 3, End: 5}, 3, "3-5", 10, ""},
		{content.Range{Start: 0, End: 10}, 11, "0-10", 10, "object has 10 bytes (last byte is 9)"},
		{content.Range{Start: 10, End: 10}, 1, "10-10", 10, "object has 10 bytes"},
		{content.Range{Start: 0, End: 0}, 1, "0-0", 0, "object has 0 bytes"},
		{content.Range{Start: 5, End: 4}, 0, "5-4", 10, "start must be >= 0 and <= end"},
		{content.Range{Start: -1, End: 4}, 6, "-1-4", 10, "start must be >= 0"},
		{content.Range{Start: 0, End: math.MaxInt64 - 1}, math.MaxInt64, "0-9223372036854775806", math.MaxInt64, ""},
	}
	for _, tt := range tests {
		if got := tt.r.Length(); got != tt.length {
			t.Errorf("%v.Length() = %d, want %d", tt.r, got, tt.length)
		}
		if got := tt.r.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
		err := tt.r.Validate(tt.size)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%v.Validate(%d): %v", tt.r, tt.size, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, content.ErrInvalidRange) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%v.Validate(%d) = %v, want ErrInvalidRange containing %q", tt.r, tt.size, err, tt.wantErr)
		}
	}
}

type rangeCase struct {
	in      string
	size    int64
	want    content.Range
	wantErr string // substring; "" means success
}

func checkRangeCases(t *testing.T, parse func(string, int64) (content.Range, error), cases []rangeCase) {
	t.Helper()
	for _, tt := range cases {
		got, err := parse(tt.in, tt.size)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("parse(%q, %d): %v", tt.in, tt.size, err)
				continue
			}
			if got != tt.want {
				t.Errorf("parse(%q, %d) = %v, want %v", tt.in, tt.size, got, tt.want)
			}
			if err := got.Validate(tt.size); err != nil {
				t.Errorf("parse(%q, %d) = %v, which does not validate: %v", tt.in, tt.size, got, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("parse(%q, %d) = %v, want error containing %q", tt.in, tt.size, got, tt.wantErr)
			continue
		}
		if !errors.Is(err, content.ErrInvalidRange) {
			t.Errorf("parse(%q, %d): error %v does not wrap ErrInvalidRange", tt.in, tt.size, err)
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("parse(%q, %d): error %q does not contain %q", tt.in, tt.size, err, tt.wantErr)
		}
	}
}

func TestParseRange(t *testing.T) {
	checkRangeCases(t, content.ParseRange, []rangeCase{
		{"0-9", 10, content.Range{Start: 0, End: 9}, ""},
		{"0-0", 10, content.Range{Start: 0, End: 0}, ""},
		{"9-9", 10, content.Range{Start: 9, End: 9}, ""},
		{"2-5", 10, content.Range{Start: 2, End: 5}, ""},
		{" 2-5\n", 10, content.Range{Start: 2, End: 5}, ""},
		{"007-008", 10, content.Range{Start: 7, End: 8}, ""},
		{"5-", 10, content.Range{Start: 5, End: 9}, ""},
		{"0-", 1, content.Range{Start: 0, End: 0}, ""},
		{"-3", 10, content.Range{Start: 7, End: 9}, ""},
		{"-10", 10, content.Range{Start: 0, End: 9}, ""},
		{"-11", 10, content.Range{Start: 0, End: 9}, ""}, // suffix longer than the object: all of it
		{"0-10", 10, content.Range{}, "object has 10 bytes (last byte is 9)"},
		{"5-9223372036854775807", 10, content.Range{}, "object has 10 bytes"},
		{"10-", 10, content.Range{}, "start 10 is past the end"},
		{"10-12", 10, content.Range{}, "start 10 is past the end"},
		{"5-4", 10, content.Range{}, "end is before start"},
		{"-0", 10, content.Range{}, "suffix range needs a length > 0"},
		{"0-0", 0, content.Range{}, "the object is empty"},
		{"-1", 0, content.Range{}, "the object is empty"},
		{"0-0", -1, content.Range{}, "the object is empty"},
		{"", 10, content.Range{}, "want START-END"},
		{"5", 10, content.Range{}, "want START-END"},
		{"-", 10, content.Range{}, "is not a byte offset"},
		{"a-b", 10, content.Range{}, `"a" is not a byte offset`},
		{"1-2-3", 10, content.Range{}, `"2-3" is not a byte offset`},
		{"+1-2", 10, content.Range{}, "is not a byte offset"},
		{"1 - 2", 10, content.Range{}, "is not a byte offset"},
		{"0x1-2", 10, content.Range{}, "is not a byte offset"},
		{"1e3-", 10000, content.Range{}, "is not a byte offset"},
		{"--1", 10, content.Range{}, "is not a byte offset"},
		{"bytes=0-1", 10, content.Range{}, "is not a byte offset"},
		{"99999999999999999999-", 10, content.Range{}, "is not a byte offset"},
		{"9223372036854775808-", math.MaxInt64, content.Range{}, "is out of range"},
		{"9223372036854775806-", math.MaxInt64, content.Range{Start: math.MaxInt64 - 1, End: math.MaxInt64 - 1}, ""},
	})
}

func TestParseHTTPRange(t *testing.T) {
	checkRangeCases(t, content.ParseHTTPRange, []rangeCase{
		{"bytes=0-99", 1000, content.Range{Start: 0, End: 99}, ""},
		{"bytes=0-0", 1000, content.Range{Start: 0, End: 0}, ""},
		{"bytes=999-999", 1000, content.Range{Start: 999, End: 999}, ""},
		{"bytes=100-", 1000, content.Range{Start: 100, End: 999}, ""},
		{"bytes=-500", 1000, content.Range{Start: 500, End: 999}, ""},
		{"bytes=-5000", 1000, content.Range{Start: 0, End: 999}, ""},
		{"bytes=0-2000", 1000, content.Range{Start: 0, End: 999}, ""}, // RFC 9110: end clipped
		{"bytes=0-9223372036854775807", 1000, content.Range{Start: 0, End: 999}, ""},
		{" bytes = 5-9 ", 1000, content.Range{Start: 5, End: 9}, ""},
		{"Bytes=5-9", 1000, content.Range{Start: 5, End: 9}, ""}, // range units are case-insensitive
		{"BYTES=-1", 1000, content.Range{Start: 999, End: 999}, ""},
		{"bytes=1000-", 1000, content.Range{}, "start 1000 is past the end"},
		{"bytes=1000-1001", 1000, content.Range{}, "start 1000 is past the end"},
		{"bytes=5-4", 1000, content.Range{}, "end is before start"},
		{"bytes=-0", 1000, content.Range{}, "suffix range needs a length > 0"},
		{"bytes=0-0", 0, content.Range{}, "the object is empty"},
		{"bytes=0-1,5-6", 1000, content.Range{}, "multiple ranges are not supported"},
		{"bytes=0-1,", 1000, content.Range{}, "multiple ranges are not supported"},
		{"items=0-1", 1000, content.Range{}, "want bytes=START-END"},
		{"bytes 0-1", 1000, content.Range{}, "want bytes=START-END"},
		{"0-1", 1000, content.Range{}, "want bytes=START-END"},
		{"", 1000, content.Range{}, "want bytes=START-END"},
		{"bytes=", 1000, content.Range{}, "want bytes=START-END"},
		{"bytes=5", 1000, content.Range{}, "want bytes=START-END"},
		{"bytes=-", 1000, content.Range{}, "is not a byte offset"},
		{"bytes=a-", 1000, content.Range{}, "is not a byte offset"},
		{"bytes=1-2-3", 1000, content.Range{}, "is not a byte offset"},
		{"bytes=-+5", 1000, content.Range{}, "is not a byte offset"},
		{"bytes==0-1", 1000, content.Range{}, "is not a byte offset"},
		{"bytes=99999999999999999999-", 1000, content.Range{}, "is not a byte offset"},
	})
}

func TestRangeErrorClipsHugeInput(t *testing.T) {
	huge := strings.Repeat("1", 1<<16) + "-"
	for name, parse := range map[string]func(string, int64) (content.Range, error){
		"ParseRange":     content.ParseRange,
		"ParseHTTPRange": func(s string, n int64) (content.Range, error) { return content.ParseHTTPRange("bytes="+s, n) },
	} {
		_, err := parse(huge, 10)
		if err == nil {
			t.Fatalf("%s: want error", name)
		}
		if n := len(err.Error()); n > 400 {
			t.Errorf("%s: error message is %d bytes long; huge input must be clipped", name, n)
		}
	}
}
