package dataset

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/parquet"
)

// Decoding of Parquet page contents for the fast path (fastread.go): the RLE/bit-packed
// hybrid (levels, dictionary indices), PLAIN, DELTA_BINARY_PACKED and BYTE_STREAM_SPLIT
// values of INT32, INT64 and DOUBLE. Everything is checked: a malformed or unexpected
// input is reported (false), never a panic, and the fast path then hands the row group to
// pqarrow, whose error (if any) the caller gets.

// hybrid reads an RLE/bit-packed hybrid stream of values of bw bits (at most 32).
type hybrid struct {
	data []byte
	bw   int
	// The current run: rleLeft values of rleVal, or litLeft bit-packed values in lit
	// from bit litBit on.
	rleLeft int
	rleVal  uint64
	litLeft int
	lit     []byte
	litBit  int
}

func newHybrid(data []byte, bw int) hybrid { return hybrid{data: data, bw: bw} }

// run loads the next run; false at the end of the data or on a malformed header.
func (h *hybrid) run() bool {
	for {
		hdr, k := binary.Uvarint(h.data)
		if k <= 0 || hdr > math.MaxInt32 {
			return false
		}
		h.data = h.data[k:]
		n := int(hdr >> 1)
		if hdr&1 == 0 { // RLE: n copies of a value in ceil(bw/8) bytes
			nb := (h.bw + 7) / 8
			if len(h.data) < nb {
				return false
			}
			var v uint64
			for i := nb - 1; i >= 0; i-- {
				v = v<<8 | uint64(h.data[i])
			}
			h.data = h.data[nb:]
			if h.bw < 64 && v>>h.bw != 0 {
				return false
			}
			if n == 0 {
				continue
			}
			h.rleLeft, h.rleVal = n, v
			return true
		}
		// Bit-packed: n groups of 8 values, bw bits each, least significant bit first.
		nb := n * h.bw
		if len(h.data) < nb {
			return false
		}
		if n == 0 {
			continue
		}
		h.lit, h.litBit, h.litLeft = h.data[:nb], 0, 8*n
		h.data = h.data[nb:]
		return true
	}
}

// bitsAt returns the bw bits (bw <= 32) of buf from bit bit on.
func bitsAt(buf []byte, bit, bw int) uint64 {
	i, s := bit>>3, uint(bit&7)
	if i+8 <= len(buf) {
		return binary.LittleEndian.Uint64(buf[i:]) >> s & (1<<bw - 1)
	}
	var w [8]byte
	copy(w[:], buf[i:])
	return binary.LittleEndian.Uint64(w[:]) >> s & (1<<bw - 1)
}

// levels decodes len(out) levels into out and returns how many equal max.
func (h *hybrid) levels(out []int16, max int16) (int, bool) {
	count := 0
	for pos := 0; pos < len(out); {
		switch {
		case h.rleLeft > 0:
			n := min(h.rleLeft, len(out)-pos)
			v := int16(h.rleVal)
			for i := range out[pos : pos+n] {
				out[pos+i] = v
			}
			if v == max {
				count += n
			}
			h.rleLeft -= n
			pos += n
		case h.litLeft > 0:
			n := min(h.litLeft, len(out)-pos)
			for i := range n {
				v := int16(bitsAt(h.lit, h.litBit, h.bw))
				out[pos+i] = v
				if v == max {
					count++
				}
				h.litBit += h.bw
			}
			h.litLeft -= n
			pos += n
		default:
			if !h.run() {
				return count, false
			}
		}
	}
	return count, true
}

// count returns how many of the next n values equal v, consuming them.
func (h *hybrid) count(n int, v uint64) (int, bool) {
	count := 0
	for n > 0 {
		switch {
		case h.rleLeft > 0:
			k := min(h.rleLeft, n)
			if h.rleVal == v {
				count += k
			}
			h.rleLeft -= k
			n -= k
		case h.litLeft > 0:
			k := min(h.litLeft, n)
			if h.bw == 1 && h.litBit&7 == 0 && v <= 1 {
				// Whole bytes by popcount, then the odd bits.
				ones, nbytes := 0, k/8
				for _, b := range h.lit[h.litBit>>3 : h.litBit>>3+nbytes] {
					ones += bits.OnesCount8(b)
				}
				for i := 8 * nbytes; i < k; i++ {
					ones += int(h.lit[(h.litBit+i)>>3] >> ((h.litBit + i) & 7) & 1)
				}
				if v == 1 {
					count += ones
				} else {
					count += k - ones
				}
			} else {
				for i := range k {
					if bitsAt(h.lit, h.litBit+i*h.bw, h.bw) == v {
						count++
					}
				}
			}
			h.litBit += k * h.bw
			h.litLeft -= k
			n -= k
		default:
			if !h.run() {
				return count, false
			}
		}
	}
	return count, true
}

// rowStarts reads n repetition levels of a list (bit width 1: 0 starts a row, 1
// continues it) whose levels all hold values, appending base+i to off for each level i
// that starts a row.
func (h *hybrid) rowStarts(n int, base int32, off []int32) ([]int32, bool) {
	if h.bw != 1 {
		return off, false
	}
	for pos := 0; pos < n; {
		switch {
		case h.rleLeft > 0:
			k := min(h.rleLeft, n-pos)
			if h.rleVal == 0 {
				for i := range k {
					off = append(off, base+int32(pos+i))
				}
			}
			h.rleLeft -= k
			pos += k
		case h.litLeft > 0:
			k := min(h.litLeft, n-pos)
			i := 0
			for ; i < k && (h.litBit+i)&7 != 0; i++ { // up to a byte boundary
				if h.lit[(h.litBit+i)>>3]>>((h.litBit+i)&7)&1 == 0 {
					off = append(off, base+int32(pos+i))
				}
			}
			for ; i+64 <= k; i += 64 { // 64 levels at a time: the zero bits start rows
				z := ^binary.LittleEndian.Uint64(h.lit[(h.litBit+i)>>3:])
				if z == 0 {
					continue
				}
				m := len(off)
				if need := m + bits.OnesCount64(z); need <= cap(off) {
					off = off[:need]
				} else {
					off = append(off, make([]int32, need-m)...)
				}
				b := base + int32(pos+i)
				for j := m; z != 0; j++ {
					off[j] = b + int32(bits.TrailingZeros64(z))
					z &= z - 1
				}
			}
			for ; i+8 <= k; i += 8 { // whole bytes
				for z := ^h.lit[(h.litBit+i)>>3]; z != 0; z &= z - 1 {
					off = append(off, base+int32(pos+i+bits.TrailingZeros8(z)))
				}
			}
			for ; i < k; i++ {
				if h.lit[(h.litBit+i)>>3]>>((h.litBit+i)&7)&1 == 0 {
					off = append(off, base+int32(pos+i))
				}
			}
			h.litBit += k
			h.litLeft -= k
			pos += k
		default:
			if !h.run() {
				return off, false
			}
		}
	}
	return off, true
}

// gather decodes len(out) dictionary indices and writes the dictionary values.
func gather[T any](h *hybrid, out []T, dict []T) bool {
	nd := uint64(len(dict))
	// Indices of up to 8 bits look up a copy of the dictionary padded to 256 entries,
	// without bounds checks; their largest is checked at the end.
	var padded *[256]T
	if h.bw <= 8 {
		padded = new([256]T)
		copy(padded[:], dict)
	}
	var maxIdx uint64
	for pos := 0; pos < len(out); {
		switch {
		case h.rleLeft > 0:
			n := min(h.rleLeft, len(out)-pos)
			if h.rleVal >= nd {
				return false
			}
			v := dict[h.rleVal]
			for i := range out[pos : pos+n] {
				out[pos+i] = v
			}
			h.rleLeft -= n
			pos += n
		case h.litLeft > 0:
			n := min(h.litLeft, len(out)-pos)
			dst := out[pos : pos+n]
			bw, bit, lit := h.bw, h.litBit, h.lit
			i := 0
			if bit&7 == 0 && bw > 0 { // a run read from its start: whole bytes
				if padded != nil {
					var mx uint64
					i, mx = gatherSmall(lit[bit>>3:], bw, dst, padded)
					maxIdx = max(maxIdx, mx)
				} else {
					var ok bool
					if i, ok = gatherWide(lit[bit>>3:], bw, dst, dict); !ok {
						return false
					}
				}
			}
			for ; i < n; i++ {
				idx := bitsAt(lit, bit+i*bw, bw)
				if idx >= nd {
					return false
				}
				dst[i] = dict[idx]
			}
			h.litBit += n * bw
			h.litLeft -= n
			pos += n
		default:
			if !h.run() {
				return false
			}
		}
	}
	return maxIdx < nd || len(out) == 0
}

// gatherSmall looks up groups of 8 indices of bw <= 8 bits, each group read as one
// word, while whole groups and words remain. It returns the values written and the
// largest index.
func gatherSmall[T any](src []byte, bw int, dst []T, dict *[256]T) (int, uint64) {
	mask := uint64(1)<<(uint(bw)&63) - 1
	// Shift counts the compiler can see are below 64.
	s1, s2, s3, s4 := uint(bw)&63, uint(2*bw)&63, uint(3*bw)&63, uint(4*bw)&63
	s5, s6, s7 := uint(5*bw)&63, uint(6*bw)&63, uint(7*bw)&63
	var mx uint64
	g, groups := 0, len(dst)/8
	for ; g < groups && g*bw+8 <= len(src); g++ {
		w := binary.LittleEndian.Uint64(src[g*bw:])
		v0, v1, v2, v3 := w&mask, w>>s1&mask, w>>s2&mask, w>>s3&mask
		v4, v5, v6, v7 := w>>s4&mask, w>>s5&mask, w>>s6&mask, w>>s7&mask
		d := dst[8*g : 8*g+8 : 8*g+8]
		d[0], d[1], d[2], d[3] = dict[uint8(v0)], dict[uint8(v1)], dict[uint8(v2)], dict[uint8(v3)]
		d[4], d[5], d[6], d[7] = dict[uint8(v4)], dict[uint8(v5)], dict[uint8(v6)], dict[uint8(v7)]
		mx = max(mx, v0, v1, v2, v3, v4, v5, v6, v7)
	}
	return 8 * g, mx
}

// gatherWide looks up indices of up to 32 bits through a bit accumulator refilled 32
// bits at a time, while 4 bytes remain. It returns the values written, false for an
// index out of the dictionary.
func gatherWide[T any](src []byte, bw int, dst []T, dict []T) (int, bool) {
	mask := uint64(1)<<bw - 1
	nd := uint64(len(dict))
	var acc uint64
	nb, p := 0, 0
	i := 0
	for ; i < len(dst); i++ {
		if nb < bw {
			if p+4 > len(src) {
				break
			}
			acc |= uint64(binary.LittleEndian.Uint32(src[p:])) << nb
			p, nb = p+4, nb+32
		}
		idx := acc & mask
		acc >>= bw
		nb -= bw
		if idx >= nd {
			return i, false
		}
		dst[i] = dict[idx]
	}
	return i, true
}

// fastValue is a physical type the fast path decodes.
type fastValue interface{ int32 | int64 | float64 }

// decodeValues decodes len(out) values of a data page's value section, encoded as enc;
// dict is the column chunk's dictionary (nil if none yet).
func decodeValues[T fastValue](enc parquet.Encoding, data []byte, out []T, dict []T, haveDict bool) bool {
	switch enc {
	case parquet.Encodings.Plain:
		return decodePlain(data, out)
	case parquet.Encodings.PlainDict, parquet.Encodings.RLEDict:
		if !haveDict {
			return false
		}
		if len(out) == 0 {
			return true
		}
		if len(data) < 1 || data[0] > 32 {
			return false
		}
		h := newHybrid(data[1:], int(data[0]))
		return gather(&h, out, dict)
	case parquet.Encodings.DeltaBinaryPacked:
		switch o := any(out).(type) {
		case []int32:
			return decodeDelta(data, o, true)
		case []int64:
			return decodeDelta(data, o, false)
		}
		return false
	case parquet.Encodings.ByteStreamSplit:
		return decodeByteStreamSplit(data, out)
	}
	return false
}

// decodePlain decodes little-endian values.
func decodePlain[T fastValue](data []byte, out []T) bool {
	switch o := any(out).(type) {
	case []int32:
		if len(data) < 4*len(o) {
			return false
		}
		for i := range o {
			o[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
		}
	case []int64:
		if len(data) < 8*len(o) {
			return false
		}
		for i := range o {
			o[i] = int64(binary.LittleEndian.Uint64(data[8*i:]))
		}
	case []float64:
		if len(data) < 8*len(o) {
			return false
		}
		for i := range o {
			o[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
		}
	default:
		return false
	}
	return true
}

// decodeByteStreamSplit decodes values whose k-th bytes are stored together, stream k
// after stream k-1, each as long as the page has values.
func decodeByteStreamSplit[T fastValue](data []byte, out []T) bool {
	n := len(out)
	switch o := any(out).(type) {
	case []int32:
		if len(data) != 4*n {
			return false
		}
		for i := range o {
			o[i] = int32(uint32(data[i]) | uint32(data[n+i])<<8 | uint32(data[2*n+i])<<16 | uint32(data[3*n+i])<<24)
		}
	case []int64, []float64:
		if len(data) != 8*n {
			return false
		}
		for i := range n {
			var v uint64
			for k := 7; k >= 0; k-- {
				v = v<<8 | uint64(data[k*n+i])
			}
			switch o := o.(type) {
			case []int64:
				o[i] = int64(v)
			case []float64:
				o[i] = math.Float64frombits(v)
			}
		}
	default:
		return false
	}
	return true
}

// decodeDelta decodes DELTA_BINARY_PACKED values into out, whose length must be the
// count the data declares. Values are summed modulo 2^64 and truncated to T, which
// gives the same result whether a writer of int32 values computed its deltas in 32 or 64
// bits. int32 data is held to the limits pqarrow checks (first value and minimum deltas
// in range, bit widths at most 32).
func decodeDelta[T int32 | int64](data []byte, out []T, is32 bool) bool {
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(data)
		if k <= 0 {
			return 0, false
		}
		data = data[k:]
		return v, true
	}
	zz := func() (int64, bool) {
		v, ok := uv()
		return int64(v>>1) ^ -int64(v&1), ok
	}
	blockSize, ok1 := uv()
	minis, ok2 := uv()
	total, ok3 := uv()
	first, ok4 := zz()
	if !ok1 || !ok2 || !ok3 || !ok4 || blockSize == 0 || blockSize%128 != 0 || blockSize > math.MaxUint32 ||
		minis == 0 || minis > blockSize || blockSize%minis != 0 || (blockSize/minis)%32 != 0 || total != uint64(len(out)) {
		return false
	}
	if is32 && (first < math.MinInt32 || first > math.MaxInt32) {
		return false
	}
	if len(out) == 0 {
		return true
	}
	perMini := int(blockSize / minis)
	maxBW := 64
	if is32 {
		maxBW = 32
	}
	last := uint64(first)
	out[0] = T(first)
	pos := 1
	for pos < len(out) {
		minDelta, ok := zz()
		if !ok || (is32 && (minDelta < math.MinInt32 || minDelta > math.MaxInt32)) || uint64(len(data)) < minis {
			return false
		}
		widths := data[:minis]
		data = data[minis:]
		md := uint64(minDelta)
		for _, w := range widths {
			if pos >= len(out) {
				break // the widths of unneeded miniblocks may be anything
			}
			bw := int(w)
			if bw > maxBW {
				return false
			}
			nb := perMini * bw / 8 // perMini is a multiple of 32: whole bytes
			if len(data) < nb {
				return false
			}
			mb := data[:nb]
			data = data[nb:]
			n := min(perMini, len(out)-pos)
			dst := out[pos : pos+n]
			switch {
			case bw == 0:
				for i := range dst {
					last += md
					dst[i] = T(last)
				}
			case bw <= 32:
				// A bit accumulator refilled 32 bits at a time: a miniblock is a
				// multiple of 32 values, so of 4 bytes, and no read passes its end.
				mask := uint64(1)<<bw - 1
				var acc uint64
				nb, p := 0, 0
				for i := range dst {
					if nb < bw {
						acc |= uint64(binary.LittleEndian.Uint32(mb[p:])) << nb
						p, nb = p+4, nb+32
					}
					last += md + acc&mask
					acc >>= bw
					nb -= bw
					dst[i] = T(last)
				}
			case bw <= 56:
				mask := uint64(1)<<bw - 1
				i := 0
				if safe := (len(mb) - 8) * 8; safe >= 0 {
					for m := min(n, safe/bw+1); i < m; i++ {
						b := i * bw
						last += md + binary.LittleEndian.Uint64(mb[b>>3:])>>uint(b&7)&mask
						dst[i] = T(last)
					}
				}
				for ; i < n; i++ {
					last += md + bitsAt56(mb, i*bw, bw)
					dst[i] = T(last)
				}
			default:
				for i := range dst {
					last += md + bitsWide(mb, i*bw, bw)
					dst[i] = T(last)
				}
			}
			pos += n
		}
	}
	return true
}

// bitsAt56 is bitsAt for widths up to 56.
func bitsAt56(buf []byte, bit, bw int) uint64 {
	i, s := bit>>3, uint(bit&7)
	var w [8]byte
	copy(w[:], buf[i:])
	return binary.LittleEndian.Uint64(w[:]) >> s & (1<<bw - 1)
}

// bitsWide returns the bw bits (bw <= 64) of buf from bit bit on, a bit at a time.
func bitsWide(buf []byte, bit, bw int) uint64 {
	var v uint64
	for k := range bw {
		b := bit + k
		if b>>3 < len(buf) {
			v |= uint64(buf[b>>3]>>(b&7)&1) << k
		}
	}
	return v
}
