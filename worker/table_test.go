package worker

import (
	"math/rand/v2"
	"testing"
)

// TestTableAgainstMap runs random puts, gets and deletes on a table and on a Go map and
// wants the same answers: keys from a small range (so deletes hit and runs of probes
// collide and wrap around the slice end), key 0 and negative keys included.
func TestTableAgainstMap(t *testing.T) {
	for _, keys := range []int64{8, 100, 5000} {
		rng := rand.New(rand.NewPCG(uint64(keys), 7))
		var tb table
		ref := map[int64]int64{}
		for step := range 40_000 {
			k := rng.Int64N(keys) - keys/4
			switch rng.IntN(4) {
			case 0:
				v := rng.Int64()
				tb.put(k, v)
				ref[k] = v
			case 1: // as applyEntry puts: find, then putAt the slot found
				v := rng.Int64()
				old, ok, at := tb.find(k)
				if want, wantOK := ref[k]; ok != wantOK || old != want {
					t.Fatalf("keys %d, step %d: find(%d) = %d, %v; want %d, %v", keys, step, k, old, ok, want, wantOK)
				}
				tb.putAt(at, k, v)
				ref[k] = v
			case 2:
				tb.del(k)
				delete(ref, k)
			}
			got, ok := tb.get(k)
			want, wantOK := ref[k]
			if ok != wantOK || got != want {
				t.Fatalf("keys %d, step %d: get(%d) = %d, %v; want %d, %v", keys, step, k, got, ok, want, wantOK)
			}
			if tb.len() != len(ref) {
				t.Fatalf("keys %d, step %d: len %d, want %d", keys, step, tb.len(), len(ref))
			}
		}
		n := 0
		tb.each(func(k, v int64) {
			n++
			if want, ok := ref[k]; !ok || want != v {
				t.Fatalf("keys %d: each gave %d=%d; the map holds %d, %v", keys, k, v, want, ok)
			}
		})
		if n != len(ref) {
			t.Fatalf("keys %d: each gave %d keys, want %d", keys, n, len(ref))
		}
		for k := range ref { // every key still found after all the shifting
			if v, ok := tb.get(k); !ok || v != ref[k] {
				t.Fatalf("keys %d: get(%d) = %d, %v; want %d", keys, k, v, ok, ref[k])
			}
		}
	}
}

// TestTableDeleteWraps deletes from a run of probes that wraps past the last slot: the
// keys after the hole must stay reachable.
func TestTableDeleteWraps(t *testing.T) {
	var tb table
	tb.reserve(8)
	size := len(tb.slots)
	// Keys whose home is one of the last two slots, enough to wrap round to the start.
	var ks []int64
	for k := int64(1); len(ks) < 6; k++ {
		if h := tb.home(k); h >= size-2 {
			ks = append(ks, k)
		}
	}
	if tb.reserve(len(ks)); len(tb.slots) != size {
		t.Fatalf("reserve(%d) grew a table reserved for 8", len(ks))
	}
	for i, k := range ks {
		tb.put(k, int64(i))
	}
	for _, gone := range ks[:3] {
		tb.del(gone)
		if _, ok := tb.get(gone); ok {
			t.Fatalf("key %d deleted but still found", gone)
		}
	}
	for i, k := range ks[3:] {
		if v, ok := tb.get(k); !ok || v != int64(i+3) {
			t.Fatalf("key %d: got %d, %v; want %d", k, v, ok, i+3)
		}
	}
}

func TestTableReserveHolds(t *testing.T) {
	var tb table
	tb.reserve(1000)
	slots := len(tb.slots)
	for k := range int64(1000) {
		tb.put(k+1, k)
	}
	if len(tb.slots) != slots {
		t.Fatalf("reserve(1000) gave %d slots, grown to %d by 1000 puts", slots, len(tb.slots))
	}
	if tb.len() != 1000 {
		t.Fatalf("len %d, want 1000", tb.len())
	}
}

// TestPlayerSetAgainstMap adds and looks up ids from a small range (0 and negative ids
// too, runs that collide), then the sparse ids of real matches: 6-digit ids, and ids
// that are multiples of a power of two (the multiplicative hash's weak case).
func TestPlayerSetAgainstMap(t *testing.T) {
	for _, ids := range []func(*rand.Rand) int32{
		func(rng *rand.Rand) int32 { return rng.Int32N(2000) - 10 },
		func(rng *rand.Rand) int32 { return 100_000 + rng.Int32N(900_000) },
		func(rng *rand.Rand) int32 { return rng.Int32N(300) << 20 },
	} {
		testPlayerSet(t, ids)
	}
}

func testPlayerSet(t *testing.T, id func(*rand.Rand) int32) {
	rng := rand.New(rand.NewPCG(3, 9))
	var s playerSet
	ref := map[int32]bool{}
	for step := range 5000 {
		p := id(rng)
		if rng.IntN(2) == 0 {
			s.add(p)
			ref[p] = true
		}
		if got := s.has(p); got != ref[p] {
			t.Fatalf("step %d: has(%d) = %v, want %v", step, p, got, ref[p])
		}
		if s.len() != len(ref) {
			t.Fatalf("step %d: len %d, want %d", step, s.len(), len(ref))
		}
	}
	for p := range ref {
		if !s.has(p) {
			t.Fatalf("has(%d) = false after add", p)
		}
	}
	for range 5000 {
		if p := id(rng); s.has(p) != ref[p] {
			t.Fatalf("has(%d) = %v, want %v", p, s.has(p), ref[p])
		}
	}
}

func TestTableFit(t *testing.T) {
	var tb table
	tb.reserve(10_000)
	for k := range int64(100) {
		tb.put(k+1, -k)
	}
	tb.fit()
	if len(tb.slots) != 150 {
		t.Fatalf("fit left %d slots for 100 keys, want 150 (two thirds full)", len(tb.slots))
	}
	for k := range int64(100) {
		if v, ok := tb.get(k + 1); !ok || v != -k {
			t.Fatalf("after fit: get(%d) = %d, %v; want %d", k+1, v, ok, -k)
		}
	}
	tb.fit() // two thirds full: stays
	if len(tb.slots) != 150 {
		t.Fatalf("fit of a table two thirds full resized it to %d slots", len(tb.slots))
	}
	// A table grown to half full as keys came is fitted; the next keys past three
	// quarters grow it again.
	var grown table
	for k := range int64(1000) {
		grown.put(k+1, k)
	}
	before := len(grown.slots)
	grown.fit()
	if len(grown.slots) >= before || grown.n*3 > len(grown.slots)*2 {
		t.Fatalf("fit of a table of %d keys in %d slots: %d slots", grown.n, before, len(grown.slots))
	}
	for k := int64(1000); k < 1200; k++ {
		grown.put(k+1, k)
	}
	for k := range int64(1200) {
		if v, ok := grown.get(k + 1); !ok || v != k {
			t.Fatalf("after fit and growth: get(%d) = %d, %v", k+1, v, ok)
		}
	}
}
