package kafkasource

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestFastDecodeAgreesOnItsShortcuts: values at the edges of the fast decoder's
// shortcuts (keys matched whole at their first byte, lineups read a word at a time,
// player ids hashed for distinctness) decode to exactly what the reference decoder
// gives, event or rejection; the shortcut is taken for the usual shape.
func TestFastDecodeAgreesOnItsShortcuts(t *testing.T) {
	sparse := "[104729,213337,318811,402221,517363,611953,700001,813559,902333,955111,999983]"
	values := [][]byte{
		entry(),
		entry("players", sparse, "captain", "104729", "vice_captain", "999983"),
		entry("players", strings.ReplaceAll(sparse, ",", " ,"), "captain", "104729", "vice_captain", "999983"),
		entry("players", strings.ReplaceAll(sparse, ",", ", "), "captain", "104729", "vice_captain", "999983"),
		entry("players", "[ 101,102,103,104,105,106,107,108,109,110,111 ]"),
		entry("players", "[101,102,103,104,105,106,107,108,109,110,0111]"),
		entry("players", "[101,102,103,104,105,106,107,108,109,110,11100000]"),
		entry("players", "[101,102,103,104,105,106,107,108,109,110,2147483648]"),
		entry("players", "[101,102,103,104,105,106,107,108,109,110,1.5]"),
		entry("players", "[101,102,103,104,105,106,107,108,109,110,1e3]"),
		entry("players", "[101,102,103,104,105,106,107,108,109,110,111,]"),
		entry("players", "[101,102,103,104,105,106,107,108,109,110,111"),
		entry("players", "[101,102,103,104,105,106,107,108,109,110,110]"),
		entry("players", "[101,165,229,293,357,421,485,549,613,677,741]", "captain", "101", "vice_captain", "165"),
		entry("players", "[101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123]"),
		entry("players", "[]"),
		entry("matchid", "1"),
		entry("captainx", "5"),
		entry("withdrawnx", "true"),
		entry("withdrawn", "false"),
		obj("match_id", "1", "contest_id", "10", "entry_id", "100", "withdrawn", "true"),
		[]byte(`{"entry_id":100,"contest_id":10,"match_id":1,"withdrawn":true}`),
		[]byte(`{"team_id":55,"user_id":7,"vice_captain":102,"players":[101,102,103,104,105,106,107,108,109,110,111],"entry_id":100,"contest_id":10,"match_id":1,"captain":101}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"vice_captain":102,"captain":101}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"vice_captain":102,"c":101}`),
		[]byte(`{"match\u005fid":1,"contest_id":10,"entry_id":100,"withdrawn":true}`),
		// EncodeEntry's order (canonicalEntry), and near misses of it.
		EncodeEntry(EntryEvent{MatchID: 1, ContestID: 10, EntryID: 100, Withdrawn: true}),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"withdrawn":true} `),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"withdrawn":false}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"withdrawn":true}}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"captain":101,"vice_captain":102}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"captain":101,"vice_captain":102}` + "\n"),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"captain":101,"vice_captain":102,"x":1}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":1000000000000000000,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"captain":101,"vice_captain":102}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":07,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"captain":101,"vice_captain":102}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"captain":2147483648,"vice_captain":102}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"captain":101,"vice_captain":101}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110],"captain":101,"vice_captain":102}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"captain":101,"vice_captain":102.0}`),
		// canonicalInto's edges: ids of 7, 8, 9, 15, 16, 17 and 18 digits (one and two
		// words), leading zeros in either word, players of 7 and 8 digits, the
		// vice-captain's id near the value's end, withdrawals cut or padded.
		canon("1234567", "12345678", "123456789", "[101,102,103,104,105,106,107,108,109,110,111]", "101", "102"),
		canon("123456789012345", "1234567890123456", "12345678901234567", "[101,102,103,104,105,106,107,108,109,110,111]", "101", "102"),
		canon("1", "123456789012345678", "2", "[101,102,103,104,105,106,107,108,109,110,111]", "101", "102"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111]", "101", "0102"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111]", "0101", "102"),
		canon("012345678", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111]", "101", "102"),
		canon("123456780", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111]", "101", "102"),
		canon("1", "10", "100", "[1000001,1000002,1000003,1000004,1000005,1000006,1000007,1000008,1000009,1000010,9999999]", "1000001", "9999999"),
		canon("1", "10", "100", "[10000001,10000002,10000003,10000004,10000005,10000006,10000007,10000008,10000009,10000010,99999999]", "10000001", "99999999"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111]", "101", "2147483647"),
		canon("1", "10", "100", "[2147483647,102,103,104,105,106,107,108,109,110,111]", "2147483647", "102"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111]", "101", "21474836470"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111]", "101", "102x"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111]", "101", ""),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111]", "", "102"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111,]", "101", "102"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111,112]", "101", "102"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110]", "101", "102"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110;111]", "101", "102"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110,-111]", "101", "102"),
		canon("1", "10", "100", "[101,102,103,104,105,106,107,108,109,110,111]", "101", "1e2"),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":1e2,"withdrawn":true}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100.0,"withdrawn":true}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"withdrawn":tru}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"withdrawn":true,}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"withdrawn":true`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":123456789012345678,"withdrawn":true}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":1234567890123456789,"withdrawn":true}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":12345678901234567890,"withdrawn":true}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":0,"withdrawn":true}`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"captain":101,"vice_captain":102`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"captain":101,"vice_captain":1`),
		[]byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103,104,105,106,107,108,109,110,111],"captain":101,"vice_captain":`),
	}
	var intoSlab []int32
	for _, v := range values {
		for _, size := range []int{11, 0} {
			got, err := DecodeEntry(v, size)
			ref, rerr := decodeEntryReference(v, size)
			if (err == nil) != (rerr == nil) || err != nil && err.Error() != rerr.Error() || err == nil && !reflect.DeepEqual(got, ref) {
				t.Errorf("DecodeEntry(%s, %d) = %+v, %v; reference %+v, %v", v, size, got, err, ref, rerr)
			}
			// Poll's decodeEntryInto sets the whole event over whatever the record held.
			into := EntryEvent{MatchID: 9, ContestID: 9, EntryID: 9, UserID: 9, TeamID: 9, Players: []int32{9}, Captain: 9, ViceCaptain: 9, Withdrawn: true}
			ierr := decodeEntryInto(&into, v, size, &intoSlab)
			if (ierr == nil) != (rerr == nil) || ierr != nil && ierr.Error() != rerr.Error() || ierr == nil && !reflect.DeepEqual(into, ref) {
				t.Errorf("decodeEntryInto(%s, %d) = %+v, %v; reference %+v, %v", v, size, into, ierr, ref, rerr)
			}
		}
	}
	// Events written by EncodeEntry take the canonical path, and a lineup read into the
	// slab stays as read when later events (accepted or not) are read into it.
	var slab []int32
	var kept []EntryEvent
	for k, v := range sparseEntries(200) {
		e, ok := canonicalEntry(v, 11, &slab)
		if !ok {
			t.Fatalf("canonicalEntry left %s, written by EncodeEntry, to the other paths", v)
		}
		kept = append(kept, e)
		bad := canon("1", "10", "100", "[901,902,903,904,905,906,907,908,909,910,910]", "901", "902")
		if k%3 == 0 {
			if _, ok := canonicalEntry(bad, 11, &slab); ok {
				t.Fatalf("canonicalEntry accepted %s (a player twice)", bad)
			}
		}
	}
	for k, v := range sparseEntries(200) {
		want, err := decodeEntryReference(v, 11)
		if err != nil || !reflect.DeepEqual(kept[k], want) {
			t.Fatalf("event %d read as %+v; the reference reads %+v, %v", k, kept[k], want, err)
		}
	}
}

// canon is an entry event in EncodeEntry's order with the given raw values.
func canon(match, contest, entry, players, captain, vice string) []byte {
	return []byte(`{"match_id":` + match + `,"contest_id":` + contest + `,"entry_id":` + entry + `,"user_id":7,"team_id":55,"players":` + players + `,"captain":` + captain + `,"vice_captain":` + vice + `}`)
}

// TestKeyIs: keyIs agrees with comparing the key to the id as strconv writes it.
func TestKeyIs(t *testing.T) {
	ids := []int64{1, 7, 10, 99, 100, 12345678, 123456789, 999999999999999999, 1000000000000000000, math.MaxInt64, 0, -1, -10}
	keys := []string{"", "0", "00", "-1", "+1", "1", "7", "07", "10", "1 ", " 1", "1a", "99", "100", "12345678", "012345678", "123456789",
		"999999999999999999", "1000000000000000000", "9223372036854775807", "9223372036854775808", "99999999999999999999", "-10", "1/", "1:"}
	for _, id := range ids {
		keys = append(keys, strconv.FormatInt(id, 10), strconv.FormatInt(id, 10)+"0")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 10_000 {
		id := r.Int64N(1 << r.IntN(63))
		ids = append(ids, id)
		keys = append(keys, strconv.FormatInt(id, 10), strconv.FormatInt(id+1, 10))
	}
	for _, id := range ids[:13] {
		for _, k := range keys {
			if got, want := keyIs([]byte(k), id), k == strconv.FormatInt(id, 10); got != want {
				t.Fatalf("keyIs(%q, %d) = %v, want %v", k, id, got, want)
			}
		}
	}
	for i, id := range ids[13:] {
		for _, k := range keys[len(keys)-2*10_000+2*i : len(keys)-2*10_000+2*i+2] {
			if got, want := keyIs([]byte(k), id), k == strconv.FormatInt(id, 10); got != want {
				t.Fatalf("keyIs(%q, %d) = %v, want %v", k, id, got, want)
			}
		}
	}
}
