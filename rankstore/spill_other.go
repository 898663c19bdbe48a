//go:build !linux

package rankstore

import "errors"

// spill: a disk namespace's slab file (spill_linux.go). Elsewhere a disk namespace is
// held in memory, as the live one is.
type spill struct{}

func newSpill(string) (*spill, error) { return nil, nil }

func (*spill) chunk() ([]byte, error) { return nil, errors.New("no slab file on this platform") }
func (*spill) touch(int)              {}
func (*spill) evict()                 {}
func (*spill) size() int64            { return 0 }
func (*spill) close()                 {}
func (*spill) drop([]byte)            {}
func (*spill) readAhead([]byte)       {}
