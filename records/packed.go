package records

import "fmt"

// Fields reads a record's bins by name: Bins (a map, as a remote store answers) and Packed
// (the embedded store's bytes, read in place) both do. An absent bin, or one of another
// type, reads as the zero value; the typed decoders (MatchFrom, EntryFrom, ...) then fail
// or check what they read.
type Fields interface {
	Int(name string) int64
	Str(name string) string
	Bytes(name string) []byte
}

// Packed is a record packed by EncodeBins and read without unpacking it: each getter scans
// the record's few bins (8 at most), so a read builds no map and copies no bytes. That is
// the API's read path against the embedded store, where building a Bins map per record
// was a tenth of a look-up's CPU.
//
// Bytes returns slices of the record: a Packed lent by a store must not be modified.
// A malformed record reads as if the bins past the damage were absent; CheckPacked tells.
type Packed []byte

// CheckPacked reports whether buf is a well-formed packed record, without allocating.
func CheckPacked(buf []byte) error {
	r := reader{b: buf}
	var prev []byte
	for k := range r.n() {
		name := r.raw()
		if k > 0 && string(name) <= string(prev) {
			r.fail() // names are sorted and distinct: a reader finds the one bin of a name
		}
		prev = name
		switch r.u() {
		case tagInt:
			r.i()
		case tagStr, tagBytes:
			r.raw()
		default:
			r.fail()
		}
	}
	return r.done("bins")
}

// find returns the reader positioned at the value of bin name if it holds tag.
func (p Packed) find(name string, tag uint64) (reader, bool) {
	r := reader{b: p}
	for range r.n() {
		nl := r.n()
		match := string(r.b[:nl]) == name // compiles to a comparison, no allocation
		r.b = r.b[nl:]
		t := r.u()
		if match {
			return r, t == tag && r.err == nil
		}
		switch t {
		case tagInt:
			r.i()
		case tagStr, tagBytes:
			r.raw()
		default:
			return r, false
		}
		if r.err != nil {
			return r, false
		}
	}
	return r, false
}

// Int reads an int64 bin.
func (p Packed) Int(name string) int64 {
	r, ok := p.find(name, tagInt)
	if !ok {
		return 0
	}
	v := r.i()
	if r.err != nil {
		return 0
	}
	return v
}

// Bytes reads a []byte bin: a slice of p.
func (p Packed) Bytes(name string) []byte {
	r, ok := p.find(name, tagBytes)
	if !ok {
		return nil
	}
	return r.raw()
}

// Str reads a string bin. The match states come back as the package's constants, so
// reading a match record allocates no string.
func (p Packed) Str(name string) string {
	r, ok := p.find(name, tagStr)
	if !ok {
		return ""
	}
	return internState(r.raw())
}

// internState returns a string bin's value, the match states as the package's constants
// (no allocation), anything else as a copy.
func internState(b []byte) string {
	for _, s := range [...]string{StateLive, StateCompleted, StateScheduled} {
		if string(b) == s {
			return s
		}
	}
	return string(b)
}

// raw reads a length-prefixed value without copying it.
func (r *reader) raw() []byte {
	k := r.n()
	if r.err != nil {
		return nil
	}
	v := r.b[:k:k]
	r.b = r.b[k:]
	return v
}

// maxUnpacked is the most bins Unpacked holds: a contest record has 15 (8, the 5 of its
// previous version, the 2 of its fence).
const maxUnpacked = 20

// Unpacked is a packed record's bins read in one pass, for a decoder that reads several
// of them (MatchFrom, ContestFrom, ...): each getter then compares names instead of
// rescanning the record. It refers to the record's bytes and allocates nothing.
type Unpacked struct {
	n    int
	bins [maxUnpacked]unpackedBin
}

type unpackedBin struct {
	name []byte
	tag  uint64
	i    int64
	b    []byte
}

// Reset reads p's bins. A malformed record, or one of more than maxUnpacked bins, is
// ErrCorrupt.
func (u *Unpacked) Reset(p Packed) error {
	u.n = 0
	r := reader{b: p}
	n := r.n()
	if n > maxUnpacked {
		return fmt.Errorf("bins: %d bins: %w", n, ErrCorrupt)
	}
	for k := range n {
		bin := &u.bins[k]
		bin.name = r.raw()
		bin.tag = r.u()
		switch bin.tag {
		case tagInt:
			bin.i, bin.b = r.i(), nil
		case tagStr, tagBytes:
			bin.i, bin.b = 0, r.raw()
		default:
			r.fail()
		}
		if k > 0 && string(bin.name) <= string(u.bins[k-1].name) {
			r.fail() // see CheckPacked
		}
	}
	if err := r.done("bins"); err != nil {
		return err
	}
	u.n = n
	return nil
}

func (u *Unpacked) find(name string, tag uint64) *unpackedBin {
	for k := range u.n {
		if b := &u.bins[k]; string(b.name) == name {
			if b.tag == tag {
				return b
			}
			return nil
		}
	}
	return nil
}

// Int reads an int64 bin.
func (u *Unpacked) Int(name string) int64 {
	if b := u.find(name, tagInt); b != nil {
		return b.i
	}
	return 0
}

// Bytes reads a []byte bin: a slice of the record.
func (u *Unpacked) Bytes(name string) []byte {
	if b := u.find(name, tagBytes); b != nil {
		return b.b
	}
	return nil
}

// Str reads a string bin, the match states without allocating (see Packed.Str).
func (u *Unpacked) Str(name string) string {
	if b := u.find(name, tagStr); b != nil {
		return internState(b.b)
	}
	return ""
}

// Fence reads the record's fence bins (FenceEpochBin, FenceCycleBin) in one pass: what
// Int reads for each, without scanning the record twice (the embedded store checks the
// stored fence of every fenced write).
func (p Packed) Fence() Fence {
	var f Fence
	r := reader{b: p}
	for range r.n() {
		name := r.raw()
		switch r.u() {
		case tagInt:
			v := r.i()
			if r.err != nil {
				return f
			}
			switch string(name) {
			case FenceEpochBin:
				f.Epoch = v
			case FenceCycleBin:
				f.Cycle = v
			}
		case tagStr, tagBytes:
			r.raw()
		default:
			return f
		}
		if r.err != nil {
			return f
		}
	}
	return f
}
