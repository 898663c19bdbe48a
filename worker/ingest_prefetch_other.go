//go:build !amd64

package worker

import "unsafe"

// prefetch does nothing where the worker has no prefetch instruction written for the
// architecture: touchAhead's hint is lost, nothing else changes.
func prefetch(unsafe.Pointer) {}

// prefetchAll is prefetch of every pointer of ps: nothing here.
func prefetchAll([]unsafe.Pointer) {}
