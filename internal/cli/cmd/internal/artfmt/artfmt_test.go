package artfmt

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

func TestTime(t *testing.T) {
	if got := Time(time.Time{}); got != "-" {
		t.Errorf("zero: %q", got)
	}
	tm := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	if got := Time(tm); got != "2026-01-02T02:04:05Z" {
		t.Errorf("Time = %q", got)
	}
}

func TestParseLabels(t *testing.T) {
	tests := []struct {
		args    []string
		want    map[string]string
		wantErr string
	}{
		{args: nil, want: map[string]string{}},
		{args: []string{"env=prod", "team=a=b", "empty="}, want: map[string]string{"env": "prod", "team": "a=b", "empty": ""}},
		{args: []string{"noequals"}, wantErr: `label "noequals": want KEY=VALUE`},
		{args: []string{"=v"}, wantErr: `label "=v": want KEY=VALUE`},
		{args: []string{"a=1", "a=2"}, wantErr: `label "a" is given twice`},
	}
	for _, tt := range tests {
		got, err := ParseLabels(tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrSyntax) {
				t.Errorf("%v: err = %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v: got %v, %v; want %v", tt.args, got, err, tt.want)
		}
	}
}

func TestParseInput(t *testing.T) {
	digest := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		in      string
		want    client.Input
		wantErr bool
	}{
		{in: "src:1", want: client.Input{Ref: "src:1"}},
		{in: "src:1=source", want: client.Input{Ref: "src:1", Role: "source"}},
		{in: "reports/q@" + digest + "=base", want: client.Input{Ref: "reports/q@" + digest, Role: "base"}},
		{in: digest + "=config", want: client.Input{Digest: digest, Role: "config"}},
		{in: "", wantErr: true},
		{in: "=role", wantErr: true},
		{in: "src:1=", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseInput(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseInput(%q) = %+v, %v; want %+v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "2026-01-02T15:04:05Z", want: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{in: "2026-01-02", want: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{in: "24h", want: now.Add(-24 * time.Hour)},
		{in: "7d", want: now.Add(-7 * 24 * time.Hour)},
		{in: "2w", want: now.Add(-14 * 24 * time.Hour)},
		{in: "1d12h30m", want: now.Add(-36*time.Hour - 30*time.Minute)},
		{in: "90s", want: now.Add(-90 * time.Second)},
		{in: "", wantErr: true},
		{in: "7", wantErr: true},
		{in: "d", wantErr: true},
		{in: "7y", wantErr: true},
		{in: "-7d", wantErr: true},
		{in: "1.5h", wantErr: true},
		{in: "99999999w", wantErr: true},
		{in: "yesterday", wantErr: true},
		{in: "2999-01-01", wantErr: true},
		{in: "1969-12-31T00:00:00Z", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseSince(tt.in, now)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestNewProgress(t *testing.T) {
	ios, _, _, stderr := iostreams.Test()
	if p := NewProgress(ios, false, 100<<20, "push"); p != nil {
		t.Error("progress on a non-terminal")
	}
	ios.SetStderrTTY(true)
	if p := NewProgress(ios, true, 100<<20, "push"); p != nil {
		t.Error("progress with --json")
	}
	if p := NewProgress(ios, false, ProgressThreshold-1, "push"); p != nil {
		t.Error("progress for a small transfer")
	}
	ios.SetQuiet(true)
	if p := NewProgress(ios, false, 100<<20, "push"); p != nil {
		t.Error("progress with --quiet")
	}
	ios.SetQuiet(false)
	p := NewProgress(ios, false, 100<<20, "push")
	if p == nil {
		t.Fatal("no progress on a terminal")
	}
	p.Set(100 << 20)
	p.Done()
	if !strings.Contains(stderr.String(), "push") {
		t.Errorf("stderr = %q, want the bar", stderr)
	}
	var none *Progress
	none.Set(1)
	none.Done()
}

func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"7d", "1d12h", "2026-01-02", "2026-01-02T15:04:05Z", "", "9999999999999w", "1h1h1h"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSince(s, now)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not match ErrSyntax", err)
			}
			return
		}
		if d, derr := parseDuration(strings.TrimSpace(s)); derr == nil && (d < 0 || got.After(now)) {
			t.Fatalf("%q: duration %v gives %v after now", s, d, got)
		}
	})
}

func FuzzParseLabelsAndInput(f *testing.F) {
	for _, s := range []string{"a=b", "=", "a", "x:1=role", "sha256:ab=c", "a=b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := ParseLabels([]string{s}); err == nil {
			k, v, _ := strings.Cut(s, "=")
			if len(m) != 1 || m[k] != v || k == "" {
				t.Fatalf("ParseLabels(%q) = %v", s, m)
			}
		} else if !errors.Is(err, ErrSyntax) {
			t.Fatal(err)
		}
		if in, err := ParseInput(s); err == nil {
			if (in.Ref == "") == (in.Digest == "") {
				t.Fatalf("ParseInput(%q) = %+v: want exactly one of ref and digest", s, in)
			}
		} else if !errors.Is(err, ErrSyntax) {
			t.Fatal(err)
		}
	})
}
