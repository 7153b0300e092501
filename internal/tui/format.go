package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/artifact-store/artstore/internal/textfmt"
)

// age formats the time elapsed between t and now compactly ("5s", "3m",
// "2h", "4d", "5mo", "2y"); at most 4 columns. A t after now (clock skew)
// reads "now".
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	case d < 60*24*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d < 730*24*time.Hour:
		return fmt.Sprintf("%dmo", int(d/(30*24*time.Hour)))
	default:
		return fmt.Sprintf("%dy", int(d/(365*24*time.Hour)))
	}
}

// relTime formats t as an absolute UTC minute plus a relative hint:
// "2026-11-20 10:00 UTC (7d ago)" or "(in 35d)" for future times.
func relTime(t, now time.Time) string {
	abs := t.UTC().Format("2006-01-02 15:04 UTC")
	if t.After(now) {
		return abs + " (in " + age(now, t) + ")"
	}
	return abs + " (" + age(t, now) + " ago)"
}

// labelString renders labels sorted by key as "k=v k=v".
func labelString(labels map[string]string) string {
	return strings.Join(sortedLabels(labels), " ")
}

// sortedLabels returns "k=v" strings sorted by key.
func sortedLabels(labels map[string]string) []string {
	out := make([]string, 0, len(labels))
	for k, v := range labels {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// trunc shortens s to at most w terminal columns, ending in "…" when it had
// to cut. s may contain ANSI sequences; they do not count towards the width.
func trunc(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// clipRef shortens a (sanitized) artifact reference to at most w columns
// with textfmt.ClipRef: the middle of the name gives way and ":version"
// stays whole, so two versions of a long name never read the same. Every
// reference the browser fits into a width goes through it.
func clipRef(ref string, w int) string {
	return textfmt.ClipRef(ref, w, ansi.StringWidth)
}

// around renders prefix, ref and suffix in at most w columns, shortening
// the reference with clipRef so that the text around it stays; only when
// not even a few columns are left for the reference is the whole line cut
// at its end.
func around(prefix, ref, suffix string, w int) string {
	room := w - lenW(prefix) - lenW(suffix)
	if room < min(lenW(ref), 5) {
		return trunc(prefix+ref+suffix, w)
	}
	return prefix + clipRef(ref, room) + suffix
}

// pad truncates or right-pads s with spaces to exactly w columns.
func pad(s string, w int) string {
	s = trunc(s, w)
	if n := ansi.StringWidth(s); n < w {
		s += strings.Repeat(" ", w-n)
	}
	return s
}

// padLeft truncates or left-pads s with spaces to exactly w columns.
func padLeft(s string, w int) string {
	s = trunc(s, w)
	if n := ansi.StringWidth(s); n < w {
		s = strings.Repeat(" ", w-n) + s
	}
	return s
}

// shortDigest shortens "sha256:<64 hex>" to "sha256:<12 hex>" for lists.
func shortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return alg + ":" + hex[:12]
}

// lenW is the display width of s, ignoring ANSI sequences.
func lenW(s string) int { return ansi.StringWidth(s) }
