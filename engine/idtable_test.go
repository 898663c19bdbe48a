package engine

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestIDIndexSparse: ids past the dense range (negative, huge, colliding in their low
// bits) are found with their numbers through the table's growth, a put again
// overwrites, and absent ids are absent; the same as a map.
func TestIDIndexSparse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := newIDIndex(10)
	want := map[int64]uint32{}
	for i := range 20000 {
		var id int64
		switch i % 4 {
		case 0:
			id = rng.Int64N(5000) // dense and sparse
		case 1:
			id = -rng.Int64N(1 << 40)
		case 2:
			id = rng.Int64N(1000) << 32 // low bits equal
		default:
			id = int64(rng.Uint64())
		}
		v := uint32(rng.IntN(1 << 30))
		x.put(id, v)
		want[id] = v
	}
	for id, v := range want {
		if got, ok := x.get(id); !ok || got != v {
			t.Fatalf("id %d: got %d %v, want %d", id, got, ok, v)
		}
	}
	for range 20000 {
		id := int64(rng.Uint64())
		if _, in := want[id]; in {
			continue
		}
		if _, ok := x.get(id); ok {
			t.Fatalf("id %d found, never put", id)
		}
	}
	var empty idIndex
	if _, ok := empty.get(1 << 50); ok {
		t.Fatal("an empty index found an id")
	}
}

// TestDuplicateIDPaths: the bitset and the radix path find a repeated id (the smallest,
// on the radix path) and no id where there is none, ids dense, negative, spread over all
// of int64.
func TestDuplicateIDPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, span := range []int64{100, 1 << 20, 1 << 62} {
		for _, n := range []int{2, 3, 1000, 50000} {
			if int64(n) > span/2 {
				continue
			}
			ids := make([]int64, 0, n)
			seen := map[int64]bool{}
			for len(ids) < n {
				id := rng.Int64N(span) - span/2
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
			if dup, ok := duplicateID(ids); ok {
				t.Fatalf("span %d, n %d: %d reported twice among distinct ids", span, n, dup)
			}
			a, b := ids[rng.IntN(n)], ids[rng.IntN(n)]
			with := append(slices.Clone(ids), a, b)
			rng.Shuffle(len(with), func(i, j int) { with[i], with[j] = with[j], with[i] })
			dup, ok := duplicateID(with)
			if !ok || (dup != a && dup != b) {
				t.Fatalf("span %d, n %d: got %d %v, want %d or %d", span, n, dup, ok, a, b)
			}
		}
	}
}

// TestBuildFitsTeamTables: a partition keeps its team tables at their length, not the
// room the builder grew them to.
func TestBuildFitsTeamTables(t *testing.T) {
	b := NewBuilder(2, 0)
	for i := range 3000 { // teams arrive in contest order: no renumbering copies them
		if err := b.Add(Entry{ContestID: 1, EntryID: int64(i), UserID: 1, TeamID: int64(i), Players: []int32{1, 2}, Captain: 1, ViceCaptain: 2}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := b.Build(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string][2]int{"teamID": {len(p.teamID), cap(p.teamID)}, "teamSlot": {len(p.teamSlot), cap(p.teamSlot)},
		"captain": {len(p.captain), cap(p.captain)}, "vice": {len(p.vice), cap(p.vice)}} {
		if c[1] > c[0]+c[0]/8 {
			t.Fatalf("%s: %d long, room for %d", name, c[0], c[1])
		}
	}
}
