package hugepage

import "golang.org/x/sys/unix"

const pageSize = 4096

// advise calls madvise(MADV_HUGEPAGE) on the whole pages inside [start, start+n).
func advise(start, n uintptr) {
	lo := (start + pageSize - 1) &^ (pageSize - 1)
	hi := (start + n) &^ (pageSize - 1)
	if hi <= lo {
		return
	}
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_HUGEPAGE)
}
