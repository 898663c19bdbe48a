package kafkasource

import (
	"math"
	"reflect"
	"testing"
)

var entrySeeds = [][]byte{
	entry(),
	entry("withdrawn", "true"),
	obj("match_id", "1", "contest_id", "10", "entry_id", "100", "withdrawn", "true"),
	entry("players", "[101,102,103,104,105,106,107,108,109,110,101]"),
	entry("entry_id", "1.5"),
	entry("captain", `"101"`),
	entry("meta", `{"a":[1,{"b":"\u00e9\n"}]}`, "s", `"x\"y"`),
	[]byte(`{"match_id":1,"match_id":2}`),
	[]byte(`{"match\u005fid":1}`),
	[]byte(` [ ] `),
	[]byte(`{"players":[1,2,3]}`),
}

// FuzzDecodeEntry: decoding never panics, the fast decoder agrees exactly with the
// encoding/json reference (event or rejection), and an accepted event survives
// encode → decode.
func FuzzDecodeEntry(f *testing.F) {
	for _, s := range entrySeeds {
		f.Add(s, uint8(11))
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, value []byte, size uint8) {
		lineup := int(size % (MaxLineupSize + 2))
		got, err := DecodeEntry(value, lineup)
		ref, rerr := decodeEntryReference(value, lineup)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("DecodeEntry(%q, %d) = %v, reference %v", value, lineup, err, rerr)
		}
		if err != nil {
			if err.Error() != rerr.Error() {
				t.Fatalf("DecodeEntry(%q, %d) = %v, reference %v", value, lineup, err, rerr)
			}
			return
		}
		if !reflect.DeepEqual(got, ref) {
			t.Fatalf("DecodeEntry(%q, %d)\n = %+v\nreference %+v", value, lineup, got, ref)
		}
		again, err := DecodeEntry(EncodeEntry(got), lineup)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip of %+v: %+v, %v", got, again, err)
		}
	})
}

// FuzzEntryRoundTrip: an event built from fuzzed fields encodes to JSON that decodes
// back to it when it is valid, and is rejected when an id is not positive.
func FuzzEntryRoundTrip(f *testing.F) {
	f.Add(int64(1), int64(10), int64(100), int64(7), int64(55), int32(101), uint8(11), false)
	f.Add(int64(1<<62), int64(1), int64(1<<63-1), int64(1), int64(1), int32(math.MaxInt32-20), uint8(2), false)
	f.Add(int64(0), int64(10), int64(100), int64(7), int64(55), int32(101), uint8(11), true)
	f.Fuzz(func(t *testing.T, m, c, e, u, team int64, first int32, n uint8, withdrawn bool) {
		size := 2 + int(n)%(MaxLineupSize-1)
		ev := EntryEvent{MatchID: m, ContestID: c, EntryID: e, Withdrawn: withdrawn}
		if !withdrawn {
			ev.UserID, ev.TeamID = u, team
			for i := range size {
				ev.Players = append(ev.Players, first+int32(i)*7)
			}
			ev.Captain, ev.ViceCaptain = ev.Players[size-1], ev.Players[0]
		}
		valid := m > 0 && c > 0 && e > 0
		if !withdrawn {
			valid = valid && u > 0 && team > 0 && first > 0 && int64(first)+int64(size-1)*7 <= math.MaxInt32
		}
		got, err := DecodeEntry(EncodeEntry(ev), size)
		if !valid {
			if err == nil {
				t.Fatalf("invalid %+v accepted", ev)
			}
			return
		}
		if err != nil || !reflect.DeepEqual(got, ev) {
			t.Fatalf("round trip of %+v: %+v, %v", ev, got, err)
		}
	})
}

// FuzzDecodePoints: never panics; an accepted event survives encode → decode.
func FuzzDecodePoints(f *testing.F) {
	for _, s := range [][]byte{points(), points("points", "-2"), points("points", "0.125"), points("points", "1e400"),
		points("points", "52.500000000000000001"), points("points", "5250e-2"), points("ts", "")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		got, err := DecodePoints(value)
		if err != nil {
			return
		}
		again, err := DecodePoints(EncodePoints(got))
		if err != nil || again != got {
			t.Fatalf("round trip of %+v (from %q): %+v, %v", got, value, again, err)
		}
	})
}

// FuzzPointsRoundTrip: every centipoints value within range survives encode → decode.
func FuzzPointsRoundTrip(f *testing.F) {
	f.Add(int64(1), int32(101), int64(5250), int64(1795740000000))
	f.Add(int64(1), int32(1), int64(-10000000), int64(0))
	f.Fuzz(func(t *testing.T, m int64, player int32, centi, ts int64) {
		ev := PointsEvent{MatchID: m, PlayerID: player, Centi: centi, TS: ts}
		valid := m > 0 && player > 0 && ts >= 0 && centi >= -10000000 && centi <= 10000000
		got, err := DecodePoints(EncodePoints(ev))
		if valid != (err == nil) || valid && got != ev {
			t.Fatalf("round trip of %+v (valid %v): %+v, %v", ev, valid, got, err)
		}
	})
}

// FuzzDecodeMatch: never panics; an accepted event survives encode → decode.
func FuzzDecodeMatch(f *testing.F) {
	for _, s := range [][]byte{match(), match("state", `"completed"`), match("state", `"x"`), match("ts", "")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		got, err := DecodeMatch(value)
		if err != nil {
			return
		}
		again, err := DecodeMatch(EncodeMatch(got))
		if err != nil || again != got {
			t.Fatalf("round trip of %+v (from %q): %+v, %v", got, value, again, err)
		}
	})
}

func BenchmarkDecodeEntry(b *testing.B) {
	value := []byte(`{"match_id":1795,"contest_id":1000123,"entry_id":55000123,"user_id":7000123,"team_id":88000123,"players":[100101,100102,100103,100104,100105,100106,100107,100108,100109,100110,100111],"captain":100101,"vice_captain":100102}`)
	for _, impl := range []struct {
		name string
		fn   func([]byte, *[]int32) *RejectError
	}{
		{"fast", func(v []byte, slab *[]int32) *RejectError { _, rerr := decodeEntry(v, 11, slab); return rerr }},
		{"reference", func(v []byte, _ *[]int32) *RejectError { _, rerr := decodeEntryReference(v, 11); return rerr }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			var slab []int32
			for b.Loop() {
				if rerr := impl.fn(value, &slab); rerr != nil {
					b.Fatal(rerr)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
