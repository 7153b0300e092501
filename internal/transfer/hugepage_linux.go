package transfer

import "golang.org/x/sys/unix"

// hugePageMin: a buffer smaller than this does not get huge pages; a
// small transfer would have its one huge page zeroed for the few bytes it
// uses.
const hugePageMin = 4 << 20

// hugePages asks the kernel to back b, an anonymous mapping, with
// transparent huge pages. With transparent_hugepage set to "madvise" (a
// common default) a mapping gets them only when asked; with "never" the
// request is ignored. Failure changes nothing but speed, so it is not
// reported.
func hugePages(b []byte) {
	if len(b) >= hugePageMin {
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	}
}
