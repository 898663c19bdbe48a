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
