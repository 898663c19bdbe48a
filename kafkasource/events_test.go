package kafkasource

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// obj builds a JSON object from key/raw-value pairs in order; a raw value of "" drops
// the key.
func obj(kv ...string) []byte {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(strconv.Quote(kv[i]))
		b.WriteByte(':')
		b.WriteString(kv[i+1])
	}
	b.WriteByte('}')
	return []byte(b.String())
}

const lineup11 = "[101,102,103,104,105,106,107,108,109,110,111]"

// entry returns a valid entry event with some fields replaced ("" removes one).
func entry(over ...string) []byte {
	fields := []string{
		"match_id", "1", "contest_id", "10", "entry_id", "100", "user_id", "7", "team_id", "55",
		"players", lineup11, "captain", "101", "vice_captain", "102",
	}
	return obj(override(fields, over)...)
}

func points(over ...string) []byte {
	return obj(override([]string{"match_id", "1", "player_id", "101", "points", "52.5", "ts", "1795740000000"}, over)...)
}

func match(over ...string) []byte {
	return obj(override([]string{"match_id", "1", "state", `"live"`, "ts", "1795740000000"}, over)...)
}

func override(fields, over []string) []string {
	out := append([]string(nil), fields...)
outer:
	for i := 0; i < len(over); i += 2 {
		for j := 0; j < len(out); j += 2 {
			if out[j] == over[i] {
				out[j+1] = over[i+1]
				continue outer
			}
		}
		out = append(out, over[i], over[i+1])
	}
	return out
}

func TestDecodeEntryAccepts(t *testing.T) {
	full := EntryEvent{MatchID: 1, ContestID: 10, EntryID: 100, UserID: 7, TeamID: 55,
		Players: []int32{101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111}, Captain: 101, ViceCaptain: 102}
	withCV := func(c, v int32) EntryEvent { e := full; e.Captain, e.ViceCaptain = c, v; return e }
	withdrawn := EntryEvent{MatchID: 1, ContestID: 10, EntryID: 100, Withdrawn: true}
	for _, tc := range []struct {
		name  string
		value []byte
		want  EntryEvent
	}{
		{"full", entry(), full},
		{"design example shape", []byte(`{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":` + lineup11 + `,"captain":101,"vice_captain":102}`), full},
		{"whitespace", []byte(" \n{ \"match_id\" : 1 ,\t\"contest_id\":10,\"entry_id\":100,\"user_id\":7,\"team_id\":55,\"players\":[ 101 , 102,103,104,105,106,107,108,109,110,111 ],\"captain\":101,\"vice_captain\":102 } \r\n"), full},
		{"unknown fields ignored", entry("sport", `"cricket"`, "meta", `{"a":[1,{"b":null}]}`, "x", "-1.5e3", "ok", "true"), full},
		{"field order free", obj("vice_captain", "102", "captain", "101", "players", lineup11, "team_id", "55", "user_id", "7", "entry_id", "100", "contest_id", "10", "match_id", "1"), full},
		{"last duplicate key wins", []byte(`{"match_id":99,` + string(entry())[1:]), full},
		{"escaped key", []byte(strings.Replace(string(entry()), `"match_id"`, `"match\u005fid"`, 1)), full},
		{"withdrawn false", entry("withdrawn", "false"), full},
		{"withdrawn null", entry("withdrawn", "null"), full},
		{"captain anywhere in lineup", entry("captain", "111", "vice_captain", "105"), withCV(111, 105)},
		{"largest id", entry("entry_id", "9223372036854775807"), func() EntryEvent { e := full; e.EntryID = 1<<63 - 1; return e }()},
		{"18-digit id", entry("user_id", "999999999999999999"), func() EntryEvent { e := full; e.UserID = 999999999999999999; return e }()},
		{"largest player", entry("players", "[2147483647,102,103,104,105,106,107,108,109,110,111]", "captain", "2147483647"),
			func() EntryEvent {
				e := withCV(2147483647, 102)
				e.Players = append([]int32{2147483647}, full.Players[1:]...)
				return e
			}()},
		{"withdrawn", obj("match_id", "1", "contest_id", "10", "entry_id", "100", "withdrawn", "true"), withdrawn},
		{"withdrawn ignores the rest", entry("withdrawn", "true", "players", `"junk"`, "captain", "0"), withdrawn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeEntry(tc.value, 11)
			if err != nil {
				t.Fatalf("DecodeEntry(%s): %v", tc.value, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("DecodeEntry(%s)\n got %+v\nwant %+v", tc.value, got, tc.want)
			}
			ref, rerr := decodeEntryReference(tc.value, 11)
			if rerr != nil || !reflect.DeepEqual(ref, got) {
				t.Fatalf("reference decoder disagrees: %+v, %v", ref, rerr)
			}
		})
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value []byte
		code  string
		msg   string // a substring of the message
	}{
		{"empty", []byte(""), ReasonMalformedJSON, "not valid JSON"},
		{"truncated", entry()[:40], ReasonMalformedJSON, "not valid JSON"},
		{"garbage", []byte("nope"), ReasonMalformedJSON, "not valid JSON"},
		{"trailing data", append(entry(), []byte(" {}")...), ReasonMalformedJSON, "not valid JSON"},
		{"array", []byte("[1,2]"), ReasonMalformedJSON, "must be a JSON object"},
		{"null", []byte("null"), ReasonMalformedJSON, "must be a JSON object"},
		{"string", []byte(`"x"`), ReasonMalformedJSON, "must be a JSON object"},
		{"leading zero", entry("entry_id", "0100"), ReasonMalformedJSON, "not valid JSON"},
		{"bad escape", entry("note", `"\q"`), ReasonMalformedJSON, "not valid JSON"},

		{"no match_id", entry("match_id", ""), ReasonMissingField, `"match_id"`},
		{"no contest_id", entry("contest_id", ""), ReasonMissingField, `"contest_id"`},
		{"no entry_id", entry("entry_id", ""), ReasonMissingField, `"entry_id"`},
		{"null entry_id", entry("entry_id", "null"), ReasonMissingField, `"entry_id"`},
		{"no user_id", entry("user_id", ""), ReasonMissingField, `"user_id" (required unless "withdrawn" is true)`},
		{"no team_id", entry("team_id", ""), ReasonMissingField, `"team_id"`},
		{"no players", entry("players", ""), ReasonMissingField, `"players"`},
		{"no captain", entry("captain", ""), ReasonMissingField, `"captain"`},
		{"no vice_captain", entry("vice_captain", ""), ReasonMissingField, `"vice_captain"`},
		{"withdrawn without entry_id", obj("match_id", "1", "contest_id", "10", "withdrawn", "true"), ReasonMissingField, `"entry_id"`},

		{"string id", entry("contest_id", `"7"`), ReasonBadType, `"contest_id" must be an integer, got string "7"`},
		{"bool id", entry("user_id", "true"), ReasonBadType, `"user_id"`},
		{"object id", entry("team_id", "{}"), ReasonBadType, `"team_id"`},
		{"players object", entry("players", `{"a":1}`), ReasonBadType, `"players" must be an array`},
		{"players string", entry("players", `"101,102"`), ReasonBadType, `"players"`},
		{"player string", entry("players", `[101,"102",103,104,105,106,107,108,109,110,111]`), ReasonBadType, `"players[1]"`},
		{"player null", entry("players", `[101,102,103,104,105,106,107,108,109,110,null]`), ReasonBadType, `"players[10]"`},
		{"withdrawn string", entry("withdrawn", `"yes"`), ReasonBadType, `"withdrawn" must be a boolean`},
		{"captain array", entry("captain", "[101]"), ReasonBadType, `"captain"`},

		{"fractional id", entry("entry_id", "1.5"), ReasonBadID, `"entry_id" must be an integer, got 1.5`},
		{"exponent id", entry("entry_id", "1e30"), ReasonBadID, `"entry_id" must be an integer, got 1e30`},
		{"integral float id", entry("match_id", "1.0"), ReasonBadID, `"match_id"`},
		{"zero id", entry("contest_id", "0"), ReasonBadID, `"contest_id" must be positive, got 0`},
		{"negative id", entry("user_id", "-3"), ReasonBadID, `"user_id" must be positive`},
		{"id overflow", entry("entry_id", "9223372036854775808"), ReasonBadID, "out of range"},
		{"player zero", entry("players", "[0,102,103,104,105,106,107,108,109,110,111]", "captain", "102", "vice_captain", "103"), ReasonBadID, `"players[0]"`},
		{"player beyond int32", entry("players", "[2147483648,102,103,104,105,106,107,108,109,110,111]", "captain", "102", "vice_captain", "103"), ReasonBadID, "beyond the largest player id"},
		{"captain beyond int32", entry("captain", "2147483648"), ReasonBadID, `"captain"`},
		{"captain fractional", entry("captain", "101.0"), ReasonBadID, `"captain"`},

		{"short lineup", entry("players", "[101,102,103,104,105,106,107,108,109,110]"), ReasonLineupSize, "has 10 players, want 11"},
		{"long lineup", entry("players", "[101,102,103,104,105,106,107,108,109,110,111,112]"), ReasonLineupSize, "has 12 players, want 11"},
		{"empty lineup", entry("players", "[]"), ReasonLineupSize, "has 0 players"},

		{"duplicate player", entry("players", "[101,102,103,104,105,106,107,108,109,110,101]"), ReasonDuplicatePlayer, "player 101 appears twice"},

		{"captain not in lineup", entry("captain", "999"), ReasonCaptain, `"captain" 999 is not in "players"`},
		{"vice not in lineup", entry("vice_captain", "999"), ReasonCaptain, `"vice_captain" 999 is not in "players"`},
		{"captain equals vice", entry("vice_captain", "101"), ReasonCaptain, "both player 101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeEntry(tc.value, 11)
			checkReject(t, tc.value, err, tc.code, tc.msg)
		})
	}
}

func checkReject(t *testing.T, value []byte, err error, code, msg string) {
	t.Helper()
	var rerr *RejectError
	if !errors.As(err, &rerr) {
		t.Fatalf("decode(%s) = %v, want a *RejectError %s", value, err, code)
	}
	if rerr.Code != code || !strings.Contains(rerr.Msg, msg) {
		t.Fatalf("decode(%s) rejected with %s %q, want %s containing %q", value, rerr.Code, rerr.Msg, code, msg)
	}
}

func TestDecodeEntryAnyLineupSize(t *testing.T) {
	if _, err := DecodeEntry(entry("players", "[101,102]"), 0); err != nil {
		t.Fatalf("2 players with lineupSize 0: %v", err)
	}
	_, err := DecodeEntry(entry("players", "[101]", "captain", "101", "vice_captain", "102"), 0)
	checkReject(t, nil, err, ReasonLineupSize, "want 2 to 64")
	big := make([]string, MaxLineupSize+1)
	for i := range big {
		big[i] = strconv.Itoa(101 + i)
	}
	_, err = DecodeEntry(entry("players", "["+strings.Join(big, ",")+"]"), 0)
	checkReject(t, nil, err, ReasonLineupSize, "has 65 players")
}

func TestDecodePoints(t *testing.T) {
	for _, tc := range []struct {
		raw   string
		centi int64
	}{
		{"52.5", 5250}, {"-2", -200}, {"0.25", 25}, {"0", 0}, {"-0", 0}, {"1e2", 10000},
		{"5250e-2", 5250}, {"0.125e1", 125}, {"52.50", 5250}, {"52.500000", 5250}, {"100000", 10000000},
		{"-100000", -10000000}, {"0.1", 10}, {"0.01", 1}, {"-0.07", -7}, {"0e-400", 0}, {"1.10E+1", 1100},
	} {
		got, err := DecodePoints(points("points", tc.raw))
		if err != nil {
			t.Errorf("points %s: %v", tc.raw, err)
			continue
		}
		want := PointsEvent{MatchID: 1, PlayerID: 101, Centi: tc.centi, TS: 1795740000000}
		if got != want {
			t.Errorf("points %s = %+v, want %+v", tc.raw, got, want)
		}
	}
	if got, err := DecodePoints(points("ts", "0", "extra", `[1,2]`)); err != nil || got.TS != 0 {
		t.Errorf("ts 0 with an unknown field: %+v, %v", got, err)
	}

	for _, tc := range []struct {
		name, value, code, msg string
	}{
		{"malformed", `{"match_id":1,`, ReasonMalformedJSON, "not valid JSON"},
		{"no points", string(points("points", "")), ReasonMissingField, `"points"`},
		{"null points", string(points("points", "null")), ReasonMissingField, `"points"`},
		{"no player", string(points("player_id", "")), ReasonMissingField, `"player_id"`},
		{"no match", string(points("match_id", "")), ReasonMissingField, `"match_id"`},
		{"no ts", string(points("ts", "")), ReasonMissingField, `"ts"`},
		{"points string", string(points("points", `"52.5"`)), ReasonBadType, `"points" must be a number, got string`},
		{"points bool", string(points("points", `true`)), ReasonBadType, `"points"`},
		{"over-precise", string(points("points", "0.125")), ReasonPoints, "more than 2 decimal places"},
		{"over-precise beyond double", string(points("points", "52.500000000000000001")), ReasonPoints, "more than 2 decimal places"},
		{"over-precise exponent", string(points("points", "1e-3")), ReasonPoints, "more than 2 decimal places"},
		{"underflow", string(points("points", "1e-400")), ReasonPoints, "more than 2 decimal places"},
		{"overflow", string(points("points", "1e400")), ReasonPoints, "not a finite number"},
		{"too large", string(points("points", "100000.01")), ReasonPoints, "beyond"},
		{"too small", string(points("points", "-100001")), ReasonPoints, "beyond"},
		{"player zero", string(points("player_id", "0")), ReasonBadID, `"player_id" must be positive`},
		{"player beyond int32", string(points("player_id", "2147483648")), ReasonBadID, `"player_id"`},
		{"player string", string(points("player_id", `"101"`)), ReasonBadType, `"player_id"`},
		{"match fractional", string(points("match_id", "1.5")), ReasonBadID, `"match_id"`},
		{"ts negative", string(points("ts", "-1")), ReasonTimestamp, `"ts" must not be negative`},
		{"ts fractional", string(points("ts", "1.5")), ReasonTimestamp, `"ts" must be an integer`},
		{"ts string", string(points("ts", `"2026-01-01"`)), ReasonBadType, `"ts"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodePoints([]byte(tc.value))
			checkReject(t, []byte(tc.value), err, tc.code, tc.msg)
		})
	}
}

func TestDecodeMatch(t *testing.T) {
	for _, st := range []MatchState{MatchScheduled, MatchLive, MatchCompleted} {
		got, err := DecodeMatch(match("state", strconv.Quote(string(st))))
		if want := (MatchEvent{MatchID: 1, State: st, TS: 1795740000000}); err != nil || got != want {
			t.Errorf("state %s: %+v, %v", st, got, err)
		}
	}
	if got, err := DecodeMatch(match("state", `"l\u0069ve"`)); err != nil || got.State != MatchLive {
		t.Errorf("escaped state: %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name, value, code, msg string
	}{
		{"malformed", `{"state":}`, ReasonMalformedJSON, "not valid JSON"},
		{"no state", string(match("state", "")), ReasonMissingField, `"state"`},
		{"no match", string(match("match_id", "")), ReasonMissingField, `"match_id"`},
		{"no ts", string(match("ts", "")), ReasonMissingField, `"ts"`},
		{"unknown state", string(match("state", `"paused"`)), ReasonState, `"state" "paused" is not one of scheduled, live, completed`},
		{"state case", string(match("state", `"LIVE"`)), ReasonState, `"LIVE"`},
		{"state number", string(match("state", `1`)), ReasonBadType, `"state" must be a string`},
		{"bad match id", string(match("match_id", `-1`)), ReasonBadID, `"match_id"`},
		{"bad ts", string(match("ts", `1e3`)), ReasonTimestamp, `"ts"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeMatch([]byte(tc.value))
			checkReject(t, []byte(tc.value), err, tc.code, tc.msg)
		})
	}
}

func TestEncode(t *testing.T) {
	e := EntryEvent{MatchID: 1, ContestID: 10, EntryID: 100, UserID: 7, TeamID: 55, Players: []int32{101, 102, 103}, Captain: 101, ViceCaptain: 102}
	if got, want := string(EncodeEntry(e)), `{"match_id":1,"contest_id":10,"entry_id":100,"user_id":7,"team_id":55,"players":[101,102,103],"captain":101,"vice_captain":102}`; got != want {
		t.Errorf("EncodeEntry = %s, want %s", got, want)
	}
	w := EntryEvent{MatchID: 1, ContestID: 10, EntryID: 100, Withdrawn: true, Players: []int32{1}}
	if got, want := string(EncodeEntry(w)), `{"match_id":1,"contest_id":10,"entry_id":100,"withdrawn":true}`; got != want {
		t.Errorf("EncodeEntry(withdrawn) = %s, want %s", got, want)
	}
	for centi, want := range map[int64]string{5250: "52.5", -200: "-2", 25: "0.25", 0: "0", -5: "-0.05", 1: "0.01", 10: "0.1", 123456: "1234.56", -10000000: "-100000"} {
		p := PointsEvent{MatchID: 1, PlayerID: 101, Centi: centi, TS: 1795740000000}
		if got := string(EncodePoints(p)); got != `{"match_id":1,"player_id":101,"points":`+want+`,"ts":1795740000000}` {
			t.Errorf("EncodePoints(%d) = %s", centi, got)
		}
	}
	if got, want := string(EncodeMatch(MatchEvent{MatchID: 1, State: MatchLive, TS: 5})), `{"match_id":1,"state":"live","ts":5}`; got != want {
		t.Errorf("EncodeMatch = %s, want %s", got, want)
	}
}

func TestRejectErrorString(t *testing.T) {
	err := error(&RejectError{Code: ReasonCaptain, Msg: "entry event: x"})
	if got := err.Error(); got != "entry event: x (captain)" {
		t.Errorf("Error() = %q", got)
	}
}

// The fast path takes the usual shapes of an entry event (else it would only be slow),
// and decoding one allocates nothing beyond its share of the lineup arena.
func TestFastEntryPath(t *testing.T) {
	for _, v := range [][]byte{
		entry(), entry("withdrawn", "false"), entry("sport", `"cricket"`, "note", "null", "x", "-1.5e3"),
		obj("match_id", "1", "contest_id", "10", "entry_id", "100", "withdrawn", "true"),
		[]byte(" {\"match_id\" : 1 ,\n\"contest_id\":10,\"entry_id\":100,\"withdrawn\":true}\n"),
		EncodeEntry(testEntry(10, 1)),
	} {
		var slab []int32
		fast, ok := fastDecodeEntry(v, 11, &slab)
		if !ok {
			t.Errorf("fast path declined %s", v)
			continue
		}
		if ref, rerr := decodeEntryReference(v, 11); rerr != nil || !reflect.DeepEqual(fast, ref) {
			t.Errorf("fast path %+v, reference %+v, %v", fast, ref, rerr)
		}
	}
	v := entry()
	slab := make([]int32, 0, 1<<20)
	if n := testing.AllocsPerRun(1000, func() {
		if _, rerr := decodeEntry(v, 11, &slab); rerr != nil {
			t.Fatal(rerr)
		}
	}); n != 0 {
		t.Errorf("decodeEntry allocates %v times per event", n)
	}
}
