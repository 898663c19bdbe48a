package records

import (
	"math/bits"
	"strconv"
)

// appendDec appends v in decimal, the bytes of strconv.AppendInt(b, v, 10), for the
// first writes' keys (Keys.ID, Keys.User: ~10M ids formatted in a cold start at 5.6M
// entries). It writes the digits in place, two at a time from the last, where AppendInt
// formats into a buffer of its own and copies; a negative v (no key of the project's)
// takes strconv's path.
func appendDec(b []byte, v int64) []byte {
	if v < 0 {
		return strconv.AppendInt(b, v, 10)
	}
	u := uint64(v)
	n := decLen(u)
	at := len(b)
	if cap(b)-at < n {
		b = append(b, make([]byte, n)...)
	} else {
		b = b[:at+n]
	}
	d := b[at : at+n : at+n]
	i := n
	for u >= 100 {
		q := u / 100
		r := 2 * (u - q*100)
		i -= 2
		d[i], d[i+1] = digitPairs[r], digitPairs[r+1]
		u = q
	}
	if u >= 10 {
		d[i-2], d[i-1] = digitPairs[2*u], digitPairs[2*u+1]
	} else {
		d[i-1] = byte('0' + u)
	}
	return b
}

// digitPairs holds "00" to "99".
const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" +
	"90919293949596979899"

// pow10s[i] is 10^i.
var pow10s = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// decLen is the number of decimal digits of u (1 for 0).
func decLen(u uint64) int {
	n := bits.Len64(u|1)*1233>>12 + 1 // log10(2) ~ 1233/4096: n or one more than u's digits
	if n > 1 && u < pow10s[n-1] {
		n--
	}
	return n
}
