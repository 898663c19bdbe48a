//go:build !linux

package worker

import "unsafe"

// adviseHuge does nothing here: transparent huge pages are Linux's (replay_huge_linux.go).
func adviseHuge(p unsafe.Pointer, n uintptr) {}
