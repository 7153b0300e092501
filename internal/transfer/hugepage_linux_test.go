package transfer

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// TestBigBufferHugePages checks that a large pipeline buffer is a mapping
// the kernel may back with transparent huge pages, and a small one is not
// asked to be, by the THPeligible line of the mapping in /proc/self/smaps.
func TestBigBufferHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		t.Skipf("transparent huge pages are not configurable here: %v", err)
	}
	if strings.Contains(string(mode), "[never]") {
		t.Skip("transparent huge pages are disabled on this machine (transparent_hugepage/enabled is never)")
	}
	always := strings.Contains(string(mode), "[always]")
	for _, tc := range []struct {
		size int
		want bool
	}{
		{24 << 20, true},
		{hugePageMin, true},
		{1 << 20, always}, // not asked for; eligible only when the system gives them to every mapping
	} {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			buf, release := bigBuffer(tc.size)
			defer release()
			buf[0] = 1
			got, err := thpEligible(uintptr(unsafe.Pointer(&buf[0])))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("a %d-byte buffer: THPeligible %v, want %v (transparent_hugepage/enabled: %s)", tc.size, got, tc.want, strings.TrimSpace(string(mode)))
			}
		})
	}
}

// thpEligible reads the THPeligible line of the mapping of /proc/self/smaps
// that holds addr.
func thpEligible(addr uintptr) (bool, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	in := false
	for s.Scan() {
		line := s.Text()
		if f := strings.Fields(line); len(f) > 0 && !strings.HasSuffix(f[0], ":") { // a mapping's first line
			var lo, hi uintptr
			if _, err := fmt.Sscanf(f[0], "%x-%x", &lo, &hi); err != nil {
				return false, fmt.Errorf("/proc/self/smaps: %q: %w", line, err)
			}
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "THPeligible:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "THPeligible:")) == "1", nil
		}
	}
	if err := s.Err(); err != nil {
		return false, err
	}
	return false, fmt.Errorf("no THPeligible line for the mapping at %#x in /proc/self/smaps", addr)
}
