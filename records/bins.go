package records

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Bin value tags of EncodeBins.
const (
	tagInt   = 1
	tagStr   = 2
	tagBytes = 3
)

// EncodeBins packs bins (sorted by name) for stores that keep a record as bytes: the
// embedded store in memory and on disk. The bins are the record types' own: a value of
// another type than int64, string or []byte is a bug, and panics.
func EncodeBins(b Bins) []byte {
	p, err := Pack(b)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return p
}

// Pack packs bins like EncodeBins, and reports a bin it cannot pack (bins read from
// another store, whose types it does not control: a value of another type, a name longer
// than MaxBinName) as ErrCorrupt.
func Pack(b Bins) (Packed, error) { return pack(b, Fence{}, false) }

// PackFenced packs bins and a record's fence, in the bins FenceEpochBin and FenceCycleBin
// (replacing bins of those names in b): what Pack writes for a copy of b with the two
// bins set, without the copy (the embedded store packs every fenced record so).
func PackFenced(b Bins, f Fence) (Packed, error) { return pack(b, f, true) }

func pack(b Bins, f Fence, fenced bool) (Packed, error) {
	// The exact size, so that the record's allocation holds no slack: a store keeps the
	// slice as it is, and an estimate (12 bytes a bin) cost the embedded store ~40 B per
	// entry record (a bigger size class).
	size := 0
	var arr [16]string
	names := arr[:0]
	for n, v := range b {
		if fenced && (n == FenceEpochBin || n == FenceCycleBin) {
			continue
		}
		if len(n) > MaxBinName {
			return nil, fmt.Errorf("bin name %.20q is %d bytes, longer than %d: %w", n, len(n), MaxBinName, ErrCorrupt)
		}
		names = append(names, n)
		size += nameSize(n) + 1 // name (names.go), tag (< 128: one byte)
		switch x := v.(type) {
		case int64:
			size += uvarintLen(zigzag(x))
		case string:
			size += uvarintLen(uint64(len(x))) + len(x)
		case []byte:
			size += uvarintLen(uint64(len(x))) + len(x)
		}
	}
	if fenced {
		names = append(names, FenceEpochBin, FenceCycleBin)
		size += 2 + uvarintLen(zigzag(f.Epoch)) + 2 + uvarintLen(zigzag(f.Cycle)) // coded name, tag, value
	}
	size += uvarintLen(uint64(len(names)))
	slices.Sort(names)
	w := writer{b: make([]byte, 0, size)}
	w.u(uint64(len(names)))
	for _, n := range names {
		w.b = appendName(w.b, n)
		if fenced && (n == FenceEpochBin || n == FenceCycleBin) {
			x := f.Epoch
			if n == FenceCycleBin {
				x = f.Cycle
			}
			w.u(tagInt)
			w.i(x)
			continue
		}
		switch v := b[n].(type) {
		case int64:
			w.u(tagInt)
			w.i(v)
		case string:
			w.u(tagStr)
			w.u(uint64(len(v)))
			w.b = append(w.b, v...)
		case []byte:
			w.u(tagBytes)
			w.u(uint64(len(v)))
			w.b = append(w.b, v...)
		default:
			return nil, fmt.Errorf("bin %q holds %T; bins hold int64, string or []byte: %w", n, v, ErrCorrupt)
		}
	}
	return w.b, nil
}

// uvarintLen is the length of binary.AppendUvarint(nil, x).
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// zigzag is the unsigned form binary.AppendVarint writes for x.
func zigzag(x int64) uint64 {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return ux
}

// DecodeBins unpacks EncodeBins. Strings and byte slices are copies.
func DecodeBins(buf []byte) (Bins, error) { return decodeBins(buf, true) }

// DecodeBinsShared unpacks EncodeBins with []byte bins aliasing buf: for a store whose
// packed records are immutable, it saves copying every page of rows on every read. The
// caller must not modify the bytes it gets.
func DecodeBinsShared(buf []byte) (Bins, error) { return decodeBins(buf, false) }

func decodeBins(buf []byte, copyBytes bool) (Bins, error) {
	r := reader{b: buf}
	n := r.n()
	b := make(Bins, n)
	var prev string
	var prevCode byte
	for k := range n {
		name, code, rest, ok := readName(r.b)
		if !ok || k > 0 && !nameLess(prev, prevCode, name, code) {
			r.fail() // names are sorted and distinct (see CheckPacked)
			break
		}
		r.b = rest
		prev, prevCode = name, code
		if code == 0 { // a literal name aliases buf: intern the known ones, copy the others
			if c := codeOf(name); c != 0 {
				name = codedNames[c-codeBase]
			} else {
				name = strings.Clone(name)
			}
		}
		switch r.tag() {
		case tagInt:
			b[name] = r.i()
		case tagStr:
			b[name] = string(r.raw())
		case tagBytes:
			if v := r.raw(); copyBytes {
				b[name] = slices.Clone(v)
			} else {
				b[name] = v
			}
		default:
			r.fail()
		}
	}
	return b, r.done("bins")
}
