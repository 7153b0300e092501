// Package textfmt renders values and untrusted text for people: byte sizes,
// text safe to print on a terminal, and text clipped for messages. It is
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
