package kafkasource

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// The fast path for entry events, the one value that arrives at hundreds of thousands a
// second. encoding/json spends ~8 µs and 62 allocations on one (the reference decoder,
// BenchmarkDecodeEntry/reference); this scanner reads the common shape of the event in
// one pass without allocating. It never rejects: anything it does not fully understand
// (an escape in a key, a nested value in an unknown field, a number that is not a
// positive integer, a failed rule) returns ok = false and the reference decoder decides,
// so both accept and reject exactly the same values (FuzzDecodeEntry checks this).

// Bits of the fields the scanner has seen.
const (
	fMatch = 1 << iota
	fContest
	fEntry
	fUser
	fTeam
	fPlayers
	fCaptain
	fVice
	fWithdrawn
	fIDs  = fMatch | fContest | fEntry
	fFull = fIDs | fUser | fTeam | fPlayers | fCaptain | fVice
)

// field reads `"name":` and returns the bit of the field it names (0: a field the event
// does not use). The names of the event are matched whole, quote included, at their
// first byte; any other key (or one near the value's end) is read by key.
func (s *scanner) field() (int, bool) {
	if !s.skip('"') {
		return 0, false
	}
	b, i := s.b, s.i
	if len(b)-i >= len(`vice_captain"`) {
		f, n := 0, 0
		switch b[i] {
		case 'm':
			f, n = fMatch, matchName(b[i:], `match_id"`)
		case 'c':
			if f, n = fContest, matchName(b[i:], `contest_id"`); n == 0 {
				f, n = fCaptain, matchName(b[i:], `captain"`)
			}
		case 'e':
			f, n = fEntry, matchName(b[i:], `entry_id"`)
		case 'u':
			f, n = fUser, matchName(b[i:], `user_id"`)
		case 't':
			f, n = fTeam, matchName(b[i:], `team_id"`)
		case 'p':
			f, n = fPlayers, matchName(b[i:], `players"`)
		case 'v':
			f, n = fVice, matchName(b[i:], `vice_captain"`)
		case 'w':
			f, n = fWithdrawn, matchName(b[i:], `withdrawn"`)
		}
		if n > 0 {
			s.i = i + n
			return f, s.skip(':')
		}
	}
	key, ok := s.keyRest()
	if !ok {
		return 0, false
	}
	switch string(key) {
	case "match_id":
		return fMatch, true
	case "contest_id":
		return fContest, true
	case "entry_id":
		return fEntry, true
	case "user_id":
		return fUser, true
	case "team_id":
		return fTeam, true
	case "captain":
		return fCaptain, true
	case "vice_captain":
		return fVice, true
	case "withdrawn":
		return fWithdrawn, true
	case "players":
		return fPlayers, true
	}
	return 0, true
}

// matchName returns len(name) if b starts with name, else 0 (b is at least as long).
func matchName(b []byte, name string) int {
	if string(b[:len(name)]) == name {
		return len(name)
	}
	return 0
}

// canonicalEntry reads an entry event written as EncodeEntry writes it (the fields in
// its order, compact): each name is compared whole where it must be, with no dispatch on
// names. It returns ok = false for anything else, and fastDecodeEntry reads that.
func canonicalEntry(value []byte, lineupSize int, slab *[]int32) (e EntryEvent, ok bool) {
	ok = canonicalInto(&e, value, lineupSize, slab)
	return e, ok
}

// canonicalInto is canonicalEntry decoding into *e, which it sets whole when it returns
// true (and leaves in any state when it returns false). The replay decodes millions of
// events with it, so it reads in one pass with the index in a local: ids by canonID
// (8 digits a word); names compared whole, each a constant string of at most 16 bytes
// written out where it is compared, which the compiler turns into one or two word
// loads (a string passed to a helper, even inlined, calls memequal); the lineup
// straight into the slab; and whatever it does not expect (whitespace, another order, a leading zero, an id of 16
// digits or more, a failed rule) left to the generic path, which decides exactly as
// before.
func canonicalInto(e *EntryEvent, value []byte, lineupSize int, slab *[]int32) bool {
	b := value
	if !(len(b) >= 12 && string(b[:12]) == `{"match_id":`) {
		return false
	}
	match, i, ok := canonID(b, len(`{"match_id":`))
	if !ok || !(len(b)-i >= 14 && string(b[i:i+14]) == `,"contest_id":`) {
		return false
	}
	contest, i, ok := canonID(b, i+len(`,"contest_id":`))
	if !ok || !(len(b)-i >= 12 && string(b[i:i+12]) == `,"entry_id":`) {
		return false
	}
	entry, i, ok := canonID(b, i+len(`,"entry_id":`))
	if !ok {
		return false
	}
	if !(len(b)-i >= 11 && string(b[i:i+11]) == `,"user_id":`) {
		// The withdrawal's tail, the value's end: 18 bytes, compared as two names.
		if len(b)-i != 18 || string(b[i:i+13]) != `,"withdrawn":` || string(b[i+13:i+18]) != `true}` {
			return false
		}
		*e = EntryEvent{MatchID: match, ContestID: contest, EntryID: entry, Withdrawn: true}
		return true
	}
	user, i, ok := canonID(b, i+len(`,"user_id":`))
	if !ok || !(len(b)-i >= 11 && string(b[i:i+11]) == `,"team_id":`) {
		return false
	}
	team, i, ok := canonID(b, i+len(`,"team_id":`))
	if !ok || !(len(b)-i >= 12 && string(b[i:i+12]) == `,"players":[`) {
		return false
	}
	// The lineup is read into the slab's free room; it is kept there only if the event
	// decodes.
	room := MaxLineupSize
	if lineupSize > 0 {
		room = min(lineupSize, MaxLineupSize)
	}
	if cap(*slab)-len(*slab) < room {
		*slab = make([]int32, 0, max(16<<10, room))
	}
	l := len(*slab)
	dst := (*slab)[l : l+room]
	n := 0
	i += len(`,"players":[`)
	for {
		// Ids of 1 to 7 digits, each followed at once by ',' or ']'.
		if n == len(dst) || len(b)-i < 9 {
			return false
		}
		v, d := digitsWord(binary.LittleEndian.Uint64(b[i : i+8]))
		if d == 0 || d == 8 || b[i] == '0' {
			return false
		}
		c := b[i+d]
		dst[n] = int32(v)
		n++
		i += d + 1
		if c == ']' {
			break
		}
		if c != ',' {
			return false
		}
	}
	if !(len(b)-i >= 11 && string(b[i:i+11]) == `,"captain":`) {
		return false
	}
	capt, i, ok := canonID(b, i+len(`,"captain":`))
	if !ok || capt > math.MaxInt32 || !(len(b)-i >= 16 && string(b[i:i+16]) == `,"vice_captain":`) {
		return false
	}
	vice, i, ok := canonID(b, i+len(`,"vice_captain":`))
	if !ok || vice > math.MaxInt32 || i+1 != len(b) || b[i] != '}' {
		return false
	}
	if lineupSize > 0 && n != lineupSize || lineupSize <= 0 && n < 2 || !lineupOK(dst[:n], int32(capt), int32(vice)) {
		return false
	}
	*slab = (*slab)[:l+n]
	*e = EntryEvent{MatchID: match, ContestID: contest, EntryID: entry, UserID: user, TeamID: team,
		Players: dst[:n:n], Captain: int32(capt), ViceCaptain: int32(vice)}
	return true
}

// pow10 holds 10^k for k = 0..8.
var pow10 = [9]int64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// canonID reads a positive integer of 1 to 15 digits without a leading zero at b[i:]
// (i <= len(b)) and returns it with the index after it. It does not look at the byte
// after the digits: the caller compares what must follow (a name's ',' or the '}'),
// which is never a digit, '.', 'e' or 'E'. Longer ids (up to 18 digits the generic path
// reads, 19 the reference) are refused here.
func canonID(b []byte, i int) (int64, int, bool) {
	if len(b)-i < 8 {
		// Near the value's end (the vice-captain's id): byte by byte.
		j, v := i, int64(0)
		for ; j < len(b) && b[j]-'0' <= 9; j++ {
			v = v*10 + int64(b[j]-'0')
		}
		if j == i || b[i] == '0' {
			return 0, i, false
		}
		return v, j, true
	}
	v, n := digitsWord(binary.LittleEndian.Uint64(b[i : i+8]))
	if n == 0 || b[i] == '0' {
		return 0, i, false
	}
	if n < 8 {
		return v, i + n, true
	}
	if len(b)-i > 8 && b[i+8]-'0' > 9 {
		return v, i + 8, true // 8 digits (entry, user and team ids often have 8)
	}
	if len(b)-i < 16 {
		return 0, i, false
	}
	w, m := digitsWord(binary.LittleEndian.Uint64(b[i+8 : i+16]))
	if m == 8 {
		return 0, i, false
	}
	return v*pow10[m] + w, i + 8 + m, true
}

func fastDecodeEntry(value []byte, lineupSize int, slab *[]int32) (e EntryEvent, ok bool) {
	if canonicalInto(&e, value, lineupSize, slab) {
		return e, true
	}
	s := scanner{b: value}
	var lineup [MaxLineupSize]int32
	var n int // players in lineup
	var seen int
	if !s.skip('{') {
		return EntryEvent{}, false
	}
	for {
		field, ok := s.field()
		if !ok {
			return EntryEvent{}, false
		}
		var v int64
		switch field {
		case fMatch:
			v, ok = s.positive(math.MaxInt64)
			e.MatchID, seen = v, seen|fMatch
		case fContest:
			v, ok = s.positive(math.MaxInt64)
			e.ContestID, seen = v, seen|fContest
		case fEntry:
			v, ok = s.positive(math.MaxInt64)
			e.EntryID, seen = v, seen|fEntry
		case fUser:
			v, ok = s.positive(math.MaxInt64)
			e.UserID, seen = v, seen|fUser
		case fTeam:
			v, ok = s.positive(math.MaxInt64)
			e.TeamID, seen = v, seen|fTeam
		case fCaptain:
			v, ok = s.positive(math.MaxInt32)
			e.Captain, seen = int32(v), seen|fCaptain
		case fVice:
			v, ok = s.positive(math.MaxInt32)
			e.ViceCaptain, seen = int32(v), seen|fVice
		case fWithdrawn:
			e.Withdrawn, ok = s.boolean()
		case fPlayers:
			n, ok = s.lineup(&lineup)
			seen |= fPlayers
		default:
			ok = s.scalar()
		}
		if !ok {
			return EntryEvent{}, false
		}
		if s.skip(',') {
			continue
		}
		if !s.skip('}') {
			return EntryEvent{}, false
		}
		break
	}
	if !s.end() {
		return EntryEvent{}, false
	}
	if e.Withdrawn {
		if seen&fIDs != fIDs {
			return EntryEvent{}, false
		}
		return EntryEvent{MatchID: e.MatchID, ContestID: e.ContestID, EntryID: e.EntryID, Withdrawn: true}, true
	}
	if seen != fFull || checkLineupSize(n, lineupSize) != nil || !lineupOK(lineup[:n], e.Captain, e.ViceCaptain) {
		return EntryEvent{}, false
	}
	e.Players = carve(slab, n)
	copy(e.Players, lineup[:n])
	return e, true
}

// lineupOK reports whether checkLineup accepts the lineup, faster for the usual one: the
// players' ids hashed to 1024 bits all differ, so they are distinct without comparing
// every pair (11 sparse ids collide about 5% of the time; ids modulo 64, as before,
// collided in most lineups of sparse 6-digit ids); on a collision checkLineup decides.
func lineupOK(players []int32, captain, vice int32) bool {
	var set [16]uint64
	var hasC, hasV bool
	for _, p := range players {
		h := uint32(p) * 0x9E3779B1 >> 22 // 10 bits
		w, bit := h>>6, uint64(1)<<(h&63)
		if set[w]&bit != 0 {
			return checkLineup(players, captain, vice) == nil
		}
		set[w] |= bit
		hasC = hasC || p == captain
		hasV = hasV || p == vice
	}
	return hasC && hasV && captain != vice
}

// carve returns n int32s from the arena *slab, starting a new arena when it is full.
// Earlier slices stay valid: an arena is never reused.
func carve(slab *[]int32, n int) []int32 {
	if cap(*slab)-len(*slab) < n {
		*slab = make([]int32, 0, max(16<<10, n))
	}
	l := len(*slab)
	*slab = (*slab)[:l+n]
	return (*slab)[l : l+n : l+n]
}

// scanner reads JSON; every method skips the whitespace before what it reads.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	// The hot methods below call it only when the next byte may be whitespace (<= ' '):
	// compact JSON, the common case, costs one comparison.
	b, i := s.b, s.i
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			s.i = i
			return
		}
	}
	s.i = i
}

// skip consumes c if it comes next.
func (s *scanner) skip(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] <= ' ' {
		s.ws()
	}
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// keyRest reads `name":` (its opening quote read) where name has no escapes; the result
// aliases the input.
func (s *scanner) keyRest() ([]byte, bool) {
	b, start := s.b, s.i
	for i := start; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return b[start:i], s.skip(':')
		case c == '\\' || c < 0x20:
			s.i = i
			return nil, false
		}
	}
	s.i = len(b)
	return nil, false
}

// positive reads an integer in 1..limit written as digits without sign, fraction or
// exponent, as JSON allows it (no leading zero). Ids of 19 digits are left to the
// reference decoder: up to 18 digits cannot overflow, so the loop needs no check.
func (s *scanner) positive(limit int64) (int64, bool) {
	if s.i < len(s.b) && s.b[s.i] <= ' ' {
		s.ws()
	}
	b, start := s.b, s.i
	end := min(len(b), start+18)
	var v int64
	i := start
	if len(b)-start >= 8 {
		// Up to 8 digits at once (ids have 6 to 8): most of a decode's time was here.
		var n int
		v, n = digitsWord(binary.LittleEndian.Uint64(b[start : start+8]))
		i += n
		if n < 8 {
			end = i // the next byte is not a digit
		}
	}
	for ; i < end; i++ {
		d := b[i] - '0'
		if d > 9 {
			break
		}
		v = v*10 + int64(d)
	}
	s.i = i
	if i == start || b[start] == '0' || v > limit {
		return 0, false // no digits, zero, a leading zero, or beyond limit
	}
	if i < len(b) {
		switch c := b[i]; {
		case c >= '0' && c <= '9', c == '.', c == 'e', c == 'E':
			return 0, false // more digits, a fraction or an exponent
		}
	}
	return v, true
}

// digits8 reads the decimal digits at the start of b (8 bytes), as SWAR arithmetic on
// one 64-bit word: the value of the leading digits and their count (0 to 8).
func digits8(b []byte) (int64, int) {
	return digitsWord(binary.LittleEndian.Uint64(b))
}

// digitsWord is digits8 of the word x (b[0] in the low byte); small enough to be inlined.
func digitsWord(x uint64) (int64, int) {
	const ones = 0x0101010101010101
	// A byte is a digit iff its high nibble is 3 and its low nibble at most 9; nd has a
	// non-zero byte for every other byte, and high marks them (no carry between bytes).
	nd := (x&(0xF0*ones) ^ 0x30*ones) | ((x&(0x0F*ones) + 0x06*ones) & (0x10 * ones))
	n := bits.TrailingZeros64(((nd&(0x7F*ones)+0x7F*ones)|nd)&(0x80*ones)) >> 3
	// The n digits' values, moved to the top bytes (the bytes below are leading zeros),
	// then combined pairwise: 8 digits -> 4 of 0..99 -> 2 of 0..9999 -> one. With n = 0
	// the shift is 64: d is 0.
	d := (x & (0x0F * ones)) << uint(64-8*n)
	d = d*10 + d>>8
	d = ((d&0x000000FF000000FF)*(100+(1000000<<32)) + (d>>16&0x000000FF000000FF)*(1+(10000<<32))) >> 32
	return int64(d), n
}

// lineup reads an array of at most MaxLineupSize player ids.
func (s *scanner) lineup(dst *[MaxLineupSize]int32) (int, bool) {
	if !s.skip('[') {
		return 0, false
	}
	if s.skip(']') {
		return 0, true
	}
	// Compact JSON, the usual case: ids of 1 to 7 digits, each followed at once by ','
	// or ']', read a word at a time. Anything else (whitespace, a longer id, a leading
	// zero) is left to the loop below, from the id it stopped at.
	b, i, n := s.b, s.i, 0
	for n < len(dst) && len(b)-i >= 9 {
		v, d := digitsWord(binary.LittleEndian.Uint64(b[i : i+8]))
		if d == 0 || d == 8 || b[i] == '0' {
			break
		}
		c := b[i+d]
		if c != ',' && c != ']' {
			break
		}
		dst[n] = int32(v)
		n++
		i += d + 1
		if c == ']' {
			s.i = i
			return n, true
		}
	}
	s.i = i
	for {
		if n == len(dst) {
			return 0, false
		}
		v, ok := s.positive(math.MaxInt32)
		if !ok {
			return 0, false
		}
		dst[n] = int32(v)
		n++
		if s.skip(',') {
			continue
		}
		return n, s.skip(']')
	}
}

// boolean reads true or false.
func (s *scanner) boolean() (bool, bool) {
	s.ws()
	switch {
	case s.literal("true"):
		return true, true
	case s.literal("false"):
		return false, true
	}
	return false, false
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// scalar skips a string without escapes, a number, true, false or null: the value of a
// field the event does not use.
func (s *scanner) scalar() bool {
	s.ws()
	if s.i == len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		for s.i++; s.i < len(s.b); s.i++ {
			switch c := s.b[s.i]; {
			case c == '"':
				s.i++
				return true
			case c == '\\' || c < 0x20:
				return false
			}
		}
		return false
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return s.literal("true") || s.literal("false") || s.literal("null")
}

// number skips a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i == len(s.b) {
		return false
	}
	if s.b[s.i] == '0' {
		s.i++
	} else if !s.digits() {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits skips one or more decimal digits.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
