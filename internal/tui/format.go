package tui

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// humanSize formats n bytes with binary units, rounded down: "512 B",
// "1.5 KiB", "12 MiB".
// The result is at most 8 columns wide for any int64.
func humanSize(n int64) string {
	if n < 0 {
		return "?"
	}
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v < 10 {
		// One decimal below ten. Rounded down, like the integer case, so a
		// value never reads as the next unit's "1024".
		return fmt.Sprintf("%.1f %s", math.Floor(v*10)/10, units[u])
	}
	return fmt.Sprintf("%d %s", int64(v), units[u])
}

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

// sanitize replaces control characters (which could move the cursor or
// change the terminal's state when printed) in text that came from the store
// with U+FFFD, and newlines and tabs with spaces.
func sanitize(s string) string {
	clean := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
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
