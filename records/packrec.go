package records

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The write path without maps. The record types a cycle writes by the hundred thousand
// (contest, page, entry, user) are packed straight into their EncodeBins form: their bin
// names are known and sorted here, each record's size is computed exactly, and a writer
// encodes rows and histograms from its own columns (RowsEncoder, HistEncoder), so no
// Bins map, no []Row and no sort of names is built per record. A store then adds the
// fence and, for a versioned write, the stored record's previous version by merging
// packed bins byte for byte (PackWrite), without decoding either record into a map. The
// bytes are exactly those of Pack / PackFenced for the same bins (TestPackedRecords).

// BinMap returns r's bins as a map: r.Bins, or r.Packed unpacked (a copy), for a writer
// that sends bins one by one (the Aerospike sink).
func (r Record) BinMap() (Bins, error) {
	if r.Packed == nil {
		return r.Bins, nil
	}
	b, err := DecodeBins(r.Packed)
	if err != nil {
		return nil, fmt.Errorf("record %s/%s: %w", r.Set, r.Key, err)
	}
	return b, nil
}

// packer appends bins in the EncodeBins form. Callers append them in name order, by
// their codes (names.go).
type packer struct{ b []byte }

func newPacker(bins, size int) packer {
	p := packer{b: make([]byte, 0, uvarintLen(uint64(bins))+size)}
	p.b = binary.AppendUvarint(p.b, uint64(bins))
	return p
}

func (p *packer) int(code byte, v int64) {
	p.b = appendUvarint(append(p.b, code, tagInt), zigzag(v)) // binary.AppendVarint's bytes, unrolled (packfast.go)
}

// bytesHead appends a []byte bin's name, tag and length; the caller appends n bytes.
func (p *packer) bytesHead(code byte, n int) {
	p.b = appendUvarint(append(p.b, code, tagBytes), uint64(n))
}

// intSize and bytesSize are the packed sizes of an int64 bin and of a []byte bin of n
// bytes with a coded name.
func intSize(v int64) int { return 2 + uvarintLen(zigzag(v)) }
func bytesSize(n int) int { return 2 + uvarintLen(uint64(n)) + n }

// RowsEncoder encodes a page of rows exactly as EncodeRows does, one row at a time, so a
// writer encodes from its own columns without building a []Row. The zero value is
// ready; Reset reuses its buffer for another page.
type RowsEncoder struct {
	n                 int
	prevRank, prevPts int64
	body              []byte // the rows after the count
}

// Reset empties the encoder, keeping its buffer.
func (e *RowsEncoder) Reset() { e.n, e.body = 0, e.body[:0] }

// Add appends a row (rows come in display order: ranks never fall, points never rise).
func (e *RowsEncoder) Add(r Row) {
	if e.n == 0 {
		e.body = binary.AppendUvarint(e.body, uint64(r.Rank))
		e.body = binary.AppendVarint(e.body, r.Points)
	} else {
		e.body = binary.AppendUvarint(e.body, uint64(r.Rank-e.prevRank))
		e.body = binary.AppendUvarint(e.body, uint64(e.prevPts-r.Points))
	}
	e.body = binary.AppendVarint(e.body, r.EntryID)
	e.body = binary.AppendVarint(e.body, r.UserID)
	e.body = binary.AppendVarint(e.body, r.TeamID)
	e.prevRank, e.prevPts = r.Rank, r.Points
	e.n++
}

// Len is the length of the encoded rows.
func (e *RowsEncoder) Len() int { return uvarintLen(uint64(e.n)) + len(e.body) }

func (e *RowsEncoder) appendTo(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(e.n))
	return append(b, e.body...)
}

// Bytes returns the encoded rows (a new slice): what EncodeRows returns for them.
func (e *RowsEncoder) Bytes() []byte { return e.appendTo(make([]byte, 0, e.Len())) }

// HistEncoder encodes a contest's histogram exactly as EncodeHist does from the points
// of its entries in display order (descending), one entry at a time. The zero value is
// ready; Reset reuses its buffer.
type HistEncoder struct {
	n    int   // closed buckets
	prev int64 // the points of the last closed bucket
	cur  Bucket
	open bool
	body []byte // the closed buckets after the count
}

// Reset empties the encoder, keeping its buffer.
func (e *HistEncoder) Reset() { *e = HistEncoder{body: e.body[:0]} }

// Add counts one entry's points (points never rise from one call to the next).
func (e *HistEncoder) Add(points int64) {
	if e.open && e.cur.Points == points {
		e.cur.Count++
		return
	}
	e.close()
	e.cur, e.open = Bucket{Points: points, Count: 1}, true
}

func (e *HistEncoder) close() {
	if !e.open {
		return
	}
	if e.n == 0 {
		e.body = binary.AppendVarint(e.body, e.cur.Points)
	} else {
		e.body = binary.AppendUvarint(e.body, uint64(e.prev-e.cur.Points))
	}
	e.body = binary.AppendUvarint(e.body, uint64(e.cur.Count))
	e.prev, e.n, e.open = e.cur.Points, e.n+1, false
}

// Len is the length of the encoded histogram (it closes the last bucket: call it after
// the last Add).
func (e *HistEncoder) Len() int {
	e.close()
	return uvarintLen(uint64(e.n)) + len(e.body)
}

func (e *HistEncoder) appendTo(b []byte) []byte {
	e.close()
	b = binary.AppendUvarint(b, uint64(e.n))
	return append(b, e.body...)
}

// Bytes returns the encoded histogram (a new slice): what EncodeHist returns.
func (e *HistEncoder) Bytes() []byte { return e.appendTo(make([]byte, 0, e.Len())) }

// ContestHead is a contest record's scalar bins.
type ContestHead struct {
	ID, Match, Cycle, AsOf, Total, PageSize int64
}

// PackContest packs a SetContest record: what EncodeBins gives for Contest.Record with
// the histogram and first page encoded by hist and rows.
func PackContest(h ContestHead, hist *HistEncoder, rows *RowsEncoder) Packed {
	hl, rl := hist.Len(), rows.Len()
	return appendContest(make([]byte, 0, contestSize(h, hl, rl)), h, hist, hl, rows, rl)
}

// contestSize is the length of a packed SetContest record whose histogram and rows
// encode to hl and rl bytes.
func contestSize(h ContestHead, hl, rl int) int {
	return uvarintLen(8) + intSize(h.AsOf) + intSize(h.Cycle) + bytesSize(hl) + intSize(h.ID) +
		intSize(h.Match) + intSize(h.PageSize) + bytesSize(rl) + intSize(h.Total)
}

// appendContest appends the packed SetContest record (PackContest, Arena.Contest) to b,
// which has room for it; hl and rl are hist's and rows' lengths.
func appendContest(b []byte, h ContestHead, hist *HistEncoder, hl int, rows *RowsEncoder, rl int) []byte {
	p := packer{b: append(b, 8)} // the bin count
	p.int(codeAsOf, h.AsOf)
	p.int(codeCycle, h.Cycle)
	p.bytesHead(codeHist, hl)
	p.b = hist.appendTo(p.b)
	p.int(codeID, h.ID)
	p.int(codeMatch, h.Match)
	p.int(codePageSize, h.PageSize)
	p.bytesHead(codeRows, rl)
	p.b = rows.appendTo(p.b)
	p.int(codeTotal, h.Total)
	return p.b
}

// PackedRecord is Record with the bins packed (Record.Packed) instead of a map.
func (c Contest) PackedRecord() Record {
	var hist HistEncoder
	for _, b := range c.Hist {
		for range b.Count {
			hist.Add(b.Points)
		}
	}
	var rows RowsEncoder
	for _, r := range c.First {
		rows.Add(r)
	}
	return Record{Set: SetContest, Key: IDKey(c.ID), Packed: PackContest(ContestHead{c.ID, c.Match, c.Cycle, c.AsOf, c.Total, c.PageSize}, &hist, &rows)}
}

// PackPage packs a SetPage record: what EncodeBins gives for Page.Record with the rows
// encoded by rows.
func PackPage(contest int64, page int, cycle int64, rows *RowsEncoder) Packed {
	rl := rows.Len()
	return appendPage(make([]byte, 0, pageSize(contest, page, cycle, rl)), contest, page, cycle, rows, rl)
}

// pageSize is the length of a packed SetPage record whose rows encode to rl bytes.
func pageSize(contest int64, page int, cycle int64, rl int) int {
	return uvarintLen(4) + intSize(contest) + intSize(cycle) + intSize(int64(page)) + bytesSize(rl)
}

// appendPage appends the packed SetPage record (PackPage, Arena.Page) to b, which has
// room for it; rl is rows' length.
func appendPage(b []byte, contest int64, page int, cycle int64, rows *RowsEncoder, rl int) []byte {
	p := packer{b: append(b, 4)} // the bin count
	p.int(codeContest, contest)
	p.int(codeCycle, cycle)
	p.int(codePage, int64(page))
	p.bytesHead(codeRows, rl)
	p.b = rows.appendTo(p.b)
	return p.b
}

// PackedRecord is Record with the bins packed (Record.Packed) instead of a map.
func (p Page) PackedRecord() Record {
	var rows RowsEncoder
	for _, r := range p.Rows {
		rows.Add(r)
	}
	return Record{Set: SetPage, Key: PageKey(p.Contest, p.No), Packed: PackPage(p.Contest, p.No, p.Cycle, &rows)}
}

// Pack packs the entry's SetEntry record: what EncodeBins gives for e.Record().Bins.
func (e Entry) Pack() Packed {
	ll := lineupSize(e.Lineup)
	p := newPacker(7, intSize(e.Contest)+intSize(e.ID)+bytesSize(ll)+intSize(e.Match)+
		intSize(int64(e.Part))+intSize(e.Team)+intSize(e.User))
	p.int(codeContest, e.Contest)
	p.int(codeID, e.ID)
	p.bytesHead(codeLineup, ll)
	w := writer{b: p.b}
	w.lineup(e.Lineup)
	p.b = w.b
	p.int(codeMatch, e.Match)
	p.int(codePart, int64(e.Part))
	p.int(codeTeam, e.Team)
	p.int(codeUser, e.User)
	return p.b
}

// PackedRecord is Record with the bins packed (Record.Packed) instead of a map.
func (e Entry) PackedRecord() Record {
	return Record{Set: SetEntry, Key: IDKey(e.ID), Packed: e.Pack()}
}

// Pack packs the user's SetUser record: what EncodeBins gives for u.Record().Bins.
func (u User) Pack() Packed {
	el := u.entsSize()
	p := newPacker(4, bytesSize(el)+intSize(u.Match)+intSize(int64(u.Part))+intSize(u.User))
	p.bytesHead(codeEnts, el)
	w := writer{b: p.b}
	w.userEnts(u.Entries)
	p.b = w.b
	p.int(codeMatch, u.Match)
	p.int(codePart, int64(u.Part))
	p.int(codeUser, u.User)
	return p.b
}

// PackedRecord is Record with the bins packed (Record.Packed) instead of a map.
func (u User) PackedRecord() Record {
	return Record{Set: SetUser, Key: UserKey(u.Match, u.User, u.Part), Packed: u.Pack()}
}

// rawBin is one bin of a packed record, read in place: its name, and its tag and value
// as packed.
type rawBin struct {
	name string // a coded name's constant, or a literal one aliasing the record's bytes (which PackWrite does not modify)
	code byte   // the code it is written with (0: literally, a name without one)
	val  []byte // nil: an int64 bin of value i (a fence bin)
	i    int64
}

// size is the packed length of the bin: name, tag and value.
func (b *rawBin) size() int {
	n := 1
	if b.code == 0 {
		n += len(b.name)
	}
	if b.val == nil {
		return n + 1 + uvarintLen(zigzag(b.i))
	}
	return n + len(b.val)
}

// errTooMany: a record of more bins than splitBins holds (PackWrite then goes through
// maps).
var errTooMany = errors.New("more bins than a packed merge holds")

// splitBins reads the bins of packed record p into dst, checking it as CheckPacked does.
// A well-known name written literally (a record of an older build) gets its code, so
// that it is written coded.
func splitBins(p []byte, dst *[maxUnpacked]rawBin) (int, error) {
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return 0, fmt.Errorf("bins: %w", ErrCorrupt)
	}
	if n > maxUnpacked {
		return 0, errTooMany
	}
	b := p[k:]
	for i := range int(n) {
		name, code, val, rest, ok := nextBin(b)
		if !ok || i > 0 && !nameLess(dst[i-1].name, dst[i-1].code, name, code) {
			return 0, fmt.Errorf("bins: %w", ErrCorrupt) // names are sorted and distinct
		}
		dst[i] = rawBin{name: name, code: code, val: val}
		b = rest
	}
	for i := range int(n) {
		if dst[i].code == 0 {
			dst[i].code = codeOf(dst[i].name)
		}
	}
	if len(b) != 0 {
		return 0, fmt.Errorf("bins: %w", ErrCorrupt)
	}
	return int(n), nil
}

// nextBin reads the bin at the start of b: its name and code (readName), its tag and
// value as packed, and the bytes after it (ok false for a malformed bin). A hot path:
// one-byte lengths (every name, most values) are read without a call.
func nextBin(b []byte) (name string, code byte, val, rest []byte, ok bool) {
	name, code, v, ok := readName(b)
	if !ok || len(v) == 0 { // the name and at least a tag
		return "", 0, nil, nil, false
	}
	switch v[0] {
	case tagInt:
		if len(v) > 1 && v[1] < 0x80 {
			val = v[:2:2]
		} else if _, m := binary.Varint(v[1:]); m > 0 {
			val = v[: 1+m : 1+m]
		}
	case tagStr, tagBytes:
		l, m := uint64(0), 1
		if len(v) > 1 && v[1] < 0x80 {
			l = uint64(v[1])
		} else if l, m = binary.Uvarint(v[1:]); m <= 0 {
			return "", 0, nil, nil, false
		}
		if l <= uint64(len(v)-1-m) {
			val = v[: 1+m+int(l) : 1+m+int(l)]
		}
	}
	if val == nil {
		return "", 0, nil, nil, false
	}
	return name, code, val, v[len(val):], true
}

// PackWrite packs what a store keeps for the write r: its bins (r.Packed as they are, or
// r.Bins packed), its fence in FenceEpochBin and FenceCycleBin when it is fenced
// (replacing bins of those names), and, given old (the stored record a KeepPrev write
// replaces), old's PrevBins under their PrevName bins (a bin old lacks is left out;
// they replace bins of those names in r). The bytes are exactly Pack's for that union of
// bins; a packed r is merged with old and the fence byte for byte, without a map.
func PackWrite(r Record, old Packed) (Packed, error) {
	var m Merge
	if err := m.Plan(r, old); err != nil {
		return nil, err
	}
	return m.AppendTo(make([]byte, 0, m.Len())), nil
}

// Merge is PackWrite in two steps, for a store that packs a record straight into its
// own memory: Plan reads the bins and sizes the record, AppendTo writes it. It refers
// to r's and old's bytes (which must not change until AppendTo) and to itself: do not
// copy a planned Merge.
type Merge struct {
	n, size int
	bins    [maxUnpacked + 8]rawBin
	whole   Packed // a record packed whole by Plan (from maps), written as it is
	// tail: a packed record that takes nothing from a stored one (a first write, a set
	// that is not versioned), in the coded form, whose bins all sort before the fence's:
	// written as its n bins (body, as they are) and then, when fenced, the fence's two.
	// Most of a cold start's writes (entry and user records) go so, without splitting
	// the record into bins (planTail).
	tail  bool
	body  []byte
	fence Fence
	// oldFence is old's fence, when Plan read old (oldRead): a store checks it without
	// scanning old again.
	oldFence Fence
	oldRead  bool
	// coded: a versioned write planned in the coded form (vmerge.go), written as its
	// nseg segments.
	coded bool
	nseg  int
	segs  [maxSegs]seg
}

// OldFence returns the fence bins of the stored record Plan merged (records.Fence, zero
// when it has none); ok is false when Plan did not read it (no old, a set that is not
// versioned, a record packed through maps).
func (m *Merge) OldFence() (Fence, bool) { return m.oldFence, m.oldRead }

// Plan prepares the write of r over old (see PackWrite).
func (m *Merge) Plan(r Record, old Packed) error { return m.PlanRecord(&r, old) }

// PlanRecord is Plan of *r, for a store that plans a batch's records where they lie: a
// Record is 88 bytes, and Plan's copy of it (and of it again inside) was about a third
// of a first write's plan (docs/PERFORMANCE.md, "The cold start's first cycle"). It reads
// r and keeps none of it but its Packed bytes (as Plan); r must not change until AppendTo.
func (m *Merge) PlanRecord(r *Record, old Packed) error {
	m.n, m.size, m.whole, m.tail, m.body, m.fence, m.oldFence, m.oldRead = 0, 0, nil, false, nil, Fence{}, Fence{}, false
	m.coded, m.nseg = false, 0
	if r.Packed == nil && old == nil {
		var err error
		if r.Fence.IsZero() {
			m.whole, err = Pack(r.Bins)
		} else {
			m.whole, err = PackFenced(r.Bins, r.Fence)
		}
		return err
	}
	if r.Packed != nil && (old == nil || PrevBins(r.Set) == nil) {
		if ok, err := m.planTail(r); ok || err != nil {
			return err
		}
	}
	base := r.Packed
	if base == nil {
		var err error
		if base, err = Pack(r.Bins); err != nil {
			return err
		}
	}
	if old != nil && PrevBins(r.Set) != nil && m.planCoded(r, base, old) {
		m.coded = true
		return nil
	}
	return m.merge(*r, base, old)
}

// planTail plans r (packed, taking nothing from a stored record) as a tail write when it
// can be one: ok is false when r must be merged (a name written literally that has a code,
// a bin that sorts at or after the fence's in a fenced write). A trusted record
// (TrustedRecord) is one without reading its bins.
func (m *Merge) planTail(r *Record) (ok bool, err error) {
	if r.trustedPtr() { // this package's own packing: coded, canonical, before the fence (trusted.go)
		n, k := binary.Uvarint(r.Packed)
		m.setTail(int(n), r.Packed[k:], r.Fence)
		return true, nil
	}
	if ok, n, body := codedTail(r.Packed, !r.Fence.IsZero()); ok {
		m.setTail(n, body, r.Fence)
		return true, nil
	}
	s, err := scanBins(r.Packed)
	if err != nil {
		return false, err
	}
	if s.literalKnown {
		return false, nil
	}
	if !r.Fence.IsZero() && s.n > 0 && !nameLess(s.last, s.lastCode, FenceCycleBin, codeWCycle) {
		return false, nil
	}
	m.setTail(s.n, s.body, r.Fence)
	return true, nil
}

// setTail plans a tail write of the n bins body and, when not zero, fence.
func (m *Merge) setTail(n int, body []byte, fence Fence) {
	size := len(body)
	if !fence.IsZero() {
		n += 2
		size += 2 + uvarintLen(zigzag(fence.Cycle)) + 2 + uvarintLen(zigzag(fence.Epoch))
	}
	m.tail, m.n, m.size, m.body, m.fence = true, n, uvarintLen(uint64(n))+size, body, fence
}

// codedTail is planTail's fast path, for a record whose names are all coded (every
// record this package packs): it reads p's bins by code (codedBin), checking their order
// by rank, and returns ok with the bins' count and bytes when p is a tail write (fenced:
// its bins sort before the fence's). ok is false for anything else, malformed or not:
// scanBins then reads it, reports what is wrong or plans it.
func codedTail(p []byte, fenced bool) (ok bool, n int, body []byte) {
	cnt, k := binary.Uvarint(p)
	if k <= 0 || cnt > uint64(len(p)-k) {
		return false, 0, nil
	}
	body = p[k:]
	b := body
	var prev uint8
	for i := range int(cnt) {
		c, l, ok := codedBin(b)
		if !ok {
			return false, 0, nil
		}
		rank := nameRank[c-codeBase]
		if i > 0 && rank <= prev {
			return false, 0, nil
		}
		prev = rank
		b = b[l:]
	}
	if len(b) != 0 || fenced && cnt > 0 && prev >= nameRank[codeWCycle-codeBase] {
		return false, 0, nil
	}
	return true, int(cnt), body
}

// merge plans the write of r, packed as base, over old: Plan's merge byte for byte,
// apart so that a record packed whole does not pay for its arrays.
func (m *Merge) merge(r Record, base, old Packed) error {
	var nb, ob [maxUnpacked]rawBin
	n, err := splitBins(base, &nb)
	if errors.Is(err, errTooMany) {
		m.whole, err = packWriteMaps(r, base, old)
		return err
	}
	if err != nil {
		return err
	}
	// The bins to add, at most 5 previous ones and the 2 of the fence.
	var extra [8]rawBin
	k := 0
	if prev := PrevBins(r.Set); old != nil && prev != nil {
		on, err := splitBins(old, &ob)
		if errors.Is(err, errTooMany) {
			m.whole, err = packWriteMaps(r, base, old)
			return err
		}
		if err != nil {
			return fmt.Errorf("stored record: %w", err)
		}
		for _, b := range prev {
			for _, o := range ob[:on] {
				if o.name == b {
					pn := PrevName(b)
					extra[k] = rawBin{name: pn, code: codeOf(pn), val: o.val}
					k++
					break
				}
			}
		}
		for _, o := range ob[:on] {
			if o.val[0] != tagInt || (o.name != FenceEpochBin && o.name != FenceCycleBin) {
				continue
			}
			v, _ := binary.Varint(o.val[1:]) // splitBins checked it
			if o.name == FenceEpochBin {
				m.oldFence.Epoch = v
			} else {
				m.oldFence.Cycle = v
			}
		}
		m.oldRead = true
	}
	if !r.Fence.IsZero() {
		extra[k] = rawBin{name: FenceCycleBin, code: codeWCycle, i: r.Fence.Cycle}
		extra[k+1] = rawBin{name: FenceEpochBin, code: codeWEpoch, i: r.Fence.Epoch}
		k += 2
	}
	// Sort the few added bins by name (insertion sort), then merge them with the
	// record's; an added bin replaces the record's of the same name.
	for i := 1; i < k; i++ {
		for j := i; j > 0 && extra[j].name < extra[j-1].name; j-- {
			extra[j], extra[j-1] = extra[j-1], extra[j]
		}
	}
	cnt, size := 0, 0
	for i, j := 0, 0; i < n || j < k; {
		var b rawBin
		if j < k && (i == n || extra[j].name <= nb[i].name) {
			if i < n && extra[j].name == nb[i].name {
				i++
			}
			b = extra[j]
			j++
		} else {
			b = nb[i]
			i++
		}
		m.bins[cnt] = b
		cnt++
		size += b.size()
	}
	m.n, m.size = cnt, uvarintLen(uint64(cnt))+size
	return nil
}

// Len is the length of the planned record.
func (m *Merge) Len() int {
	if m.whole != nil {
		return len(m.whole)
	}
	return m.size
}

// AppendTo appends the planned record to dst.
func (m *Merge) AppendTo(dst []byte) []byte {
	if m.whole != nil {
		return append(dst, m.whole...)
	}
	dst = binary.AppendUvarint(dst, uint64(m.n))
	if m.coded {
		for _, s := range m.segs[:m.nseg] {
			if s.code != 0 {
				dst = append(dst, s.code)
			}
			if s.b == nil {
				dst = binary.AppendVarint(append(dst, tagInt), s.i)
				continue
			}
			dst = append(dst, s.b...)
		}
		return dst
	}
	if m.tail {
		dst = append(dst, m.body...)
		if !m.fence.IsZero() { // binary.AppendVarint's bytes, unrolled (packfast.go)
			dst = appendUvarint(append(dst, codeWCycle, tagInt), zigzag(m.fence.Cycle))
			dst = appendUvarint(append(dst, codeWEpoch, tagInt), zigzag(m.fence.Epoch))
		}
		return dst
	}
	for _, b := range m.bins[:m.n] {
		if b.code != 0 {
			dst = append(dst, b.code)
		} else {
			dst = append(append(dst, byte(len(b.name))), b.name...)
		}
		if b.val == nil {
			dst = append(dst, tagInt)
			dst = binary.AppendVarint(dst, b.i)
		} else {
			dst = append(dst, b.val...)
		}
	}
	return dst
}

// packWriteMaps is PackWrite through maps, for a record of more bins than splitBins
// holds (no record type has that many).
func packWriteMaps(r Record, base, old Packed) (Packed, error) {
	bins, err := DecodeBinsShared(base)
	if err != nil {
		return nil, err
	}
	if prev := PrevBins(r.Set); old != nil && prev != nil {
		stored, err := DecodeBinsShared(old)
		if err != nil {
			return nil, fmt.Errorf("stored record: %w", err)
		}
		for _, b := range prev {
			if v, ok := stored[b]; ok {
				bins[PrevName(b)] = v
			}
		}
	}
	if r.Fence.IsZero() {
		return Pack(bins)
	}
	return PackFenced(bins, r.Fence)
}

// appendKey appends the decimal ids of a key joined by '/'.
func appendKey(b []byte, ids ...int64) []byte {
	for k, id := range ids {
		if k > 0 {
			b = append(b, '/')
		}
		b = appendDec(b, id) // strconv.AppendInt's bytes (decimal.go)
	}
	return b
}
