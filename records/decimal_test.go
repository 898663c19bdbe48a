package records

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestAppendDec: appendDec gives strconv.AppendInt's bytes for every digit count, both
// sides of each power of ten, the extremes and random values, appended after what the
// buffer holds, with and without room.
func TestAppendDec(t *testing.T) {
	vals := []int64{0, 1, 9, 10, 11, 99, 100, 101, math.MaxInt64, math.MaxInt64 - 1, -1, -9, -10, math.MinInt64, math.MinInt64 + 1}
	for p := int64(1); p <= math.MaxInt64/10; p *= 10 {
		vals = append(vals, p-1, p, p+1, 10*p-1, -p)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		vals = append(vals, rng.Int64()>>rng.IntN(63), -rng.Int64N(1<<40))
	}
	room := make([]byte, 3, 64)
	copy(room, "ab/")
	for _, v := range vals {
		want := strconv.AppendInt([]byte("ab/"), v, 10)
		if got := appendDec([]byte("ab/"), v); string(got) != string(want) {
			t.Fatalf("appendDec(%d) without room = %q, want %q", v, got, want)
		}
		if got := appendDec(room[:3], v); string(got) != string(want) {
			t.Fatalf("appendDec(%d) with room = %q, want %q", v, got, want)
		}
	}
}

// BenchmarkAppendDec: entry ids of a cold start at 5.6M (8 digits), appendDec against
// strconv.AppendInt.
//
//	go test -run '^$' -bench AppendDec ./records
func BenchmarkAppendDec(b *testing.B) {
	buf := make([]byte, 0, 16<<10)
	for _, c := range []struct {
		name string
		f    func([]byte, int64) []byte
	}{{"appendDec", appendDec}, {"strconv", func(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				buf = buf[:0]
				for i := range int64(1000) {
					buf = c.f(buf, 41_000_000+7*i)
				}
			}
		})
	}
}
