package records

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// refPackWrite is what the embedded store packed for a write before PackWrite: the bins
// as a map, the stored record's previous version copied in by name, then Pack or
// PackFenced. PackWrite must give the same bytes.
func refPackWrite(t *testing.T, r Record, old Packed) Packed {
	t.Helper()
	bins := Bins{}
	for k, v := range r.Bins {
		bins[k] = v
	}
	if old != nil {
		stored, err := DecodeBinsShared(old)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range PrevBins(r.Set) {
			if v, ok := stored[b]; ok {
				bins[PrevName(b)] = v
			}
		}
	}
	var p Packed
	var err error
	if r.Fence.IsZero() {
		p, err = Pack(bins)
	} else {
		p, err = PackFenced(bins, r.Fence)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// randRecords returns records of every hot type, each built both ways: Record (a map)
// and PackedRecord (packed), from random values, negative and extreme ones included.
func randRecords(rng *rand.Rand) (maps, packed []Record) {
	val := func() int64 {
		switch rng.IntN(6) {
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
	rows := func() []Row {
		n := rng.IntN(4)
		if rng.IntN(4) == 0 {
			n = rng.IntN(120)
		}
		out := make([]Row, n)
		rank, pts := int64(1)+rng.Int64N(1000), val()/4
		for k := range out {
			if k > 0 && rng.IntN(3) > 0 {
				rank += 1 + rng.Int64N(5)
				pts -= rng.Int64N(3000)
			}
			out[k] = Row{Rank: rank, EntryID: val(), UserID: val(), TeamID: val(), Points: pts}
		}
		return out
	}
	hist := func() []Bucket {
		n := rng.IntN(5)
		if rng.IntN(4) == 0 {
			n = rng.IntN(300)
		}
		out := make([]Bucket, n)
		pts := rng.Int64N(1<<30) - 1<<29
		for k := range out {
			if k > 0 {
				pts -= 1 + rng.Int64N(500)
			}
			out[k] = Bucket{Points: pts, Count: 1 + rng.Int64N(4)}
		}
		return out
	}
	lineup := func() Lineup {
		l := Lineup{Players: make([]int32, rng.IntN(12)), Captain: int32(val()), Vice: int32(val())}
		for k := range l.Players {
			l.Players[k] = int32(val())
		}
		return l
	}
	entry := func() Entry {
		return Entry{ID: val(), Contest: val(), Match: val(), User: val(), Team: val(), Part: int32(val()), Lineup: lineup()}
	}
	c := Contest{ID: val(), Match: val(), Cycle: val(), AsOf: val(), Total: val(), PageSize: val(), Hist: hist(), First: rows()}
	p := Page{Contest: val(), No: int(rng.Int64N(1 << 20)), Cycle: val(), Rows: rows()}
	e := entry()
	u := User{Match: val(), User: val(), Part: int32(val())}
	for range rng.IntN(4) {
		u.Entries = append(u.Entries, entry())
	}
	return []Record{c.Record(), p.Record(), e.Record(), u.Record()},
		[]Record{c.PackedRecord(), p.PackedRecord(), e.PackedRecord(), u.PackedRecord()}
}

// TestPackedRecords: every hot record type packed without a map is byte for byte what
// EncodeBins gives for its map, and PackWrite gives what the map-based store packing
// gave (refPackWrite), fenced and not, versioned with and without a stored record.
func TestPackedRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	fences := []Fence{{}, {Epoch: 0, Cycle: 3}, {Epoch: 5, Cycle: -1}, {Epoch: math.MaxInt64, Cycle: math.MinInt64}}
	for round := range 300 {
		maps, packed := randRecords(rng)
		// Stored records to replace: an older version of the same type (fenced or not),
		// and one whose versioned bins have other types or are partly absent.
		oldMaps, _ := randRecords(rng)
		for i := range maps {
			m, p := maps[i], packed[i]
			if m.Set != p.Set || m.Key != p.Key || p.Bins != nil {
				t.Fatalf("round %d: %s/%s packed as %s/%s with bins %v", round, m.Set, m.Key, p.Set, p.Key, p.Bins)
			}
			if want := EncodeBins(m.Bins); !bytes.Equal(p.Packed, want) {
				t.Fatalf("round %d: %s packed\n%x\nwant\n%x", round, m.Set, p.Packed, want)
			}
			back, err := p.BinMap()
			if err != nil || !reflect.DeepEqual(back, m.Bins) {
				t.Fatalf("round %d: %s BinMap %v, %v; want %v", round, m.Set, back, err, m.Bins)
			}
			odd := Bins{"cycle": []byte{1}, "rows": int64(-4), "zz": "s", "p_rows": int64(9)}
			olds := []Packed{nil, EncodeBins(oldMaps[i].Bins), refPackWrite(t, Record{Set: m.Set, Bins: oldMaps[i].Bins, Fence: Fence{1, 2}}, nil), EncodeBins(odd)}
			for _, f := range fences {
				for k, old := range olds {
					m.Fence, p.Fence = f, f
					m.KeepPrev, p.KeepPrev = Versioned(m.Set), Versioned(m.Set)
					want := refPackWrite(t, m, old)
					for _, r := range []Record{p, m} {
						got, err := PackWrite(r, old)
						if err != nil {
							t.Fatalf("round %d: %s fence %v old %d: %v", round, m.Set, f, k, err)
						}
						if !bytes.Equal(got, want) {
							t.Fatalf("round %d: %s fence %v old %d (packed %v):\n%x\nwant\n%x", round, m.Set, f, k, r.Packed != nil, got, want)
						}
						if err := CheckPacked(got); err != nil {
							t.Fatal(err)
						}
						var mg Merge
						if err := mg.Plan(r, old); err != nil {
							t.Fatal(err)
						}
						f, read := mg.OldFence()
						if wantRead := old != nil && Versioned(r.Set); read != wantRead || read && f != Packed(old).Fence() {
							t.Fatalf("round %d: %s old %d: OldFence %v %v, want %v %v", round, m.Set, k, f, read, Packed(old).Fence(), wantRead)
						}
					}
				}
			}
		}
	}
}

// TestPackWriteOtherRecords: records written as maps (every set but the hot four) pack
// as before, with their fence, and a set that is not versioned takes nothing from the
// stored record; a record of more bins than the packed merge holds goes through maps.
func TestPackWriteOtherRecords(t *testing.T) {
	log := PointsLog{}.Append(1, 100, map[int32]int64{7: 50})
	many := Bins{}
	for k := range maxUnpacked + 3 {
		many[fmt.Sprintf("b%02d", k)] = int64(k)
	}
	many["cycle"] = int64(4)
	for _, r := range []Record{
		Match{1, StateLive, 2, 200, 10, 3, []int32{0, 7}}.Record(),
		MatchPart{1, 7, StateLive, 2, 200, 10, 3, 1, log}.Record(),
		ContestChunk{1, 3, 0, 2, []ContestSize{{5, 4}, {6, 2}}}.Record(),
		Matches{[]int64{1, 2}}.Record(),
		{Set: SetContest, Key: "9", Bins: many},
		{Set: SetPage, Key: "9/1", Bins: Bins{"cycle": int64(3), "w_epoch": int64(99)}},
	} {
		old := EncodeBins(Bins{"cycle": int64(1), "rows": []byte{0}, "as_of": int64(5)})
		for _, f := range []Fence{{}, {2, 3}} {
			r.Fence = f
			for _, o := range []Packed{nil, old, EncodeBins(many)} {
				want := refPackWrite(t, r, o)
				got, err := PackWrite(r, o)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s fence %v: %x, %v\nwant %x", r.Set, f, got, err, want)
				}
				packed := r
				packed.Packed, packed.Bins = EncodeBins(r.Bins), nil
				if got, err = PackWrite(packed, o); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s fence %v, packed: %x, %v\nwant %x", r.Set, f, got, err, want)
				}
			}
		}
	}
}

// TestPackWriteCorrupt: a malformed packed record, written or stored, is ErrCorrupt;
// no cut of a record panics.
func TestPackWriteCorrupt(t *testing.T) {
	good := Page{Contest: 5, No: 1, Cycle: 3, Rows: []Row{{1, 2, 3, 4, 5}}}.PackedRecord()
	good.Fence = Fence{1, 3}
	good.KeepPrev = true
	unsorted := EncodeBins(Bins{"a": int64(1)})
	unsorted = append(append([]byte{2}, unsorted[1:]...), unsorted[1:]...) // "a" twice
	for i := range len(good.Packed) {
		r := good
		r.Packed = good.Packed[:i]
		if _, err := PackWrite(r, nil); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: %v", i, err)
		}
		if _, err := PackWrite(good, good.Packed[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("stored cut at %d: %v", i, err)
		}
	}
	r := good
	r.Packed = unsorted
	if _, err := PackWrite(r, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bins out of order: %v", err)
	}
	if _, err := PackWrite(good, unsorted); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("stored bins out of order: %v", err)
	}
	if _, err := (Record{Set: SetUser, Key: "1/2/3", Packed: Packed{1, 1}}).BinMap(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("BinMap of a cut record: %v", err)
	}
}

// TestEncoders: the encoders give EncodeRows' and EncodeHist's bytes, and reuse.
func TestEncoders(t *testing.T) {
	var re RowsEncoder
	var he HistEncoder
	for _, rows := range [][]Row{nil, {{1, 9, 90, 5, 5000}, {1, 12, 91, 5, 5000}, {3, 4, 92, 6, -250}, {4, -7, 0, 1, -251}}, {{7, 1, 1, 1, 0}}} {
		re.Reset()
		he.Reset()
		var hist []Bucket
		for _, r := range rows {
			re.Add(r)
			he.Add(r.Points)
			if n := len(hist); n > 0 && hist[n-1].Points == r.Points {
				hist[n-1].Count++
			} else {
				hist = append(hist, Bucket{r.Points, 1})
			}
		}
		if got, want := re.Bytes(), EncodeRows(rows); !bytes.Equal(got, want) || re.Len() != len(want) {
			t.Fatalf("rows %v: %x (len %d), want %x", rows, got, re.Len(), want)
		}
		if got, want := he.Bytes(), EncodeHist(hist); !bytes.Equal(got, want) || he.Len() != len(want) {
			t.Fatalf("hist %v: %x (len %d), want %x", hist, got, he.Len(), want)
		}
	}
}

// TestKeys: the keys are the decimal ids joined by '/'.
func TestKeys(t *testing.T) {
	for _, v := range []int64{0, 7, -3, math.MaxInt64, math.MinInt64} {
		p := int32(v)
		if got, want := PageKey(v, int(v)), fmt.Sprintf("%d/%d", v, v); got != want {
			t.Fatalf("PageKey %q want %q", got, want)
		}
		if got, want := UserKey(v, v, p), fmt.Sprintf("%d/%d/%d", v, v, p); got != want {
			t.Fatalf("UserKey %q want %q", got, want)
		}
		if got, want := ChunkKey(v, p, int(v)), fmt.Sprintf("%d/%d/%d", v, p, v); got != want {
			t.Fatalf("ChunkKey %q want %q", got, want)
		}
		if got, want := MatchPartKey(v, p), fmt.Sprintf("%d/%d", v, p); got != want {
			t.Fatalf("MatchPartKey %q want %q", got, want)
		}
	}
}

// TestPackWriteAllocs: a versioned, fenced write of a packed record allocates only the
// record it returns.
func TestPackWriteAllocs(t *testing.T) {
	c := Contest{ID: 5, Match: 1, Cycle: 4, AsOf: 9, Total: 3, PageSize: 100, Hist: []Bucket{{10, 2}, {5, 1}},
		First: []Row{{1, 1, 1, 1, 10}, {1, 2, 2, 2, 10}, {3, 3, 3, 3, 5}}}
	r := c.PackedRecord()
	r.Fence, r.KeepPrev = Fence{1, 4}, true
	old, err := PackWrite(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := PackWrite(r, old); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Fatalf("PackWrite allocates %v times, want 1", n)
	}
	var re RowsEncoder
	var he HistEncoder
	for _, row := range c.First {
		re.Add(row)
		he.Add(row.Points)
	}
	if n := testing.AllocsPerRun(100, func() { PackContest(ContestHead{ID: 5}, &he, &re) }); n != 1 {
		t.Fatalf("PackContest allocates %v times, want 1", n)
	}
}

// BenchmarkPackWrite merges a packed page of 100 rows with its fence and the stored
// version (what the embedded store does for each page a cycle rewrites), against the
// same write through maps.
func BenchmarkPackWrite(b *testing.B) {
	rows := make([]Row, 100)
	for j := range rows {
		rows[j] = Row{Rank: int64(101 + j), EntryID: int64(5_000_000 + j*37), UserID: int64(1_000_000 + j*11), TeamID: int64(300_000 + j), Points: int64(90_000 - j*50)}
	}
	for _, packed := range []bool{false, true} {
		b.Run(fmt.Sprintf("packed=%v", packed), func(b *testing.B) {
			pg := Page{Contest: 12345, No: 1, Cycle: 7, Rows: rows}
			r := pg.Record()
			if packed {
				r = pg.PackedRecord()
			}
			r.Fence, r.KeepPrev = Fence{0, 7}, true
			old, err := PackWrite(r, nil)
			if err != nil {
				b.Fatal(err)
			}
			old, _ = PackWrite(r, old)
			b.ReportAllocs()
			b.SetBytes(int64(len(old)))
			for b.Loop() {
				if _, err := PackWrite(r, old); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTailWrites: a packed record that takes nothing from a stored one (a first write, a
// set that is not versioned) is written as it is with the fence after it (Merge's tail),
// not split into bins, when it can be: the same bytes as the merge, and only then.
func TestTailWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	merged := func(r Record, old Packed) Packed { // the merge, never the tail
		var m Merge
		base := r.Packed
		if base == nil {
			base = EncodeBins(r.Bins)
		}
		if err := m.merge(r, base, old); err != nil {
			t.Fatal(err)
		}
		if m.tail {
			t.Fatal("merge planned a tail")
		}
		return m.AppendTo(nil)
	}
	for round := range 200 {
		_, packed := randRecords(rng)
		oldMaps, _ := randRecords(rng)
		for i, r := range packed {
			for _, f := range []Fence{{}, {Epoch: 3, Cycle: 9}, {Epoch: math.MaxInt64, Cycle: math.MinInt64}} {
				r.Fence = f
				for _, old := range []Packed{nil, EncodeBins(oldMaps[i].Bins)} {
					var m Merge
					if err := m.Plan(r, old); err != nil {
						t.Fatal(err)
					}
					wantTail := old == nil || !Versioned(r.Set)
					if m.tail != wantTail {
						t.Fatalf("round %d: %s old %v: tail %v, want %v", round, r.Set, old != nil, m.tail, wantTail)
					}
					got := m.AppendTo(make([]byte, 0, m.Len()))
					if want := merged(r, old); !bytes.Equal(got, want) || len(got) != m.Len() {
						t.Fatalf("round %d: %s fence %v: tail %x (len %d), merge %x", round, r.Set, f, got, m.Len(), want)
					}
				}
			}
		}
	}
	// Not a tail: a bin at or after the fence's, a known name written literally.
	for _, p := range []Packed{EncodeBins(Bins{"a": int64(1), "x": int64(2)}), EncodeBins(Bins{FenceCycleBin: int64(2)}),
		oldPack(Bins{"id": int64(1)})} {
		var m Merge
		if err := m.Plan(Record{Set: SetEntry, Packed: p, Fence: Fence{1, 1}}, nil); err != nil {
			t.Fatal(err)
		}
		if m.tail {
			t.Errorf("%x planned as a tail", p)
		}
	}
	// A cold start's records: allocation-free planning.
	e := Entry{ID: 1, Contest: 2, Match: 3, User: 4, Team: 5, Lineup: Lineup{Players: []int32{1, 2, 3}, Captain: 1, Vice: 2}}.PackedRecord()
	e.Fence = Fence{1, 1}
	var m Merge
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() {
		if err := m.Plan(e, nil); err != nil || !m.tail {
			t.Fatal(err)
		}
		buf = m.AppendTo(buf[:0])
	}); n != 0 {
		t.Fatalf("planning and writing an entry record allocates %v times", n)
	}
}

// BenchmarkFirstWrite plans and packs a fenced entry record and a 2-entry user record
// with no stored version, as the embedded store does for a cold start's writes.
func BenchmarkFirstWrite(b *testing.B) {
	l := Lineup{Players: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Captain: 1, Vice: 2}
	e := Entry{ID: 41_234_567, Contest: 2_044_000, Match: 94_000, User: 1_400_000, Team: 3, Part: 9, Lineup: l}
	recs := []Record{e.PackedRecord(), User{Match: 94_000, User: 1_400_000, Part: 9, Entries: []Entry{e, e}}.PackedRecord()}
	for i := range recs {
		recs[i].Fence = Fence{Epoch: 1, Cycle: 1}
	}
	var m Merge
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			if err := m.Plan(r, nil); err != nil {
				b.Fatal(err)
			}
			buf = m.AppendTo(buf[:0])
		}
	}
}

// TestFastPackers: the packers of packfast.go give the bytes of Entry.Pack, User.Pack,
// PackContest and PackPage for random records, extreme values included; the records of
// one Arena do not share room (each ends at its capacity), and a task's records cost one
// allocation when the arena is sized for them.
func TestFastPackers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	var a Arena
	var ue UserEncoder
	var prev Packed
	for k := range 2000 {
		_, recs := randRecords(rng)
		for _, r := range recs {
			var want, got Packed
			switch r.Set {
			case SetContest:
				c, err := ContestFrom(r.Packed)
				if err != nil && c.PageSize > 0 { // random page sizes may be negative: decoded all the same
					t.Fatal(err)
				}
				want = c.PackedRecord().Packed
				var hist HistEncoder
				for _, b := range c.Hist {
					for range b.Count {
						hist.Add(b.Points)
					}
				}
				var rows RowsEncoder
				for _, r := range c.First {
					rows.AddRow(r.Rank, r.Points, r.EntryID, r.UserID, r.TeamID)
				}
				got = a.Contest(ContestHead{c.ID, c.Match, c.Cycle, c.AsOf, c.Total, c.PageSize}, &hist, &rows)
			case SetPage:
				pg, err := PageFrom(r.Packed)
				if err != nil {
					t.Fatal(err)
				}
				want = pg.PackedRecord().Packed
				var rows RowsEncoder
				for _, r := range pg.Rows {
					rows.AddRow(r.Rank, r.Points, r.EntryID, r.UserID, r.TeamID)
				}
				got = a.Page(pg.Contest, pg.No, pg.Cycle, &rows)
			case SetEntry:
				e, err := EntryFrom(r.Packed)
				if err != nil {
					t.Fatal(err)
				}
				want = e.Pack()
				got = a.Entry(EntryHead{ID: e.ID, Contest: e.Contest, Match: e.Match, User: e.User, Team: e.Team, Part: e.Part},
					AppendLineup(nil, e.Players, e.Captain, e.Vice))
			case SetUser:
				u, err := UserFrom(r.Packed)
				if err != nil {
					t.Fatal(err)
				}
				want = u.Pack()
				ue.Reset()
				for _, e := range u.Entries {
					ue.Add(e.ID, e.Contest)
				}
				if ue.Len() != len(u.Entries) {
					t.Fatalf("UserEncoder.Len %d after %d entries", ue.Len(), len(u.Entries))
				}
				got = a.User(u.Match, u.User, u.Part, &ue)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("record %d (%s): packed\n%x\nwant\n%x", k, r.Set, got, want)
			}
			if cap(got) != len(got) {
				t.Fatalf("record %d: %d bytes with room for %d: the next record's room is reachable", k, len(got), cap(got))
			}
			if prev != nil {
				_ = append(prev, 0xff, 0xff) // past its capacity: a new array, never got's bytes
			}
			prev = got
			if !bytes.Equal(got, want) {
				t.Fatalf("record %d (%s) changed by an append to the record before it", k, r.Set)
			}
		}
	}
	lin := AppendLineup(nil, []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 1, 2)
	h := EntryHead{ID: 41_234_567, Contest: 2_044_000, Match: 94_000, User: 1_400_000, Team: 3, Part: 9}
	if n := testing.AllocsPerRun(20, func() {
		a := NewArena(100 * EntrySize(h, len(lin)))
		for range 100 {
			a.Entry(h, lin)
		}
	}); n != 1 { // its one chunk
		t.Fatalf("100 entry records from an arena sized for them: %v allocations, want 1", n)
	}
}

// BenchmarkFastPackers packs an entry record and a 3-entry user record with the first
// writes' packers (the same records as BenchmarkEntryUserRecord's, which builds maps,
// and BenchmarkEntryUserPack's, which packs through Entry.Pack and User.Pack).
func BenchmarkFastPackers(b *testing.B) {
	l := Lineup{Players: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Captain: 1, Vice: 2}
	e := Entry{ID: 1_234_567, Contest: 44_000, Match: 1, User: 400_000, Team: 3, Lineup: l}
	h := EntryHead{ID: e.ID, Contest: e.Contest, Match: e.Match, User: e.User, Team: e.Team, Part: e.Part}
	var ue UserEncoder
	var a Arena
	b.ReportAllocs()
	for b.Loop() {
		lin := AppendLineup(make([]byte, 0, 48), l.Players, l.Captain, l.Vice)
		_ = a.Entry(h, lin)
		ue.Reset()
		for range 3 {
			ue.Add(e.ID, e.Contest)
		}
		_ = a.User(e.Match, e.User, e.Part, &ue)
	}
}

// BenchmarkEntryUserPack packs BenchmarkFastPackers' records with Entry.Pack and
// User.Pack.
func BenchmarkEntryUserPack(b *testing.B) {
	l := Lineup{Players: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Captain: 1, Vice: 2}
	e := Entry{ID: 1_234_567, Contest: 44_000, Match: 1, User: 400_000, Team: 3, Lineup: l}
	u := User{Match: 1, User: 400_000, Entries: []Entry{e, e, e}}
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Pack()
		_ = u.Pack()
	}
}

// TestKeysBuilder: Keys gives the keys IDKey, PageKey and UserKey give, in the order added, and
// is empty after Set.
func TestKeysBuilder(t *testing.T) {
	var k Keys
	for round := range 2 {
		var want []string
		for j := range int64(50) {
			id := (j*7919 - 100) << uint(j%40)
			switch j % 3 {
			case 0:
				k.User(id, -j, int32(j+int64(round)))
				want = append(want, UserKey(id, -j, int32(j+int64(round))))
			case 1:
				k.Page(id, int(j))
				want = append(want, PageKey(id, int(j)))
			default:
				k.ID(id)
				want = append(want, IDKey(id))
			}
		}
		recs := make([]Record, len(want))
		k.Set(recs)
		for j, r := range recs {
			if r.Key != want[j] {
				t.Fatalf("round %d, key %d: %q, want %q", round, j, r.Key, want[j])
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Set with fewer records than keys did not panic")
		}
	}()
	k.ID(1)
	k.Set(nil)
}

// TestAddRow: RowsEncoder.AddRow encodes the bytes Add (and EncodeRows) encode, for rows
// of random pages with values of every varint length and extremes; appendUvarint is
// binary.AppendUvarint around each length's bounds.
func TestAddRow(t *testing.T) {
	for _, x := range []uint64{0, 1, 1<<7 - 1, 1 << 7, 1<<14 - 1, 1 << 14, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28, 1<<35 + 3, math.MaxUint64} {
		if got, want := appendUvarint([]byte{9}, x), binary.AppendUvarint([]byte{9}, x); !bytes.Equal(got, want) {
			t.Fatalf("appendUvarint(%d) = %x, want %x", x, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(11, 13))
	var a, b RowsEncoder
	for k := range 3000 {
		_, recs := randRecords(rng)
		p, err := PageFrom(recs[1].Packed)
		if err != nil {
			t.Fatal(err)
		}
		a.Reset()
		b.Reset()
		for _, r := range p.Rows {
			a.Add(r)
			b.AddRow(r.Rank, r.Points, r.EntryID, r.UserID, r.TeamID)
		}
		if got, want := b.Bytes(), a.Bytes(); !bytes.Equal(got, want) || !bytes.Equal(want, EncodeRows(p.Rows)) {
			t.Fatalf("page %d: AddRow encoded\n%x\nAdd\n%x", k, got, want)
		}
	}
}
