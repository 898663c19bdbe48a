package records

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// randEntryUser returns a random entry and user, extreme values and empty lineups and
// entry lists included.
func randEntryUser(rng *rand.Rand) (Entry, User) {
	val := func() int64 {
		switch rng.IntN(5) {
		case 0:
			return 0
		case 1:
			return -rng.Int64N(1 << 40)
		case 2:
			return math.MaxInt64 - rng.Int64N(3)
		case 3:
			return math.MinInt64 + rng.Int64N(3)
		default:
			return rng.Int64N(1 << uint(rng.IntN(62)+1))
		}
	}
	entry := func() Entry {
		l := Lineup{Players: make([]int32, rng.IntN(12)), Captain: int32(val()), Vice: int32(val())}
		for k := range l.Players {
			l.Players[k] = int32(val())
		}
		return Entry{ID: val(), Contest: val(), Match: val(), User: val(), Team: val(), Part: int32(val()), Lineup: l}
	}
	u := User{Match: val(), User: val(), Part: int32(val())}
	for range rng.IntN(4) {
		u.Entries = append(u.Entries, entry())
	}
	return entry(), u
}

// TestTrustedRecords: what TrustedRecord marks is what the checks would have passed:
// the packers' output is canonical (CheckPacked), read by code as a tail write
// (codedTail, fenced: every bin before the fence's), and a trusted record's write is
// byte for byte the checked write of the same record unmarked, fenced and not, with the
// same planned length.
func TestTrustedRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 4))
	for i := range 3000 {
		e, u := randEntryUser(rng)
		for _, pair := range [][2]Record{{e.TrustedRecord(), e.PackedRecord()}, {u.TrustedRecord(), u.PackedRecord()}} {
			tr, plain := pair[0], pair[1]
			if !tr.Trusted() || plain.Trusted() {
				t.Fatalf("%d %s: trusted %v, unmarked %v", i, tr.Set, tr.Trusted(), plain.Trusted())
			}
			if tr.Set != plain.Set || tr.Key != plain.Key || !bytes.Equal(tr.Packed, plain.Packed) {
				t.Fatalf("%d: TrustedRecord %s/%s differs from PackedRecord %s/%s", i, tr.Set, tr.Key, plain.Set, plain.Key)
			}
			if err := CheckPacked(tr.Packed); err != nil {
				t.Fatalf("%d %s: the packer's output is malformed: %v", i, tr.Set, err)
			}
			if ok, _, _ := codedTail(tr.Packed, true); !ok {
				t.Fatalf("%d %s: the packer's output is not a coded tail write before the fence", i, tr.Set)
			}
			for _, f := range []Fence{{}, {Epoch: 3, Cycle: 9}, {Epoch: val64(rng), Cycle: val64(rng)}} {
				tr.Fence, plain.Fence = f, f
				var mt, mp Merge
				if err := mt.Plan(tr, nil); err != nil {
					t.Fatal(err)
				}
				if err := mp.Plan(plain, nil); err != nil {
					t.Fatal(err)
				}
				got, want := mt.AppendTo(nil), mp.AppendTo(nil)
				if !bytes.Equal(got, want) || mt.Len() != len(got) {
					t.Fatalf("%d %s fence %+v: trusted write %x (planned %d bytes), checked %x", i, tr.Set, f, got, mt.Len(), want)
				}
				if err := CheckPacked(got); err != nil || Packed(got).Fence() != f {
					t.Fatalf("%d %s: trusted write malformed (%v) or fence %+v, want %+v", i, tr.Set, err, Packed(got).Fence(), f)
				}
			}
		}
	}
}

// TestArenaTrustedRecords: Arena.EntryRecord and Arena.UserRecord are trusted and hold
// the bytes of Entry.Pack and User.Pack (which TestTrustedRecords checks), in the
// arena's memory, each its own (a later record does not change an earlier one's mark).
// AppendEntryRecord and AppendUserRecord append the same records.
func TestArenaTrustedRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 2))
	var a Arena
	var recs, appended []Record
	var want []Packed
	for range 2000 {
		e, u := randEntryUser(rng)
		l := AppendLineup(nil, e.Players, e.Captain, e.Vice)
		recs = append(recs, a.EntryRecord(EntryHead{ID: e.ID, Contest: e.Contest, Match: e.Match, User: e.User, Team: e.Team, Part: e.Part}, l))
		want = append(want, e.Pack())
		var enc UserEncoder
		for _, ue := range u.Entries {
			enc.Add(ue.ID, ue.Contest)
		}
		recs = append(recs, a.UserRecord(u.Match, u.User, u.Part, &enc))
		want = append(want, u.Pack())
		// The same records appended in place (AppendEntryRecord, AppendUserRecord).
		appended = a.AppendEntryRecord(appended, EntryHead{ID: e.ID, Contest: e.Contest, Match: e.Match, User: e.User, Team: e.Team, Part: e.Part}, l)
		appended = a.AppendUserRecord(appended, u.Match, u.User, u.Part, &enc)
	}
	if len(appended) != len(recs) {
		t.Fatalf("%d records appended, %d returned", len(appended), len(recs))
	}
	for i, r := range appended {
		if r.Set != recs[i].Set || r.Key != "" || !r.Trusted() || !bytes.Equal(r.Packed, want[i]) || r.Fence != (Fence{}) || r.KeepPrev || r.IfChanged || r.Bins != nil {
			t.Fatalf("appended record %d: %+v (trusted %v), want set %s, bytes %x, nothing else", i, r, r.Trusted(), recs[i].Set, want[i])
		}
	}
	for i, r := range recs {
		set := SetEntry
		if i%2 == 1 {
			set = SetUser
		}
		if r.Set != set || !r.Trusted() || !bytes.Equal(r.Packed, want[i]) {
			t.Fatalf("record %d: set %s trusted %v, bytes %x, want %s %x", i, r.Set, r.Trusted(), r.Packed, set, want[i])
		}
	}
}

func val64(rng *rand.Rand) int64 { return rng.Int64() - rng.Int64() }

// TestTrustedMarkLost: a record whose Packed is replaced, truncated or extended after it
// was marked is checked again, and a malformed one is refused; a record built outside
// the packers is never trusted, and a copy of a trusted record is.
func TestTrustedMarkLost(t *testing.T) {
	e := Entry{ID: 1, Contest: 2, Match: 3, User: 4, Team: 5, Lineup: Lineup{Players: []int32{1, 2, 3}, Captain: 1, Vice: 2}}
	r := e.TrustedRecord()
	if c := r; !c.Trusted() {
		t.Fatal("a copy of a trusted record is not trusted")
	}
	if (Record{Set: SetEntry, Key: "1", Packed: e.Pack()}).Trusted() {
		t.Fatal("a record built outside the packers is trusted")
	}
	if (Record{}).Trusted() || (User{}.TrustedRecord().Trusted() != true) {
		t.Fatal("the zero record is trusted, or an empty user's record is not")
	}
	// Truncated: the mark is lost and the checked path refuses it.
	cut := r
	cut.Packed = cut.Packed[:len(cut.Packed)-1]
	if cut.Trusted() {
		t.Fatal("a truncated record is still trusted")
	}
	if _, err := PackWrite(cut, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a truncated trusted record: %v, want ErrCorrupt", err)
	}
	// Extended by a byte: the same.
	ext := r
	ext.Packed = append(bytes.Clone(ext.Packed), 0)
	if ext.Trusted() {
		t.Fatal("an extended record is still trusted")
	}
	if _, err := PackWrite(ext, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("an extended trusted record: %v, want ErrCorrupt", err)
	}
	// Replaced by another record's bytes: checked, and written as the checked path does.
	other := r
	other.Packed = User{Match: 3, User: 4, Entries: []Entry{e}}.Pack()
	if other.Trusted() {
		t.Fatal("a record whose Packed was replaced is still trusted")
	}
	// Replaced by bytes with a fence bin (which a trusted record must not have): the
	// checked path merges the new fence over it.
	fenced, err := PackFenced(Bins{"id": int64(1)}, Fence{Epoch: 1, Cycle: 1})
	if err != nil {
		t.Fatal(err)
	}
	other.Packed, other.Fence = fenced, Fence{Epoch: 2, Cycle: 7}
	got, err := PackWrite(other, nil)
	if err != nil || Packed(got).Fence() != other.Fence || CheckPacked(got) != nil {
		t.Fatalf("a replaced record with fence bins: fence %+v, %v", Packed(got).Fence(), err)
	}
}

// TestRecordSize: the trusted mark sits in KeepPrev's padding; a Record stays 88 bytes
// on a 64-bit machine (Put's batches are slices of them).
func TestRecordSize(t *testing.T) {
	if n := unsafe.Sizeof(Record{}); unsafe.Sizeof(uintptr(0)) == 8 && n > 88 {
		t.Fatalf("a Record is %d bytes, want at most 88", n)
	}
}

// BenchmarkPlanFirstWrite: Merge.Plan and AppendTo of a fenced first write of an entry
// record, checked (PackedRecord) and trusted (TrustedRecord), and of the trusted one by
// pointer (PlanRecord, as the embedded store plans a batch's records).
//
//	go test -run '^$' -bench PlanFirstWrite ./records
func BenchmarkPlanFirstWrite(b *testing.B) {
	defer b.Run("trusted-ptr", func(b *testing.B) {
		l := Lineup{Players: []int32{101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111}, Captain: 101, Vice: 102}
		e := Entry{ID: 41_234_567, Contest: 2_044_000, Match: 94_000, User: 1_400_000, Team: 3, Part: 9, Lineup: l}
		recs := []Record{e.TrustedRecord()}
		recs[0].Fence = Fence{Epoch: 1, Cycle: 1}
		var m Merge
		dst := make([]byte, 0, 256)
		for b.Loop() {
			if err := m.PlanRecord(&recs[0], nil); err != nil {
				b.Fatal(err)
			}
			dst = m.AppendTo(dst[:0])
		}
	})
	l := Lineup{Players: []int32{101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111}, Captain: 101, Vice: 102}
	e := Entry{ID: 41_234_567, Contest: 2_044_000, Match: 94_000, User: 1_400_000, Team: 3, Part: 9, Lineup: l}
	for _, c := range []struct {
		name string
		r    Record
	}{{"checked", e.PackedRecord()}, {"trusted", e.TrustedRecord()}} {
		b.Run(c.name, func(b *testing.B) {
			r := c.r
			r.Fence = Fence{Epoch: 1, Cycle: 1}
			var m Merge
			dst := make([]byte, 0, 256)
			for b.Loop() {
				if err := m.Plan(r, nil); err != nil {
					b.Fatal(err)
				}
				dst = m.AppendTo(dst[:0])
			}
		})
	}
}
