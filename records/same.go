package records

import (
	"bytes"
	"encoding/binary"
)

// Same reports whether the record m planned (Plan) has the bins of stored, a packed
// record, but for the values of the fence bins (FenceEpochBin, FenceCycleBin), and, when
// it has, stored's fence (zero when it has none): a store asked to write it only if it
// changed (Record.IfChanged) keeps stored then. A planned tail write (an entry or user
// record of this package's packers, Merge.planTail) is compared as bytes: stored's count
// and then the same body, followed by nothing but the fence's two bins when fenced, whose
// values are read there (not by a scan of stored: Packed.Fence). Any other plan is packed
// into scratch (returned grown, for reuse) and compared bin by bin. A malformed stored
// record is never the same.
func (m *Merge) Same(stored Packed, scratch []byte) (same bool, fence Fence, _ []byte) {
	if m.tail {
		n, k := binary.Uvarint(stored)
		if k <= 0 || n != uint64(m.n) || len(stored)-k < len(m.body) || !bytes.Equal(stored[k:k+len(m.body)], m.body) {
			return false, Fence{}, scratch
		}
		rest := stored[k+len(m.body):]
		if m.fence.IsZero() {
			return len(rest) == 0, Fence{}, scratch
		}
		fence, ok := fenceTail(rest)
		return ok, fence, scratch
	}
	scratch = m.AppendTo(scratch[:0])
	if !SameBins(scratch, stored) {
		return false, Fence{}, scratch
	}
	return true, stored.Fence(), scratch
}

// fenceTail reads b as exactly the fence's two bins, coded (what a tail write appends
// after its body): ok is false for anything else.
func fenceTail(b []byte) (f Fence, ok bool) {
	for _, code := range [2]byte{codeWCycle, codeWEpoch} {
		if len(b) < 3 || b[0] != code || b[1] != tagInt {
			return Fence{}, false
		}
		v, k := binary.Varint(b[2:])
		if k <= 0 {
			return Fence{}, false
		}
		if code == codeWCycle {
			f.Cycle = v
		} else {
			f.Epoch = v
		}
		b = b[2+k:]
	}
	return f, len(b) == 0
}

// SameBins reports whether packed records a and b hold the same bins (names, types and
// values) but for the values of the fence bins, which either may lack only when the
// other does too. A malformed record is never the same.
func SameBins(a, b Packed) bool {
	na, ka := binary.Uvarint(a)
	nb, kb := binary.Uvarint(b)
	if ka <= 0 || kb <= 0 || na != nb || na > uint64(len(a)) {
		return false
	}
	x, y := a[ka:], b[kb:]
	for range na {
		xn, _, xv, xr, ok := nextBin(x)
		if !ok {
			return false
		}
		yn, _, yv, yr, ok := nextBin(y)
		if !ok || xn != yn {
			return false
		}
		if xn == FenceEpochBin || xn == FenceCycleBin {
			if xv[0] != tagInt || yv[0] != tagInt {
				return false
			}
		} else if !bytes.Equal(xv, yv) {
			return false
		}
		x, y = xr, yr
	}
	return len(x) == 0 && len(y) == 0
}
