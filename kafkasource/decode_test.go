package kafkasource

import (
	"reflect"
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
	}
	for _, v := range values {
		for _, size := range []int{11, 0} {
			got, err := DecodeEntry(v, size)
			ref, rerr := decodeEntryReference(v, size)
			if (err == nil) != (rerr == nil) || err != nil && err.Error() != rerr.Error() || err == nil && !reflect.DeepEqual(got, ref) {
				t.Errorf("DecodeEntry(%s, %d) = %+v, %v; reference %+v, %v", v, size, got, err, ref, rerr)
			}
		}
	}
	var slab []int32
	for _, v := range sparseEntries(200) {
		if _, ok := canonicalEntry(v, 11, &slab); !ok {
			t.Fatalf("canonicalEntry left %s, written by EncodeEntry, to the other paths", v)
		}
	}
}
