package records

import (
	"errors"
	"fmt"
)

// Fence is the epoch and cycle a write belongs to (DESIGN.md, "Ownership, cycles and
// fencing"). A store refuses a fenced write whose fence is older than the fence stored
// with the record it would replace: an older epoch, or the same epoch and an older
// cycle. An equal fence is accepted, so a retried write goes through. The zero Fence
// means "unfenced": the write always replaces the record (and clears its fence).
//
// Every store keeps a record's fence in two bins of its own, FenceEpochBin and
// FenceCycleBin, written with the record; the Aerospike sink checks them with a filter
// expression on the server, the embedded store and `leaderboard store` evaluate the same
// rule. A record without these bins accepts any write.
type Fence struct {
	Epoch int64
	Cycle int64
}

// Fence bins, stored beside a fenced record's own bins (Aerospike bin names are at most
// 15 characters).
const (
	FenceEpochBin = "w_epoch"
	FenceCycleBin = "w_cycle"
)

// IsZero reports an unfenced write.
func (f Fence) IsZero() bool { return f == Fence{} }

// Older reports whether f is older than g: a write fenced f may not replace a record
// fenced g.
func (f Fence) Older(g Fence) bool {
	return f.Epoch < g.Epoch || (f.Epoch == g.Epoch && f.Cycle < g.Cycle)
}

// StoredFence reads the fence kept in a record's bins (zero when it has none).
func StoredFence(b Bins) Fence {
	return Fence{Epoch: b.Int(FenceEpochBin), Cycle: b.Int(FenceCycleBin)}
}

// ErrFenced is wrapped by the error a store returns when it refused some fenced writes
// because the stored records carry a newer fence: the writer has lost ownership of them
// or is behind. The other records of the same Put were written.
var ErrFenced = errors.New("write refused: the stored record has a newer epoch or cycle")

// FencedError names the refused records of one Put.
type FencedError struct {
	Namespace string
	Set, Key  string // the first refused record
	Fence     Fence  // the fence the write carried
	Stored    Fence  // the fence found on the stored record (zero if the store does not say)
	Count     int    // how many records of the Put were refused
}

func (e *FencedError) Error() string {
	return fmt.Sprintf("%d record(s) refused in %s, first %s/%s: write epoch %d cycle %d is older than stored epoch %d cycle %d",
		e.Count, e.Namespace, e.Set, e.Key, e.Fence.Epoch, e.Fence.Cycle, e.Stored.Epoch, e.Stored.Cycle)
}

func (e *FencedError) Unwrap() error { return ErrFenced }
