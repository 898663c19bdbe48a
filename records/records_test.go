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
		back func(Bins) (any, error)
		want any
	}{
		"match":   {Match{1, StateLive, 2, 200, 10, 3, log}.Record(), func(b Bins) (any, error) { return MatchFrom(b) }, Match{1, StateLive, 2, 200, 10, 3, log}},
		"contest": {Contest{5, 1, 2, 200, 4, 100, hist, rows}.Record(), func(b Bins) (any, error) { return ContestFrom(b) }, Contest{5, 1, 2, 200, 4, 100, hist, rows}},
		"page":    {Page{5, 3, 2, rows}.Record(), func(b Bins) (any, error) { return PageFrom(b) }, Page{5, 3, 2, rows}},
		"entry":   {Entry{9, 5, 1, 90, 5, l}.Record(), func(b Bins) (any, error) { return EntryFrom(b) }, Entry{9, 5, 1, 90, 5, l}},
		"user":    {User{1, 90, []Entry{{9, 5, 1, 90, 5, l}}}.Record(), func(b Bins) (any, error) { return UserFrom(b) }, User{1, 90, []Entry{{9, 5, 1, 90, 5, l}}}},
		"chunk":   {ContestChunk{1, 0, 2, []ContestSize{{5, 4}, {6, 2}}}.Record(), func(b Bins) (any, error) { return ContestChunkFrom(b) }, ContestChunk{1, 0, 2, []ContestSize{{5, 4}, {6, 2}}}},
		"matches": {Matches{[]int64{1, 2}}.Record(), func(b Bins) (any, error) { return MatchesFrom(b) }, Matches{[]int64{1, 2}}},
	} {
		got, err := tc.back(tc.rec.Bins)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v; want %+v", name, got, err, tc.want)
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
	})
}

func TestBins(t *testing.T) {
	b := Bins{"a": int64(-5), "s": "x/y", "raw": []byte{1, 2, 3}, "empty": []byte{}}
	got, err := DecodeBins(EncodeBins(b))
	if err != nil || got.Int("a") != -5 || got.Str("s") != "x/y" || string(got.Bytes("raw")) != "\x01\x02\x03" || len(got) != 4 {
		t.Fatalf("%v %v", got, err)
	}
}
