package records

import "unsafe"

// A record packed by this package's own packers (Entry.Pack, User.Pack, Arena.Entry,
// Arena.User) is canonical:
// its bins are sorted and distinct, every name is coded, and it has no fence bins and
// no bin that sorts at or after them. A first write of such a record (no stored record
// merged into it) is its bytes and then the fence's two bins, so Merge need not read it
// bin by bin to check it: TrustedRecord (Arena.EntryRecord, Arena.UserRecord) marks it so, and Merge.Plan copies it without
// scanning (planTail). Every other record, above all one that came from a client over
// the wire (internal/devstore), is read and checked as before: a malformed record is
// refused, never stored.
//
// The mark holds the low 31 bits of the address of Packed's last byte (and a set top
// bit: never 0): a record whose Packed is replaced or resliced after it was marked is
// no longer trusted (but for a 1 in 2^31 coincidence of addresses; one of Packed on a goroutine's stack
// that moves loses the mark, and is checked). It sits in the padding after KeepPrev:
// a Record stays 88 bytes (a pointer made it 96, and Put's batches of them slower). A trusted record whose bytes
// are malformed (changed in place after packing) is a programming error; tests check
// the packers' output with CheckPacked (TestTrustedRecords).

// TrustedRecord is PackedRecord marked as this package's own, canonical packing: a
// store writes it without reading its bins again. Its Packed must not be changed in
// place.
func (e Entry) TrustedRecord() Record { return trust(e.PackedRecord()) }

// TrustedRecord is PackedRecord marked as this package's own, canonical packing: a
// store writes it without reading its bins again. Its Packed must not be changed in
// place.
func (u User) TrustedRecord() Record { return trust(u.PackedRecord()) }

// EntryRecord is the SetEntry record of h with lineup (AppendLineup's bytes) packed
// into a's memory (Arena.Entry), marked as this package's own packing like
// TrustedRecord: a store writes it without reading its bins again. Its Key is left to
// the caller (Keys.Set).
func (a *Arena) EntryRecord(h EntryHead, lineup []byte) Record {
	return trust(Record{Set: SetEntry, Packed: a.Entry(h, lineup)})
}

// UserRecord is the SetUser record of e's entries packed into a's memory (Arena.User),
// marked as this package's own packing like TrustedRecord. Its Key is left to the
// caller (Keys.Set).
func (a *Arena) UserRecord(match, user int64, part int32, e *UserEncoder) Record {
	return trust(Record{Set: SetUser, Packed: a.User(match, user, part, e)})
}

// AppendEntryRecord appends EntryRecord(h, lineup) to dst, built in place (a writer
// packing a task's thousands of records appends each: a Record is 88 bytes, and
// returning one by value copied it two or three times).
func (a *Arena) AppendEntryRecord(dst []Record, h EntryHead, lineup []byte) []Record {
	dst = append(dst, Record{Set: SetEntry})
	r := &dst[len(dst)-1]
	r.Packed = a.Entry(h, lineup)
	r.trusted = r.mark()
	return dst
}

// AppendUserRecord appends UserRecord(match, user, part, e) to dst, built in place (see
// AppendEntryRecord).
func (a *Arena) AppendUserRecord(dst []Record, match, user int64, part int32, e *UserEncoder) []Record {
	dst = append(dst, Record{Set: SetUser})
	r := &dst[len(dst)-1]
	r.Packed = a.User(match, user, part, e)
	r.trusted = r.mark()
	return dst
}

// trust marks r's Packed, which this package's packers produced with every name coded
// and every bin sorting before the fence's, as needing no check.
func trust(r Record) Record {
	r.trusted = r.mark()
	return r
}

// mark is the mark of r's Packed: the low 31 bits of its last byte's address and the
// top bit, never 0 (0 when Packed is empty: never trusted).
func (r *Record) mark() uint32 {
	if len(r.Packed) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&r.Packed[len(r.Packed)-1]))) | 1<<31
}

// Trusted reports whether r is marked as this package's own packing (TrustedRecord)
// and still holds the bytes it was marked with.
func (r Record) Trusted() bool { return r.trustedPtr() }

// trustedPtr is Trusted without copying r (Merge.PlanRecord).
func (r *Record) trustedPtr() bool { return r.trusted != 0 && r.trusted == r.mark() }
