package records

import (
	"reflect"
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
		"match":   {Match{1, StateLive, 2, 200, 10, 3, log}.Record(), func(b Fields) (any, error) { return MatchFrom(b) }, Match{1, StateLive, 2, 200, 10, 3, log}},
		"contest": {Contest{5, 1, 2, 200, 4, 100, hist, rows}.Record(), func(b Fields) (any, error) { return ContestFrom(b) }, Contest{5, 1, 2, 200, 4, 100, hist, rows}},
		"page":    {Page{5, 3, 2, rows}.Record(), func(b Fields) (any, error) { return PageFrom(b) }, Page{5, 3, 2, rows}},
		"entry":   {Entry{9, 5, 1, 90, 5, l}.Record(), func(b Fields) (any, error) { return EntryFrom(b) }, Entry{9, 5, 1, 90, 5, l}},
		"user":    {User{1, 90, []Entry{{9, 5, 1, 90, 5, l}}}.Record(), func(b Fields) (any, error) { return UserFrom(b) }, User{1, 90, []Entry{{9, 5, 1, 90, 5, l}}}},
		"chunk":   {ContestChunk{1, 0, 2, []ContestSize{{5, 4}, {6, 2}}}.Record(), func(b Fields) (any, error) { return ContestChunkFrom(b) }, ContestChunk{1, 0, 2, []ContestSize{{5, 4}, {6, 2}}}},
		"matches": {Matches{[]int64{1, 2}}.Record(), func(b Fields) (any, error) { return MatchesFrom(b) }, Matches{[]int64{1, 2}}},
	} {
		// As a map, and packed (read in place, as the API reads the embedded store).
		for _, b := range []Fields{tc.rec.Bins, Packed(EncodeBins(tc.rec.Bins))} {
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
	for name, v := range b {
		var got any
		switch v.(type) {
		case int64:
			got = p.Int(name)
		case string:
			got = p.Str(name)
		case []byte:
			got = p.Bytes(name)
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("bin %q: %#v, want %#v", name, got, v)
		}
	}
	if p.Int("s") != 0 || p.Str("a") != "" || p.Bytes("a") != nil || p.Int("absent") != 0 || p.Int("") != 0 {
		t.Fatal("a bin of another type or name reads as non-zero")
	}
	if allocs := testing.AllocsPerRun(100, func() { p.Str("state"); p.Int("zero"); p.Bytes("raw") }); allocs != 0 {
		t.Fatalf("reading a packed record allocates %v times", allocs)
	}
	for k := range len(p) {
		cut := p[:k]
		if CheckPacked(cut) == nil {
			t.Fatalf("a record cut to %d of %d bytes passes CheckPacked", k, len(p))
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
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeRows(b)
		DecodeHist(b)
		DecodePointsLog(b)
		DecodeIDs(b)
		EntryFrom(Bins{"lineup": b})
		UserFrom(Bins{"entries": b})
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
	})
}

func TestBins(t *testing.T) {
	b := Bins{"a": int64(-5), "s": "x/y", "raw": []byte{1, 2, 3}, "empty": []byte{}}
	got, err := DecodeBins(EncodeBins(b))
	if err != nil || got.Int("a") != -5 || got.Str("s") != "x/y" || string(got.Bytes("raw")) != "\x01\x02\x03" || len(got) != 4 {
		t.Fatalf("%v %v", got, err)
	}
}
