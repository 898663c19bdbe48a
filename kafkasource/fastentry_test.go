package kafkasource

import (
	"math/rand/v2"
	"testing"
)

// digits8 against the obvious loop: every byte value at every position, and random words
// of digits and the bytes next to them ('/' and ':' border '0'..'9').
func TestDigits8(t *testing.T) {
	want := func(b []byte) (int64, int) {
		var v int64
		n := 0
		for n < len(b) && b[n] >= '0' && b[n] <= '9' {
			v = v*10 + int64(b[n]-'0')
			n++
		}
		return v, n
	}
	check := func(b []byte) {
		t.Helper()
		gv, gn := digits8(b)
		wv, wn := want(b)
		if gv != wv || gn != wn {
			t.Fatalf("digits8(%q) = %d, %d digits; want %d, %d", b, gv, gn, wv, wn)
		}
	}
	base := []byte("12345678")
	for pos := range 8 {
		for c := range 256 {
			b := append([]byte(nil), base...)
			b[pos] = byte(c)
			check(b)
		}
	}
	alphabet := []byte("0123456789/:.eE\x00\xff \"")
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		var b [8]byte
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = '0' + byte(r.IntN(10))
			}
		}
		check(b[:])
	}
	check([]byte("99999999"))
	check([]byte("00000000"))
}

// lineupOK agrees with checkLineup: lineups whose ids differ modulo 64 (its fast path)
// and lineups where some do not (a duplicate, or distinct ids 64 apart), captain and
// vice-captain in, out, or the same.
func TestLineupOK(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		n := 2 + r.IntN(MaxLineupSize-1)
		players := make([]int32, n)
		spread := []int32{12, 64, 200, 1 << 20}[r.IntN(4)] // small spreads repeat ids
		for i := range players {
			players[i] = 1 + r.Int32N(spread)
		}
		pick := func() int32 {
			if r.IntN(5) == 0 {
				return 1 + r.Int32N(spread)
			}
			return players[r.IntN(n)]
		}
		c, v := pick(), pick()
		if got, want := lineupOK(players, c, v), checkLineup(players, c, v) == nil; got != want {
			t.Fatalf("lineupOK(%v, %d, %d) = %v, checkLineup says %v", players, c, v, got, want)
		}
	}
}
