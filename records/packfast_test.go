package records

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestArenaReset: an Arena Reset hands its chunks out again: the records packed after
// are the same bytes as from a fresh arena, each with no room past its bytes, a record
// larger than a chunk gets one of its own, and once the chunks hold a task's records
// packing them again allocates nothing.
func TestArenaReset(t *testing.T) {
	lin := AppendLineup(nil, []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 1, 2)
	var ue UserEncoder
	pack := func(a *Arena, round int) [][]byte {
		out := make([][]byte, 0, 3001)
		for k := range 3000 { // ~3 chunks of entry records
			h := EntryHead{ID: int64(k + round), Contest: 2_044_000, Match: 94_000, User: int64(k), Team: 3, Part: 9}
			out = append(out, a.Entry(h, lin))
			if k == 1500 {
				ue.Reset()
				for j := range arenaChunk/2 + 1 { // a user record past a chunk: >= 2 bytes an entry
					ue.Add(int64(k+j), 2)
				}
				out = append(out, a.User(94_000, int64(k+round), 9, &ue))
			}
		}
		return out
	}
	var a, fresh Arena
	pack(&a, 0)
	size := a.Size()
	for round := 1; round <= 3; round++ {
		a.Reset()
		got, want := pack(&a, round), pack(&fresh, round)
		fresh = Arena{}
		for k := range want {
			if !bytes.Equal(got[k], want[k]) {
				t.Fatalf("round %d, record %d: %x, want %x", round, k, got[k], want[k])
			}
			if cap(got[k]) != len(got[k]) {
				t.Fatalf("round %d, record %d: room past its bytes", round, k)
			}
		}
		if a.Size() != size {
			t.Fatalf("round %d: %d bytes of chunks, %d after the first round: chunks not reused", round, a.Size(), size)
		}
	}
	if n := testing.AllocsPerRun(5, func() { a.Reset(); pack(&a, 0) }); n > 1 { // pack's own slice of records
		t.Fatalf("packing into a reset arena: %v allocations", n)
	}
}

// TestKeysSetShared: SetShared gives the keys Set gives, without an allocation, and
// the next keys reuse the same buffer.
func TestKeysSetShared(t *testing.T) {
	var k, shared Keys
	add := func(k *Keys, round int64) {
		k.ID(round)
		k.User(1, 2+round, 3)
		k.Page(44, int(round))
	}
	recs, want := make([]Record, 3), make([]Record, 3)
	for round := range int64(3) {
		add(&k, round)
		k.Set(want)
		add(&shared, round)
		shared.SetShared(recs)
		for j := range recs {
			if recs[j].Key != want[j].Key {
				t.Fatalf("round %d, key %d: %q, want %q", round, j, recs[j].Key, want[j].Key)
			}
		}
	}
	old := strings.Clone(recs[0].Key)
	add(&shared, 7)
	if recs[0].Key == old {
		t.Fatalf("key %q kept after the next keys: want its buffer reused", old)
	}
	shared.SetShared(recs)
	if n := testing.AllocsPerRun(10, func() { add(&shared, 1); shared.SetShared(recs) }); n != 0 {
		t.Fatalf("SetShared: %v allocations, want 0", n)
	}
	add(&shared, 1)
	shared.Reset()
	shared.SetShared(recs[:0]) // Reset dropped the keys added
}

// TestLineupCodes: LineupCodes.Append writes AppendLineup's bytes, for ids of every
// varint length (negative, zero, the int32 extremes), lineups of any size, onto a dst
// with room to spare, without, and after other bytes.
func TestLineupCodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	players := []int32{0, -1, 1, 63, -64, 64, 8191, -8192, 1 << 20, -1 << 20, 123456, 999_999, math.MaxInt32, math.MinInt32}
	for len(players) < 256 {
		players = append(players, int32(rng.Uint32()))
	}
	var c LineupCodes
	c.Reset(players)
	var dst []byte
	for round := range 2000 {
		size := 1 + rng.IntN(15)
		slots := make([]uint8, size)
		ids := make([]int32, size)
		for k := range slots {
			slots[k] = uint8(rng.IntN(len(players)))
			ids[k] = players[slots[k]]
		}
		cs, vs := uint8(rng.IntN(len(players))), uint8(rng.IntN(len(players)))
		if round%3 == 0 {
			dst = dst[:0:0] // no room
		}
		prefix := slices.Clone(dst)
		dst = c.Append(dst, slots, cs, vs)
		want := AppendLineup(prefix, ids, players[cs], players[vs])
		if !bytes.Equal(dst, want) {
			t.Fatalf("round %d: %x, want %x", round, dst, want)
		}
	}
	// A smaller dictionary after Reset.
	c.Reset([]int32{5, -5})
	if got, want := c.Append(nil, []uint8{1, 0}, 0, 1), AppendLineup(nil, []int32{-5, 5}, 5, -5); !bytes.Equal(got, want) {
		t.Fatalf("%x, want %x", got, want)
	}
}
