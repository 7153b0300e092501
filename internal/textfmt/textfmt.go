// Package textfmt renders values and untrusted text for people: byte sizes,
// text safe to print on a terminal, text clipped for messages, and names
// and references shortened in their middle to fit a column. It is
// the one place each of these is written, so the CLI, the browser, health
// checks and error messages agree; it imports nothing of artstore's, so
// every layer may use it.
package textfmt

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Bytes renders n bytes with binary units and one decimal, rounded to the
// nearest: "512 B", "1.5 KiB", "4.8 MiB" (5000016 bytes), "1023.9 KiB";
// a value that rounds to 1024 of a unit is written in the next one
// ("1.0 MiB", never "1024.0 KiB"). A negative n (unknown) is "-". The
// result is at most 10 columns wide.
func Bytes(n int64) string {
	if n < 0 {
		return "-"
	}
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	const units = "KMGTPE"
	v := float64(n) / 1024
	u := 0
	for math.Round(v*10)/10 >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[u])
}

// Sanitize makes text that came from outside (a CI variable, a label, a
// producer command, an error from a server) safe to print on a terminal,
// on one line: tabs, newlines and carriage returns become spaces, and other
// control characters (C0, DEL, C1: the ones that start escape sequences,
// move the cursor or ring the bell) and invalid UTF-8 become U+FFFD, so a
// string can neither change the terminal's state nor hide what it is.
func Sanitize(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case isControl(r):
			b.WriteRune(utf8.RuneError)
		default:
			b.WriteRune(r) // an invalid byte arrives as RuneError, written as U+FFFD
		}
	}
	return b.String()
}

// clean reports whether Sanitize would return s unchanged.
func clean(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if isControl(r) || (r == utf8.RuneError && size == 1) {
			return false
		}
		i += size
	}
	return true
}

// isControl reports whether r is a C0 control, DEL or a C1 control.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// Printable reports whether s is valid UTF-8 of at most max bytes without
// C0 controls or DEL: what the registry and the event log accept as
// free text (a role, an actor, a retention rule's author).
func Printable(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Clip shortens s to at most max bytes, cut at a character boundary, with
// "..." appended when it cut anything, for quoting input in a message.
func Clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// ellipsis marks where ClipMiddle and ClipRef cut text out.
const ellipsis = "…"

// ClipMiddle shortens s to at most w terminal columns, as width measures
// them, by putting "…" in place of its middle: the start and the end stay,
// which tells apart names that differ only at their end (two versions, two
// dates) where cutting the end would not. It cuts between characters (runes)
// and returns s unchanged when it fits; w < 1 gives "". width is the
// caller's measure of terminal columns (the browser passes
// ansi.StringWidth, the measure it pads with), so the result always fits
// the column it is written into.
func ClipMiddle(s string, w int, width func(string) int) string {
	if w < 1 {
		return ""
	}
	if width(s) <= w {
		return s
	}
	avail := w - width(ellipsis)
	if avail < 1 {
		return ellipsis
	}
	// The start gets the odd column: it is read first.
	head := prefixWithin(s, (avail+1)/2, width)
	tail := suffixWithin(s[len(head):], avail-width(head), width)
	out := head + ellipsis + tail
	// A measure that is not additive (a combining mark after the cut, a
	// wide cluster) may make the joined string wider than its parts; give
	// back characters from the longer side until it fits.
	for width(out) > w && (head != "" || tail != "") {
		if len(tail) >= len(head) && tail != "" {
			_, n := utf8.DecodeRuneInString(tail)
			tail = tail[n:]
		} else {
			_, n := utf8.DecodeLastRuneInString(head)
			head = head[:len(head)-n]
		}
		out = head + ellipsis + tail
	}
	return out
}

// prefixWithin is the longest prefix of s, cut between runes, at most w
// columns wide.
func prefixWithin(s string, w int, width func(string) int) string {
	end, used := 0, 0
	for end < len(s) {
		_, n := utf8.DecodeRuneInString(s[end:])
		cw := width(s[end : end+n])
		if used+cw > w {
			break
		}
		used += cw
		end += n
	}
	return s[:end]
}

// suffixWithin is the longest suffix of s, cut between runes, at most w
// columns wide, that does not start with a zero-width rune (a combining
// mark belongs to the character before it, which the suffix lacks).
func suffixWithin(s string, w int, width func(string) int) string {
	start, used := len(s), 0
	for start > 0 {
		_, n := utf8.DecodeLastRuneInString(s[:start])
		cw := width(s[start-n : start])
		if used+cw > w {
			break
		}
		used += cw
		start -= n
	}
	for start < len(s) {
		_, n := utf8.DecodeRuneInString(s[start:])
		if width(s[start:start+n]) > 0 {
			break
		}
		start += n
	}
	return s[start:]
}

// ClipRef shortens an artifact reference "name:version" to at most w
// columns (measured by width, as for ClipMiddle) so that the version stays
// whole: the middle of the name gives way ("reports/q…summary:12"), since
// rows that differ only in their version must still read differently. A
// reference without ":", or whose ":version" leaves no room for a
// character of the name and "…", is clipped in its middle as a whole.
func ClipRef(ref string, w int, width func(string) int) string {
	if w < 1 {
		return ""
	}
	if width(ref) <= w {
		return ref
	}
	if i := strings.LastIndexByte(ref, ':'); i > 0 {
		version := ref[i:]
		if rest := w - width(version); rest >= width(ellipsis)+1 {
			name := ClipMiddle(ref[:i], rest, width)
			if out := name + version; width(out) <= w {
				return out
			}
		}
	}
	return ClipMiddle(ref, w, width)
}

// Count renders n and a noun that takes an "s" in the plural: "1 event",
// "0 events", "12 blobs".
func Count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
