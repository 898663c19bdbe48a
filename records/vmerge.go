package records

import "encoding/binary"

// The versioned write in the coded form: a cycle's contest and page records (KeepPrev)
// merged with the stored version and the fence by their names' codes, as runs of bytes.
//
// A record whose bins all have coded names (every record this package packs, and every
// record the embedded store keeps once loaded: Canonical) sorts its bins by the codes'
// ranks (nameRank), so the merge compares bytes, not strings, and finds the stored
// version's current bins by code instead of by name. The planned record is a few
// segments: the new record's bins between two added ones as one run of its bytes, and
// each added bin (a p_ bin: its code and the stored bin's tag and value, copied as they
// are; a fence bin: its value, written as an int64 bin) as one segment. AppendTo then copies
// segments, not bins. Anything else (a literal name in either record, more bins than
// maxUnpacked, a malformed record) goes to the general merge (merge), which gives the
// same bytes and the same errors (TestCodedMerge).

// seg is a run of a planned record's bytes: code (when not 0) and then b, or, for b
// nil, an int64 bin of value i (a fence bin).
type seg struct {
	code byte
	b    []byte
	i    int64
}

// size is the segment's packed length.
func (s *seg) size() int {
	if s.b == nil {
		return 2 + uvarintLen(zigzag(s.i))
	}
	if s.code != 0 {
		return 1 + len(s.b)
	}
	return len(s.b)
}

// maxSegs bounds a coded merge's segments: at most 7 added bins (5 previous, 2 fence),
// each one segment, between at most 8 runs of the record's own bins.
const maxSegs = 16

// prevCodes[c-codeBase] is the code of the p_ bin that keeps the bin coded c (0: not
// versioned in any set); versionedIn tells which set versions it.
var prevCodes = func() (p [codeEnd - codeBase]byte) {
	p[codeCycle-codeBase] = codePCycle
	p[codeAsOf-codeBase] = codePAsOf
	p[codeTotal-codeBase] = codePTotal
	p[codeHist-codeBase] = codePHist
	p[codeRows-codeBase] = codePRows
	return p
}()

// versionedCode reports whether set's KeepPrev writes keep the bin coded c (PrevBins).
func versionedCode(set string, c byte) bool {
	switch set {
	case SetContest:
		return prevCodes[c-codeBase] != 0
	case SetPage:
		return c == codeCycle || c == codeRows
	}
	return false
}

// codedBin reads the bin at the start of b when its name is coded: its code, the
// length of the whole bin (code, tag, value) and ok. ok is false for a literal name and
// for a malformed bin: the general merge then reads it (and reports it).
func codedBin(b []byte) (code byte, n int, ok bool) {
	if len(b) < 3 { // a code, a tag, at least one byte of value
		return 0, 0, false
	}
	code = b[0]
	if code < codeBase || code >= codeEnd {
		return 0, 0, false
	}
	switch b[1] {
	case tagInt:
		if b[2] < 0x80 {
			return code, 3, true
		}
		_, m := binary.Varint(b[2:])
		if m <= 0 {
			return 0, 0, false
		}
		return code, 2 + m, true
	case tagStr, tagBytes:
		l, m := uint64(b[2]), 1
		if l >= 0x80 {
			if l, m = binary.Uvarint(b[2:]); m <= 0 {
				return 0, 0, false
			}
		}
		if l > uint64(len(b)-2-m) {
			return 0, 0, false
		}
		return code, 2 + m + int(l), true
	}
	return 0, 0, false
}

// planCoded plans the versioned write of r, packed as base, over old (not nil) in the
// coded form; ok is false when a record is not wholly coded and well formed (the
// caller then merges it by names).
func (m *Merge) planCoded(r *Record, base, old Packed) (ok bool) {
	// The stored version: its versioned bins, its fence, each bin checked.
	var extra [8]seg
	k := 0
	var oldFence Fence
	on, w := binary.Uvarint(old)
	if w <= 0 || on > maxUnpacked {
		return false
	}
	b := old[w:]
	var prevRank uint8
	for i := range int(on) {
		c, l, ok := codedBin(b)
		if !ok || i > 0 && nameRank[c-codeBase] <= prevRank {
			return false
		}
		prevRank = nameRank[c-codeBase]
		switch {
		case versionedCode(r.Set, c):
			extra[k] = seg{code: prevCodes[c-codeBase], b: b[1:l:l]}
			k++
		case (c == codeWEpoch || c == codeWCycle) && b[1] == tagInt:
			v, _ := binary.Varint(b[2:l]) // codedBin checked it
			if c == codeWEpoch {
				oldFence.Epoch = v
			} else {
				oldFence.Cycle = v
			}
		}
		b = b[l:]
	}
	if len(b) != 0 {
		return false
	}
	if !r.Fence.IsZero() {
		extra[k] = seg{code: codeWCycle, i: r.Fence.Cycle}
		extra[k+1] = seg{code: codeWEpoch, i: r.Fence.Epoch}
		k += 2
	}
	for i := 1; i < k; i++ { // by name (a coded name's rank), as merge sorts them
		for j := i; j > 0 && nameRank[extra[j].code-codeBase] < nameRank[extra[j-1].code-codeBase]; j-- {
			extra[j], extra[j-1] = extra[j-1], extra[j]
		}
	}
	// The new record's bins, merged with the added ones: a run of its bins up to the
	// next added bin is one segment; an added bin replaces a bin of its name.
	bn, w := binary.Uvarint(base)
	if w <= 0 || bn > maxUnpacked {
		return false
	}
	b = base[w:]
	nseg, cnt, size := 0, 0, 0
	run := -1 // the segment of the run being extended (-1: none)
	j := 0
	for i := range int(bn) {
		c, l, ok := codedBin(b)
		if !ok || i > 0 && nameRank[c-codeBase] <= prevRank {
			return false
		}
		rank := nameRank[c-codeBase]
		prevRank = rank
		for ; j < k && nameRank[extra[j].code-codeBase] <= rank; j++ {
			m.segs[nseg] = extra[j]
			nseg++
			cnt++
			size += extra[j].size()
			run = -1
		}
		if j > 0 && extra[j-1].code == c { // replaced by the added bin just written
			b = b[l:]
			continue
		}
		if run < 0 {
			run = nseg
			m.segs[nseg] = seg{b: b[:0]}
			nseg++
		}
		m.segs[run].b = m.segs[run].b[:len(m.segs[run].b)+l]
		cnt++
		size += l
		b = b[l:]
	}
	if len(b) != 0 {
		return false
	}
	for ; j < k; j++ {
		m.segs[nseg] = extra[j]
		nseg++
		cnt++
		size += extra[j].size()
	}
	m.nseg, m.n, m.size = nseg, cnt, uvarintLen(uint64(cnt))+size
	m.oldFence, m.oldRead = oldFence, true
	return true
}
