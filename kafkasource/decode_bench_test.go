package kafkasource

import (
	"math/rand/v2"
	"testing"
)

// sparseEntries are n entry events as a match day's look: a squad of 22 players with
// sparse 6-digit ids (so ids often share their low bits), lineups of 11 of them, 8-digit
// entry, user and team ids.
func sparseEntries(n int) [][]byte {
	r := rand.New(rand.NewPCG(5, 6))
	squad := make([]int32, 22)
	for i := range squad {
		squad[i] = 100_000 + r.Int32N(900_000)
	}
	out := make([][]byte, n)
	for k := range out {
		perm := r.Perm(len(squad))[:11]
		players := make([]int32, 11)
		for i, j := range perm {
			players[i] = squad[j]
		}
		id := 10_000_000 + r.Int64N(80_000_000)
		out[k] = EncodeEntry(EntryEvent{MatchID: 1795, ContestID: 1_000_000 + r.Int64N(200_000), EntryID: id, UserID: id/3 + 1, TeamID: id/2 + 1,
			Players: players, Captain: players[0], ViceCaptain: players[1]})
	}
	return out
}

// BenchmarkDecodeEntrySparse decodes entry events with sparse player ids (the shape
// `gen` writes), one after another as Poll does.
//
//	go test -run '^$' -bench DecodeEntrySparse ./kafkasource
func BenchmarkDecodeEntrySparse(b *testing.B) {
	values := sparseEntries(4096)
	var slab []int32
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, rerr := decodeEntry(values[i&4095], 11, &slab); rerr != nil {
			b.Fatal(rerr)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
