package records

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestRoundTrips(t *testing.T) {
	rows := []Row{{1, 9, 90, 5, 5000}, {1, 12, 91, 5, 5000}, {3, 4, 92, 6, -250}, {4, -7, 0, 1, -251}}
	hist := []Bucket{{5000, 2}, {-250, 1}, {-251, 1}}
	log := PointsLog{}.Append(1, 100, map[int32]int64{7: 50, 8: 0}).Append(2, 200, map[int32]int64{7: 50, 8: -200})
	l := Lineup{Players: []int32{7, 8, 9}, Captain: 8, Vice: 9}
	for name, tc := range map[string]struct {
		rec  Record
		back func(Fields) (any, error)
		want any
	}{
		"match":   {Match{1, StateLive, 2, 200, 10, 3, []int32{0, 7}}.Record(), func(b Fields) (any, error) { return MatchFrom(b) }, Match{1, StateLive, 2, 200, 10, 3, []int32{0, 7}}},
		"mpart":   {MatchPart{1, 7, StateLive, 2, 200, 10, 3, 1, log}.Record(), func(b Fields) (any, error) { return MatchPartFrom(b) }, MatchPart{1, 7, StateLive, 2, 200, 10, 3, 1, log}},
		"contest": {Contest{5, 1, 2, 200, 4, 100, hist, rows}.Record(), func(b Fields) (any, error) { return ContestFrom(b) }, Contest{5, 1, 2, 200, 4, 100, hist, rows}},
		"page":    {Page{5, 3, 2, rows}.Record(), func(b Fields) (any, error) { return PageFrom(b) }, Page{5, 3, 2, rows}},
		"entry":   {Entry{9, 5, 1, 90, 5, 3, l}.Record(), func(b Fields) (any, error) { return EntryFrom(b) }, Entry{9, 5, 1, 90, 5, 3, l}},
		"user": {User{Match: 1, User: 90, Part: 3, Entries: []Entry{{9, 5, 1, 90, 5, 3, l}}}.Record(), func(b Fields) (any, error) { return UserFrom(b) },
			User{Match: 1, User: 90, Part: 3, Entries: []Entry{{ID: 9, Contest: 5, Match: 1, User: 90, Part: 3}}}}, // team and lineup: in the entry record
		"user, the older form": {Record{Set: SetUser, Bins: linedUserBins(User{Match: 1, User: 90, Part: 3, Entries: []Entry{{9, 5, 1, 90, 5, 3, l}}})},
			func(b Fields) (any, error) { return UserFrom(b) }, User{Match: 1, User: 90, Part: 3, Entries: []Entry{{9, 5, 1, 90, 5, 3, l}}, Lined: true}},
		"chunk":   {ContestChunk{1, 3, 0, 2, []ContestSize{{5, 4}, {6, 2}}}.Record(), func(b Fields) (any, error) { return ContestChunkFrom(b) }, ContestChunk{1, 3, 0, 2, []ContestSize{{5, 4}, {6, 2}}}},
		"matches": {Matches{[]int64{1, 2}}.Record(), func(b Fields) (any, error) { return MatchesFrom(b) }, Matches{[]int64{1, 2}}},
	} {
		// As a map, and packed (read in place, as the API reads the embedded store).
		var u Unpacked
		if err := u.Reset(EncodeBins(tc.rec.Bins)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, b := range []Fields{tc.rec.Bins, Packed(EncodeBins(tc.rec.Bins)), &u} {
			got, err := tc.back(b)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s from %T: got %+v, %v; want %+v", name, b, got, err, tc.want)
			}
		}
	}
	if len(log) != 2 || len(log[1].Players) != 1 || log.At(1)[8] != 0 || log.At(2)[8] != -200 || log.At(0)[7] != 0 {
		t.Fatalf("points log %+v", log)
	}
	if s, ok := StandingOf(hist, -250); !ok || s != (Standing{3, 2, 1}) {
		t.Fatalf("standing %+v %v", s, ok)
	}
	if l.Points(map[int32]int64{7: 100, 8: 10, 9: 4}) != 2*(114)+2*10+4 {
		t.Fatal("lineup points")
	}
}

// TestPacked: a packed record reads like its map, bin by bin; a wrong name or type reads
// as zero; every cut of a record fails CheckPacked and reads without panicking.
func TestPacked(t *testing.T) {
	b := Bins{"a": int64(-5), "s": "x/y", "raw": []byte{1, 2, 3}, "empty": []byte{}, "state": StateCompleted,
		"big": int64(1<<63 - 1), "zero": int64(0)}
	p := Packed(EncodeBins(b))
	if err := CheckPacked(p); err != nil {
		t.Fatal(err)
	}
	var u Unpacked
	if err := u.Reset(p); err != nil {
		t.Fatal(err)
	}
	for _, f := range []Fields{p, &u} {
		for name, v := range b {
			var got any
			switch v.(type) {
			case int64:
				got = f.Int(name)
			case string:
				got = f.Str(name)
			case []byte:
				got = f.Bytes(name)
			}
			if !reflect.DeepEqual(got, v) {
				t.Errorf("%T: bin %q: %#v, want %#v", f, name, got, v)
			}
		}
		if f.Int("s") != 0 || f.Str("a") != "" || f.Bytes("a") != nil || f.Int("absent") != 0 || f.Int("") != 0 {
			t.Fatalf("%T: a bin of another type or name reads as non-zero", f)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() {
		p.Str("state")
		p.Int("zero")
		p.Bytes("raw")
		var u Unpacked
		u.Reset(p)
		u.Str("state")
		u.Int("zero")
	}); allocs != 0 {
		t.Fatalf("reading a packed record allocates %v times", allocs)
	}
	many := Bins{}
	for k := range maxUnpacked + 1 {
		many[string(rune('a'+k))] = int64(k)
	}
	if err := u.Reset(EncodeBins(many)); err == nil || u.Int("a") != 0 {
		t.Fatalf("Reset of a record of %d bins: %v", len(many), err)
	}
	for k := range len(p) {
		cut := p[:k]
		if CheckPacked(cut) == nil {
			t.Fatalf("a record cut to %d of %d bytes passes CheckPacked", k, len(p))
		}
		if u.Reset(cut) == nil {
			t.Fatalf("a record cut to %d of %d bytes passes Reset", k, len(p))
		}
		for name := range b {
			cut.Int(name)
			cut.Str(name)
			cut.Bytes(name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(EncodeRows([]Row{{1, 2, 3, 4, 5}}))
	f.Add(EncodeHist([]Bucket{{1, 2}}))
	f.Add(EncodePointsLog(PointsLog{}.Append(1, 1, map[int32]int64{1: 1})))
	// Whole records: coded names, the old literal form, and both mixed with other names.
	f.Add([]byte(EncodeBins(Entry{ID: 9, Contest: 5, Lineup: Lineup{Players: []int32{1, 2}, Captain: 1, Vice: 2}}.Record().Bins)))
	f.Add(oldPack(Contest{ID: 5, Hist: []Bucket{{1, 2}}}.Record().Bins))
	f.Add([]byte(EncodeBins(Bins{"a": int64(1), "cycle": int64(2), "cycle2": "x", FenceEpochBin: int64(3), "zz": []byte{1}})))
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeRows(b)
		DecodeHist(b)
		DecodePointsLog(b)
		DecodeIDs(b)
		EntryFrom(Bins{"lineup": b})
		UserFrom(Bins{"entries": b})
		UserFrom(Bins{"ents": b})
		ContestChunkFrom(Bins{"contests": b})
		// b as a whole packed record: CheckPacked and the getters agree with DecodeBins.
		bins, err := DecodeBins(b)
		if (CheckPacked(b) == nil) != (err == nil) {
			t.Fatalf("CheckPacked and DecodeBins disagree on %x: %v", b, err)
		}
		p := Packed(b)
		for name, v := range bins {
			if x, ok := v.(int64); ok && p.Int(name) != x {
				t.Fatalf("bin %q: %d, want %d", name, p.Int(name), x)
			}
		}
		MatchFrom(p)
		ContestFrom(p)
		// Written again, fenced or not, with or without a stored version, b holds its
		// bins and the bins added, and Canonical keeps its bins. (Byte for byte they are
		// EncodeBins' for records with minimal varints, as writers write: an overlong
		// varint in b is copied as it is; TestPackedRecords, TestMixedForms.)
		if err == nil {
			for _, f := range []Fence{{}, {2, 3}} {
				for _, r := range []Record{{Set: SetEntry, Packed: p, Fence: f}, {Set: SetPage, Packed: p, Fence: f, KeepPrev: true}} {
					got, werr := PackWrite(r, p)
					want := maps.Clone(bins)
					if r.KeepPrev {
						for _, n := range PrevBins(SetPage) {
							if v, ok := bins[n]; ok {
								want[PrevName(n)] = v
							}
						}
					}
					if !f.IsZero() {
						want[FenceEpochBin], want[FenceCycleBin] = f.Epoch, f.Cycle
					}
					back, derr := DecodeBins(got)
					if werr != nil || derr != nil || !reflect.DeepEqual(back, want) {
						t.Fatalf("PackWrite(%s, fence %v) of %x: %x (%v), %v, %v; want %v", r.Set, f, b, got, back, werr, derr, want)
					}
				}
			}
			c, cerr := Canonical(p)
			back, derr := DecodeBins(c)
			if cerr != nil || derr != nil || !reflect.DeepEqual(back, bins) {
				t.Fatalf("Canonical(%x) = %x, %v, %v", b, c, cerr, derr)
			}
		} else if _, cerr := Canonical(p); cerr == nil {
			t.Fatalf("Canonical takes %x, DecodeBins does not: %v", b, err)
		}
		var u Unpacked
		if uerr := u.Reset(b); uerr == nil {
			if err != nil {
				t.Fatalf("Reset reads %x, DecodeBins does not: %v", b, err)
			}
			for name, v := range bins {
				if x, ok := v.([]byte); ok && string(u.Bytes(name)) != string(x) {
					t.Fatalf("bin %q: %x, want %x", name, u.Bytes(name), x)
				}
			}
		} else if err == nil && len(bins) <= maxUnpacked {
			t.Fatalf("DecodeBins reads %x, Reset does not: %v", b, uerr)
		}
		EntryFrom(&u)
	})
}

func TestBins(t *testing.T) {
	b := Bins{"a": int64(-5), "s": "x/y", "raw": []byte{1, 2, 3}, "empty": []byte{}}
	got, err := DecodeBins(EncodeBins(b))
	if err != nil || got.Int("a") != -5 || got.Str("s") != "x/y" || string(got.Bytes("raw")) != "\x01\x02\x03" || len(got) != 4 {
		t.Fatalf("%v %v", got, err)
	}
}

// TestPackExactSize: Pack allocates exactly the record's length (a store keeps the slice,
// slack included), and writes what the plain append encoding writes.
func TestPackExactSize(t *testing.T) {
	long := string(make([]byte, 200))
	ints := []int64{0, 1, -1, 63, 64, -64, -65, 8191, 8192, -8193, 1 << 40, math.MaxInt64, math.MinInt64}
	for i, v := range ints {
		b := Bins{"id": v, "n": int64(i), long[:MaxBinName]: -v, "s": long[:127], "t": long[:128], "raw": make([]byte, 300), "e": []byte{},
			FenceCycleBin: v, "rows": []byte{1}}
		p, err := Pack(b)
		if err != nil {
			t.Fatal(err)
		}
		if cap(p) != len(p) {
			t.Errorf("%d: Pack: len %d, cap %d: want no slack", v, len(p), cap(p))
		}
		// The reference: every value appended to a growing slice.
		names := slices.Sorted(maps.Keys(b))
		ref := binary.AppendUvarint(nil, uint64(len(names)))
		for _, n := range names {
			ref = refAppendName(ref, n)
			switch x := b[n].(type) {
			case int64:
				ref = binary.AppendVarint(append(ref, tagInt), x)
			case string:
				ref = append(binary.AppendUvarint(append(ref, tagStr), uint64(len(x))), x...)
			case []byte:
				ref = append(binary.AppendUvarint(append(ref, tagBytes), uint64(len(x))), x...)
			}
		}
		if string(p) != string(ref) {
			t.Fatalf("%d: Pack wrote %x, want %x", v, p, ref)
		}
	}
	for _, b := range []Bins{{}, {"x": int64(1)}} {
		if p := EncodeBins(b); cap(p) != len(p) {
			t.Errorf("%v: len %d, cap %d", b, len(p), cap(p))
		}
	}
	// A name longer than Aerospike's 15 bytes is refused, naming it: its length byte
	// would read as a code.
	for _, f := range []func(Bins) (Packed, error){Pack, func(b Bins) (Packed, error) { return PackFenced(b, Fence{1, 1}) }} {
		if _, err := f(Bins{"a_sixteen_bytes!": int64(1)}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "a_sixteen_bytes!") {
			t.Errorf("a 16-byte name: %v; want ErrCorrupt naming it", err)
		}
	}
}

// refAppendName is the packed form of a name (names.go), found without nameCodes: its
// code when codedNames holds it, else its length and bytes.
func refAppendName(b []byte, name string) []byte {
	for i, n := range codedNames {
		if n == name {
			return append(b, byte(codeBase+i))
		}
	}
	return append(append(b, byte(len(name))), name...)
}

// TestPackFenced: PackFenced writes what Pack writes for the bins with the fence's two
// bins set (replacing bins of those names), with no slack.
func TestPackFenced(t *testing.T) {
	e := Entry{ID: 1_234_567, Contest: 44_000, Match: 1, User: 400_000, Team: 3,
		Lineup: Lineup{Players: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Captain: 1, Vice: 2}}
	for _, f := range []Fence{{Epoch: 1, Cycle: 1}, {Epoch: 0, Cycle: 14447305}, {Epoch: math.MaxInt64, Cycle: -3}} {
		for _, b := range []Bins{e.Record().Bins, {}, {FenceEpochBin: int64(99), "z": "x", "a": []byte{1}}} {
			got, err := PackFenced(b, f)
			if err != nil {
				t.Fatal(err)
			}
			want := maps.Clone(b)
			if want == nil {
				want = Bins{}
			}
			want[FenceEpochBin], want[FenceCycleBin] = f.Epoch, f.Cycle
			if string(got) != string(EncodeBins(want)) {
				t.Fatalf("PackFenced(%v, %v) = %x; want %x", b, f, got, EncodeBins(want))
			}
			if cap(got) != len(got) {
				t.Errorf("PackFenced: len %d, cap %d", len(got), cap(got))
			}
			if pf := Packed(got).Fence(); pf != f || pf != (Fence{Packed(got).Int(FenceEpochBin), Packed(got).Int(FenceCycleBin)}) {
				t.Errorf("fence %v read back as %v", f, pf)
			}
			if StoredFence(want) != f || Packed(got).Int(FenceCycleBin) != f.Cycle {
				t.Errorf("fence %v read back as %v", f, StoredFence(want))
			}
		}
	}
	if f := Packed(EncodeBins(Bins{"a": int64(1)})).Fence(); !f.IsZero() {
		t.Errorf("no fence bins: Fence() = %v", f)
	}
	if f := Packed(EncodeBins(Bins{FenceEpochBin: "x", FenceCycleBin: int64(4)})).Fence(); f != (Fence{Cycle: 4}) {
		t.Errorf("a string epoch bin: Fence() = %v; want the cycle only, as Int reads them", f)
	}
	if _, err := PackFenced(Bins{"x": 1.5}, Fence{Epoch: 1}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a float bin: %v; want ErrCorrupt", err)
	}
}

// TestRecordSizes: entry and user records size their encoded lineups exactly (a cold start
// encodes millions; a short estimate regrows, a long one wastes).
func TestRecordSizes(t *testing.T) {
	for _, l := range []Lineup{{}, {Players: []int32{1, 2, 3}, Captain: 1, Vice: 3},
		{Players: []int32{-1, 63, 64, -65, 8191, 8192, math.MaxInt32, math.MinInt32}, Captain: math.MaxInt32, Vice: -70}} {
		b := Entry{ID: 1, Lineup: l}.Record().Bins.Bytes("lineup")
		if len(b) != cap(b) {
			t.Errorf("%v: entry lineup len %d, cap %d", l, len(b), cap(b))
		}
		if got, err := DecodeLineup(b); err != nil || !reflect.DeepEqual(got.Players, l.Players) && len(l.Players) > 0 {
			t.Errorf("%v: decoded %v, %v", l, got, err)
		}
		u := User{Match: 1, User: 2, Entries: []Entry{{ID: 300, Contest: -5, Team: math.MaxInt64, Lineup: l}, {ID: 1, Lineup: l}}}
		if b := u.Record().Bins.Bytes("entries"); len(b) != cap(b) {
			t.Errorf("%v: user entries len %d, cap %d", l, len(b), cap(b))
		}
	}
}

// BenchmarkEntryUserRecord: an entry record and a 3-entry user record, as a first cycle
// encodes millions of each (allocations and bytes per pair).
func BenchmarkEntryUserRecord(b *testing.B) {
	l := Lineup{Players: []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Captain: 1, Vice: 2}
	e := Entry{ID: 1_234_567, Contest: 44_000, Match: 1, User: 400_000, Team: 3, Lineup: l}
	u := User{Match: 1, User: 400_000, Entries: []Entry{e, e, e}}
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Record()
		_ = u.Record()
	}
}

// TestMergeLogs: two workers' logs of one match, each over its own players and from its
// own first cycle, merge into a log whose points at every cycle are those of both.
func TestMergeLogs(t *testing.T) {
	truth := []map[int32]int64{ // cycle -> every player's points
		1: {1: 0, 2: 0, 3: 0},
		2: {1: 10, 2: 0, 3: 5},
		3: {1: 10, 2: 7, 3: 5},
		4: {1: 12, 2: 7, 3: 9},
	}
	only := func(pts map[int32]int64, players ...int32) map[int32]int64 {
		out := map[int32]int64{}
		for _, p := range players {
			out[p] = pts[p]
		}
		return out
	}
	var a, b PointsLog
	for c := int64(1); c <= 4; c++ {
		a = a.Append(c, c*100, only(truth[c], 1, 2)) // a worker holding players 1 and 2 from cycle 1
		if c >= 3 {
			b = b.Append(c, c*100, only(truth[c], 2, 3)) // another, holding 2 and 3, from cycle 3
		}
	}
	for _, m := range []PointsLog{MergeLogs(a, b), MergeLogs(b, a)} {
		for c := int64(3); c <= 4; c++ {
			if got := m.At(c); !reflect.DeepEqual(got, truth[c]) {
				t.Errorf("cycle %d: merged %v, want %v (logs %+v and %+v)", c, got, truth[c], a, b)
			}
		}
		if got := m.At(2); got[1] != 10 || got[2] != 0 {
			t.Errorf("cycle 2: merged %v: want a's players as a had them", got)
		}
	}
	if got := MergeLogs(a, nil); !reflect.DeepEqual(got, a) {
		t.Errorf("merge with nothing changed the log")
	}
}

// linedUserBins are the bins of u's user record in the form of the builds before "ents"
// (User.Lined): each entry's id, contest, team and lineup in an "entries" bin.
func linedUserBins(u User) Bins {
	var w writer
	w.u(uint64(len(u.Entries)))
	for _, e := range u.Entries {
		w.i(e.ID)
		w.i(e.Contest)
		w.i(e.Team)
		w.lineup(e.Lineup)
	}
	return Bins{"match": u.Match, "user": u.User, "part": int64(u.Part), "entries": w.b}
}
