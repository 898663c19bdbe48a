package records

import (
	"encoding/binary"
	"fmt"
)

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
	_, err := scanBins(buf)
	return err
}

// Canonical checks p as CheckPacked does and returns it in the form writers write: p
// itself, or, for a record that names a well-known bin literally (packed by a build
// before the codes, names.go), a new record of the same bins with the names coded. A
// store that loads records saved by an older build keeps them so.
func Canonical(p Packed) (Packed, error) {
	s, err := scanBins(p)
	if err != nil || !s.literalKnown {
		return p, err
	}
	return PackWrite(Record{Packed: p}, nil)
}

// scanned is what scanBins learns of a well-formed record.
type scanned struct {
	n        int    // bins
	body     []byte // the bins after the count
	last     string // the last bin's name ("" when none)
	lastCode byte   // its code (0: literal)
	// literalKnown: some bin has a well-known name written literally (a record packed by
	// an older build): writing it again codes the name.
	literalKnown bool
}

// scanBins checks that buf is a well-formed packed record, as CheckPacked, without
// allocating, and reports its bins' count, body and last name.
func scanBins(buf []byte) (scanned, error) {
	var s scanned
	n, k := binary.Uvarint(buf)
	if k <= 0 || n > uint64(len(buf)-k) { // every bin takes >= 1 byte
		return s, fmt.Errorf("bins: %w", ErrCorrupt)
	}
	s.n, s.body = int(n), buf[k:]
	b := s.body
	for i := range s.n {
		name, code, val, rest, ok := nextBin(b)
		if !ok || i > 0 && !nameLess(s.last, s.lastCode, name, code) {
			// names are sorted and distinct: a reader finds the one bin of a name
			return s, fmt.Errorf("bins: %w", ErrCorrupt)
		}
		_ = val
		if code == 0 && codeOf(name) != 0 {
			s.literalKnown = true
		}
		s.last, s.lastCode = name, code
		b = rest
	}
	if len(b) != 0 {
		return s, fmt.Errorf("bins: %w", ErrCorrupt)
	}
	return s, nil
}

// find returns the reader positioned at the value of bin name if it holds tag.
func (p Packed) find(name string, tag uint64) (reader, bool) {
	r := reader{b: p}
	for range r.n() {
		bn, _, rest, ok := readName(r.b)
		if !ok {
			return r, false
		}
		r.b = rest
		t := r.tag()
		if bn == name { // a coded name is the package's constant: a length check first
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

// tag reads a bin's type tag: one byte, as writers write it (nextBin reads it so too).
func (r *reader) tag() uint64 {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	t := r.b[0]
	r.b = r.b[1:]
	return uint64(t)
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
	name string // aliases the record when written literally
	code byte   // 0: literal
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
		var ok bool
		var rest []byte
		if bin.name, bin.code, rest, ok = readName(r.b); !ok {
			r.fail()
			break
		}
		r.b = rest
		bin.tag = r.tag()
		switch bin.tag {
		case tagInt:
			bin.i, bin.b = r.i(), nil
		case tagStr, tagBytes:
			bin.i, bin.b = 0, r.raw()
		default:
			r.fail()
		}
		if k > 0 && !nameLess(u.bins[k-1].name, u.bins[k-1].code, bin.name, bin.code) {
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
		if b := &u.bins[k]; b.name == name {
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
		name, code, rest, ok := readName(r.b)
		if !ok {
			return f
		}
		r.b = rest
		switch r.tag() {
		case tagInt:
			v := r.i()
			if r.err != nil {
				return f
			}
			switch {
			case code == codeWEpoch || code == 0 && name == FenceEpochBin:
				f.Epoch = v
			case code == codeWCycle || code == 0 && name == FenceCycleBin:
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
