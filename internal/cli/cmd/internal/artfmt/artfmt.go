// Package artfmt holds what the artifact commands share: human formatting
// of sizes and times, the parsers of their outside input (labels, inputs,
// times) and the transfer progress bar.
package artfmt

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/artifact-store/artstore/internal/cli/iostreams"
	"github.com/artifact-store/artstore/pkg/client"
)

// ProgressThreshold is the smallest transfer that gets a progress bar: below
// it a transfer is over before a bar would be readable.
const ProgressThreshold = 4 << 20

// ErrSyntax is matched (errors.Is) by every error of this package's
// parsers; their messages say what is allowed, without a generic prefix.
var ErrSyntax = errors.New("syntax error")

type syntaxError struct{ msg string }

func (e *syntaxError) Error() string        { return e.msg }
func (e *syntaxError) Is(target error) bool { return target == ErrSyntax }

func syntaxErrorf(format string, args ...any) error {
	return &syntaxError{msg: fmt.Sprintf(format, args...)}
}

// Time renders t in UTC to the second (RFC 3339), or "-" for the zero time.
func Time(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// LabelSyntax says what a label argument looks like; usage errors quote it.
const LabelSyntax = "want KEY=VALUE, where KEY starts with a letter or digit and may contain A-Z, a-z, 0-9, '.', '_', '-' and '/'"

// ParseLabels parses KEY=VALUE arguments. Only the syntax is checked here;
// the store checks the characters of keys and values. A key given twice is
// an error (the second would silently win).
func ParseLabels(args []string) (map[string]string, error) {
	out := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, syntaxErrorf("label %q: %s", a, LabelSyntax)
		}
		if _, dup := out[k]; dup {
			return nil, syntaxErrorf("label %q is given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// ParseInput parses a push --input argument: REF[=ROLE], where REF is an
// artifact reference or a raw content digest (sha256:<hex>).
func ParseInput(s string) (client.Input, error) {
	ref, role, hasRole := strings.Cut(s, "=")
	if ref == "" || (hasRole && role == "") {
		return client.Input{}, syntaxErrorf("input %q: want REF or REF=ROLE (REF: name:version, name:tag, name@sha256:..., an ID, or a raw sha256:<hex> digest; ROLE: a word such as source or config)", s)
	}
	in := client.Input{Role: role}
	if strings.HasPrefix(ref, "sha256:") {
		in.Digest = ref
	} else {
		in.Ref = ref
	}
	return in, nil
}

// ParseSince parses a --since value: an RFC 3339 time
// (2026-01-02T15:04:05Z), a date (2026-01-02, midnight UTC), or a duration
// meaning that long before now (90s, 30m, 24h, 7d, 2w; units may be
// combined: 1d12h).
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			// Stores keep times as nanoseconds since 1970 in an int64.
			if t.Year() < 1970 || t.Year() > 2261 {
				return time.Time{}, syntaxErrorf("time %q is out of range (want a year from 1970 to 2261)", s)
			}
			return t, nil
		}
	}
	d, err := parseDuration(s)
	if err != nil {
		return time.Time{}, syntaxErrorf("time %q: want a date (2026-01-02), an RFC 3339 time (2026-01-02T15:04:05Z) or an age such as 30m, 24h, 7d or 2w", s)
	}
	return now.Add(-d), nil
}

// parseDuration is time.ParseDuration plus the units d (24h) and w (7d),
// without signs or fractions.
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	units := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		j := i
		for j < len(s) && (s[j] < '0' || s[j] > '9') {
			j++
		}
		if i == 0 || i == j {
			return 0, errors.New("want NUMBER UNIT")
		}
		n, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil {
			return 0, err
		}
		u, ok := units[s[i:j]]
		if !ok {
			return 0, fmt.Errorf("unknown unit %q", s[i:j])
		}
		if total += time.Duration(n) * u; total < 0 || total > 100*365*24*time.Hour {
			return 0, errors.New("out of range")
		}
		s = s[j:]
	}
	return total, nil
}

// NameSyntax says what an artifact name looks like; messages quote it.
const NameSyntax = "names are segments of a-z, 0-9, '.', '_' and '-' separated by '/', e.g. reports/quarterly"

// Progress is a byte-count progress bar on stderr. A nil *Progress draws
// nothing, so callers need not check whether one was made.
type Progress struct {
	bar *progressbar.ProgressBar
}

// NewProgress returns a progress bar for a transfer of total bytes, or nil
// when none should be drawn: stderr is not a terminal, --quiet or --json is
// on, or the transfer is smaller than ProgressThreshold.
func NewProgress(ios *iostreams.IOStreams, jsonOut bool, total int64, desc string) *Progress {
	if !ios.ProgressEnabled() || jsonOut || total < ProgressThreshold {
		return nil
	}
	return &Progress{bar: newBar(ios.ErrOut, total, desc)}
}

func newBar(w io.Writer, total int64, desc string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
		progressbar.OptionSetRenderBlankState(true),
	)
}

// Set moves the bar to n bytes.
func (p *Progress) Set(n int64) {
	if p == nil {
		return
	}
	_ = p.bar.Set64(n)
}

// Done removes the bar from the terminal.
func (p *Progress) Done() {
	if p == nil {
		return
	}
	_ = p.bar.Finish()
}
