package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// unitMultiplier maps a unit suffix (lowercase) to its multiplier. K, M, G
// and T without a B are binary, as in most storage tools.
func unitMultiplier(unit string) (int64, bool) {
	switch unit {
	case "", "b":
		return 1, true
	case "k", "kib":
		return 1 << 10, true
	case "m", "mib":
		return 1 << 20, true
	case "g", "gib":
		return 1 << 30, true
	case "t", "tib":
		return 1 << 40, true
	case "kb":
		return 1e3, true
	case "mb":
		return 1e6, true
	case "gb":
		return 1e9, true
	case "tb":
		return 1e12, true
	}
	return 0, false
}

// ParseSize parses a byte size: a non-negative integer, optionally followed
// by a unit (B, KB, MB, GB, TB in powers of 1000; KiB, MiB, GiB, TiB and the
// short K, M, G, T in powers of 1024), case-insensitive, with optional space
// between number and unit. "64MiB" is 67108864.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a size (want a number of bytes, optionally with a unit: 1048576, 64MiB, 1GB)", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: number too large", s)
	}
	unit := strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := unitMultiplier(unit)
	if !ok {
		return 0, fmt.Errorf("%q is not a size: unknown unit %q (want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s, t[i:])
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size: too large", s)
	}
	return n * mult, nil
}
