package client

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

func TestPullFileName(t *testing.T) {
	for _, tt := range []struct {
		name, label string
		hasLabel    bool
		want        string
	}{
		{name: "reports/quarterly", label: "report.pdf", hasLabel: true, want: "report.pdf"},
		{name: "reports/quarterly", want: "quarterly"},
		{name: "sites/docs", label: "site", hasLabel: true, want: "site"},
		{name: "a", label: "Q3 Report (final).pdf", hasLabel: true, want: "Q3 Report (final).pdf"},
		{name: "a", label: "Отчёт.pdf", hasLabel: true, want: "Отчёт.pdf"},
		{name: "a", label: ".profile", hasLabel: true, want: ".profile"},
		{name: "reports/q", label: "../../etc/passwd", hasLabel: true, want: "passwd"},
		{name: "reports/q", label: `..\..\boot.ini`, hasLabel: true, want: "boot.ini"},
		{name: "reports/q", label: "dir/..", hasLabel: true, want: "q"},
		{name: "reports/q", label: "..", hasLabel: true, want: "q"},
		{name: "reports/q", label: ".", hasLabel: true, want: "q"},
		{name: "reports/q", label: "/", hasLabel: true, want: "q"},
		{name: "reports/q", label: "", hasLabel: true, want: "q"},
		{name: "reports/q", label: "a\nb", hasLabel: true, want: "q"},
		{name: "reports/q", label: "a\x1b[31mb", hasLabel: true, want: "q"},
		{name: "reports/q", label: "a\u0085b", hasLabel: true, want: "q"},
		{name: "reports/q", label: "a\xffb", hasLabel: true, want: "q"},
		{name: "reports/q", label: strings.Repeat("x", 256), hasLabel: true, want: "q"},
	} {
		a := Artifact{Name: tt.name}
		if tt.hasLabel {
			a.Labels = map[string]string{LabelFileName: tt.label}
		}
		if got := PullFileName(a); got != tt.want {
			t.Errorf("PullFileName(%q, label %q) = %q, want %q", tt.name, tt.label, got, tt.want)
		}
	}
}

func TestFileNameOf(t *testing.T) {
	for _, tt := range []struct {
		path, want string
		ok         bool
	}{
		{"out/report.pdf", "report.pdf", true},
		{"report.pdf", "report.pdf", true},
		{"./site/", "site", true},
		{"/abs/dir", "dir", true},
		{"out/a\nb", "a\nb", false},
	} {
		got, ok := FileNameOf(tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("FileNameOf(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzPullFileName: whatever a label or name holds, the pull name is one
// local path element that prints as itself.
func FuzzPullFileName(f *testing.F) {
	for _, s := range []string{"report.pdf", "../x", "a/..", "..", "", "a\nb", `c:\x`, "\x00", "a/b/"} {
		f.Add("reports/q", s)
	}
	f.Fuzz(func(t *testing.T, name, label string) {
		got := PullFileName(Artifact{Name: name, Labels: map[string]string{LabelFileName: label}})
		if got == "" || got == "." || got == ".." || strings.ContainsAny(got, `/\`) || !filepath.IsLocal(got) {
			t.Fatalf("PullFileName(%q, %q) = %q: not one local path element", name, label, got)
		}
		if strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Fatalf("PullFileName(%q, %q) = %q holds a control character", name, label, got)
		}
	})
}
