package kafkasource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/fantasy/leaderboard/internal/fixedpoint"
)

// MaxLineupSize is the largest lineup an entry event may carry: fixedpoint.MaxPlayerPoints
// is chosen so that a team of this many players fits the engine's int32 team points.
const MaxLineupSize = 64

// EntryEvent is one value of the entries topic: an upsert of entry EntryID, or its removal
// when Withdrawn is set (then only MatchID, ContestID and EntryID are meaningful).
type EntryEvent struct {
	MatchID, ContestID, EntryID, UserID, TeamID int64
	// Players is the lineup: distinct player ids, in the order the event listed them.
	Players              []int32
	Captain, ViceCaptain int32
	Withdrawn            bool
}

// PointsEvent is one value of the points topic: a player's total points so far.
type PointsEvent struct {
	MatchID  int64
	PlayerID int32
	// Centi is the player's points in exact centipoints (52.5 points = 5250).
	Centi int64
	// TS is the event time in milliseconds since the Unix epoch.
	TS int64
}

// MatchState is a match's lifecycle state.
type MatchState string

// The match states of the matches topic.
const (
	MatchScheduled MatchState = "scheduled"
	MatchLive      MatchState = "live"
	MatchCompleted MatchState = "completed"
)

// MatchEvent is one value of the matches topic.
type MatchEvent struct {
	MatchID int64
	State   MatchState
	// TS is the event time in milliseconds since the Unix epoch.
	TS int64
}

// Reason codes of a RejectError: short, stable, fit for a metric label and the DLQ's
// reason_code header. docs/EVENTS.md lists the rule behind each.
const (
	ReasonMalformedJSON   = "malformed_json"   // not one JSON object
	ReasonMissingField    = "missing_field"    // a required field is absent or null
	ReasonBadType         = "bad_type"         // a field has the wrong JSON type
	ReasonBadID           = "bad_id"           // an id is not a positive integer in range
	ReasonLineupSize      = "lineup_size"      // the lineup has the wrong number of players
	ReasonDuplicatePlayer = "duplicate_player" // a player appears twice in the lineup
	ReasonCaptain         = "captain"          // captain/vice-captain not in the lineup, or equal
	ReasonPoints          = "points"           // points not finite, over-precise or out of range
	ReasonState           = "state"            // unknown match state
	ReasonTimestamp       = "timestamp"        // ts is not a non-negative integer
	ReasonKeyMismatch     = "key_mismatch"     // record key differs from the id it must carry
	ReasonContestMove     = "contest_move"     // an entry moved between contests (worker)
)

// RejectError says why an event was refused. Code is one of the Reason constants; Msg
// is a message for people that names the offending field.
type RejectError struct {
	Code string
	Msg  string
}

func (e *RejectError) Error() string { return e.Msg + " (" + e.Code + ")" }

func reject(code, format string, args ...any) *RejectError {
	return &RejectError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// DecodeEntry decodes and validates an entries-topic value. lineupSize is the sport's
// lineup size; a value ≤ 0 accepts any size from 2 to MaxLineupSize.
func DecodeEntry(value []byte, lineupSize int) (EntryEvent, error) {
	var slab []int32
	e, rerr := decodeEntry(value, lineupSize, &slab)
	if rerr != nil {
		return EntryEvent{}, rerr
	}
	return e, nil
}

// decodeEntry is DecodeEntry with the lineup carved out of *slab (a caller-owned
// arena, refilled when full), so a batch of events costs a few allocations, not one each.
func decodeEntry(value []byte, lineupSize int, slab *[]int32) (EntryEvent, *RejectError) {
	if e, ok := fastDecodeEntry(value, lineupSize, slab); ok {
		return e, nil
	}
	return decodeEntryReference(value, lineupSize)
}

// decodeEntryInto is decodeEntry decoding into *e (set whole when it returns nil), so
// that Poll reads an event straight into its batch: the canonical path writes *e once.
func decodeEntryInto(e *EntryEvent, value []byte, lineupSize int, slab *[]int32) *RejectError {
	if canonicalInto(e, value, lineupSize, slab) {
		return nil
	}
	var rerr *RejectError
	*e, rerr = decodeEntry(value, lineupSize, slab)
	return rerr
}

// decodeEntryReference is the plain decoder built on encoding/json. It is the source of
// every rejection; the fast path only ever accepts what this accepts (fuzzed).
func decodeEntryReference(value []byte, lineupSize int) (EntryEvent, *RejectError) {
	const what = "entry"
	o, rerr := parseObject(value, what)
	if rerr != nil {
		return EntryEvent{}, rerr
	}
	var e EntryEvent
	if e.MatchID, rerr = o.id(what, "match_id", ""); rerr != nil {
		return EntryEvent{}, rerr
	}
	if e.ContestID, rerr = o.id(what, "contest_id", ""); rerr != nil {
		return EntryEvent{}, rerr
	}
	if e.EntryID, rerr = o.id(what, "entry_id", ""); rerr != nil {
		return EntryEvent{}, rerr
	}
	if raw, ok := o.get("withdrawn"); ok {
		if k := kindOf(raw); k != "boolean" {
			return EntryEvent{}, reject(ReasonBadType, "%s event: \"withdrawn\" must be a boolean, got %s %s", what, k, clip(raw))
		}
		e.Withdrawn = raw[0] == 't'
	}
	if e.Withdrawn {
		return e, nil
	}
	const unless = ` (required unless "withdrawn" is true)`
	if e.UserID, rerr = o.id(what, "user_id", unless); rerr != nil {
		return EntryEvent{}, rerr
	}
	if e.TeamID, rerr = o.id(what, "team_id", unless); rerr != nil {
		return EntryEvent{}, rerr
	}
	raw, ok := o.get("players")
	if !ok {
		return EntryEvent{}, reject(ReasonMissingField, "%s event has no \"players\"%s", what, unless)
	}
	if k := kindOf(raw); k != "array" {
		return EntryEvent{}, reject(ReasonBadType, "%s event: \"players\" must be an array of player ids, got %s %s", what, k, clip(raw))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		panic(fmt.Sprintf("BUG: a validated JSON array %q does not decode: %v", clip(raw), err))
	}
	if rerr := checkLineupSize(len(elems), lineupSize); rerr != nil {
		return EntryEvent{}, rerr
	}
	e.Players = make([]int32, len(elems))
	for i, el := range elems {
		name := "players[" + strconv.Itoa(i) + "]"
		v, rerr := intValue(what, name, el, ReasonBadID, true)
		if rerr != nil {
			return EntryEvent{}, rerr
		}
		if v > math.MaxInt32 {
			return EntryEvent{}, reject(ReasonBadID, "%s event: %q = %d is beyond the largest player id %d", what, name, v, math.MaxInt32)
		}
		e.Players[i] = int32(v)
	}
	if e.Captain, rerr = o.id32(what, "captain", unless); rerr != nil {
		return EntryEvent{}, rerr
	}
	if e.ViceCaptain, rerr = o.id32(what, "vice_captain", unless); rerr != nil {
		return EntryEvent{}, rerr
	}
	if rerr := checkLineup(e.Players, e.Captain, e.ViceCaptain); rerr != nil {
		return EntryEvent{}, rerr
	}
	return e, nil
}

func checkLineupSize(n, lineupSize int) *RejectError {
	switch {
	case lineupSize > 0 && n != lineupSize:
		return reject(ReasonLineupSize, "entry event: \"players\" has %d players, want %d", n, lineupSize)
	case lineupSize <= 0 && (n < 2 || n > MaxLineupSize):
		return reject(ReasonLineupSize, "entry event: \"players\" has %d players, want 2 to %d", n, MaxLineupSize)
	}
	return nil
}

// checkLineup checks the rules between fields: distinct players, captain and vice-captain
// distinct and both in the lineup. The lineup size is already checked.
func checkLineup(players []int32, captain, vice int32) *RejectError {
	for i := 1; i < len(players); i++ {
		for j := 0; j < i; j++ {
			if players[i] == players[j] {
				return reject(ReasonDuplicatePlayer, "entry event: player %d appears twice in \"players\" (at %d and %d)", players[i], j, i)
			}
		}
	}
	if captain == vice {
		return reject(ReasonCaptain, "entry event: \"captain\" and \"vice_captain\" are both player %d", captain)
	}
	var hasC, hasV bool
	for _, p := range players {
		hasC = hasC || p == captain
		hasV = hasV || p == vice
	}
	if !hasC {
		return reject(ReasonCaptain, "entry event: \"captain\" %d is not in \"players\"", captain)
	}
	if !hasV {
		return reject(ReasonCaptain, "entry event: \"vice_captain\" %d is not in \"players\"", vice)
	}
	return nil
}

// DecodePoints decodes and validates a points-topic value.
func DecodePoints(value []byte) (PointsEvent, error) {
	e, rerr := decodePoints(value)
	if rerr != nil {
		return PointsEvent{}, rerr
	}
	return e, nil
}

func decodePoints(value []byte) (PointsEvent, *RejectError) {
	const what = "points"
	o, rerr := parseObject(value, what)
	if rerr != nil {
		return PointsEvent{}, rerr
	}
	var e PointsEvent
	if e.MatchID, rerr = o.id(what, "match_id", ""); rerr != nil {
		return PointsEvent{}, rerr
	}
	if e.PlayerID, rerr = o.id32(what, "player_id", ""); rerr != nil {
		return PointsEvent{}, rerr
	}
	raw, ok := o.get("points")
	if !ok {
		return PointsEvent{}, reject(ReasonMissingField, "points event has no \"points\"")
	}
	if k := kindOf(raw); k != "number" {
		return PointsEvent{}, reject(ReasonBadType, "points event: \"points\" must be a number, got %s %s", k, clip(raw))
	}
	if e.Centi, rerr = centipoints(raw); rerr != nil {
		return PointsEvent{}, rerr
	}
	if e.TS, rerr = o.ts(what); rerr != nil {
		return PointsEvent{}, rerr
	}
	return e, nil
}

// centipoints converts a JSON number to exact centipoints. fixedpoint.Centipoints is the
// rule (finite, at most two decimals, within ±MaxPlayerPoints); it sees the nearest
// double, so the decimal text is checked first for digits a double would round away
// (52.500000000000000001).
func centipoints(raw []byte) (int64, *RejectError) {
	if decimalPlaces(raw) > 2 {
		return 0, reject(ReasonPoints, "points event: \"points\" %s has more than 2 decimal places", clip(raw))
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		panic(fmt.Sprintf("BUG: JSON number %q does not parse: %v", clip(raw), err))
	}
	c, err := fixedpoint.Centipoints(v)
	if err != nil {
		return 0, reject(ReasonPoints, "points event: \"points\" %s: %v", clip(raw), err)
	}
	return c, nil
}

// decimalPlaces returns how many decimal places the exact value of a valid JSON number
// needs: 0 for an integer value, saturating for absurd exponents.
func decimalPlaces(num []byte) int64 {
	i := 0
	if i < len(num) && num[i] == '-' {
		i++
	}
	var intDigits, pos, lastNonzero int64 // pos counts mantissa digits; lastNonzero is 1-based, 0 for none
	for ; i < len(num) && num[i] >= '0' && num[i] <= '9'; i++ {
		pos++
		if num[i] != '0' {
			lastNonzero = pos
		}
	}
	intDigits = pos
	if i < len(num) && num[i] == '.' {
		for i++; i < len(num) && num[i] >= '0' && num[i] <= '9'; i++ {
			pos++
			if num[i] != '0' {
				lastNonzero = pos
			}
		}
	}
	if lastNonzero == 0 {
		return 0 // the value is zero
	}
	var exp int64
	if i < len(num) && (num[i] == 'e' || num[i] == 'E') {
		i++
		neg := false
		if i < len(num) && (num[i] == '+' || num[i] == '-') {
			neg = num[i] == '-'
			i++
		}
		for ; i < len(num) && num[i] >= '0' && num[i] <= '9'; i++ {
			if exp < 1e12 {
				exp = exp*10 + int64(num[i]-'0')
			}
		}
		if neg {
			exp = -exp
		}
	}
	return max(0, lastNonzero-intDigits-exp)
}

// DecodeMatch decodes and validates a matches-topic value.
func DecodeMatch(value []byte) (MatchEvent, error) {
	e, rerr := decodeMatch(value)
	if rerr != nil {
		return MatchEvent{}, rerr
	}
	return e, nil
}

func decodeMatch(value []byte) (MatchEvent, *RejectError) {
	const what = "match"
	o, rerr := parseObject(value, what)
	if rerr != nil {
		return MatchEvent{}, rerr
	}
	var e MatchEvent
	if e.MatchID, rerr = o.id(what, "match_id", ""); rerr != nil {
		return MatchEvent{}, rerr
	}
	raw, ok := o.get("state")
	if !ok {
		return MatchEvent{}, reject(ReasonMissingField, "match event has no \"state\"")
	}
	if k := kindOf(raw); k != "string" {
		return MatchEvent{}, reject(ReasonBadType, "match event: \"state\" must be a string, got %s %s", k, clip(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		panic(fmt.Sprintf("BUG: a validated JSON string %q does not decode: %v", clip(raw), err))
	}
	switch st := MatchState(s); st {
	case MatchScheduled, MatchLive, MatchCompleted:
		e.State = st
	default:
		return MatchEvent{}, reject(ReasonState, "match event: \"state\" %q is not one of scheduled, live, completed", clipString(s))
	}
	if e.TS, rerr = o.ts(what); rerr != nil {
		return MatchEvent{}, rerr
	}
	return e, nil
}

// object is a decoded JSON object: exact key match, the last of duplicate keys wins.
type object map[string]json.RawMessage

func parseObject(value []byte, what string) (object, *RejectError) {
	var o object
	if err := json.Unmarshal(value, &o); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, reject(ReasonMalformedJSON, "%s event is not valid JSON: %v (at byte %d)", what, err, se.Offset)
		case errors.As(err, &te):
			return nil, reject(ReasonMalformedJSON, "%s event must be a JSON object, got a JSON %s", what, te.Value)
		default:
			return nil, reject(ReasonMalformedJSON, "%s event is not valid JSON: %v", what, err)
		}
	}
	if o == nil {
		return nil, reject(ReasonMalformedJSON, "%s event must be a JSON object, got null", what)
	}
	return o, nil
}

// get returns a field's raw value; an absent field and a null one are both missing.
func (o object) get(name string) (json.RawMessage, bool) {
	raw, ok := o[name]
	if !ok {
		return nil, false
	}
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// id returns a required positive int64 id.
func (o object) id(what, name, unless string) (int64, *RejectError) {
	raw, ok := o.get(name)
	if !ok {
		return 0, reject(ReasonMissingField, "%s event has no %q%s", what, name, unless)
	}
	return intValue(what, name, raw, ReasonBadID, true)
}

// id32 returns a required positive int32 id (a player).
func (o object) id32(what, name, unless string) (int32, *RejectError) {
	v, rerr := o.id(what, name, unless)
	if rerr != nil {
		return 0, rerr
	}
	if v > math.MaxInt32 {
		return 0, reject(ReasonBadID, "%s event: %q = %d is beyond the largest player id %d", what, name, v, math.MaxInt32)
	}
	return int32(v), nil
}

// ts returns the required event time: a non-negative integer of epoch milliseconds.
func (o object) ts(what string) (int64, *RejectError) {
	raw, ok := o.get("ts")
	if !ok {
		return 0, reject(ReasonMissingField, "%s event has no \"ts\"", what)
	}
	return intValue(what, "ts", raw, ReasonTimestamp, false)
}

// intValue parses a JSON integer: a number written without fraction or exponent, in
// int64 range; positive when positive is set, else non-negative. code is the reason for
// a number that breaks these rules.
func intValue(what, name string, raw json.RawMessage, code string, positive bool) (int64, *RejectError) {
	if k := kindOf(raw); k != "number" {
		return 0, reject(ReasonBadType, "%s event: %q must be an integer, got %s %s", what, name, k, clip(raw))
	}
	if bytes.ContainsAny(raw, ".eE") {
		return 0, reject(code, "%s event: %q must be an integer, got %s", what, name, clip(raw))
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, reject(code, "%s event: %q = %s is out of range", what, name, clip(raw))
	}
	switch {
	case positive && v <= 0:
		return 0, reject(code, "%s event: %q must be positive, got %d", what, name, v)
	case v < 0:
		return 0, reject(code, "%s event: %q must not be negative, got %d", what, name, v)
	}
	return v, nil
}

// kindOf names the JSON type of a valid raw value.
func kindOf(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "number"
}

// clip shortens a raw value for a message.
func clip(raw []byte) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "…"
	}
	return string(raw)
}

func clipString(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// EncodeEntry renders an entry event as the entries-topic JSON value. It does not
// validate: a publisher may send a bad event on purpose (the consumer dead-letters it).
func EncodeEntry(e EntryEvent) []byte {
	return appendEntry(make([]byte, 0, 128+8*len(e.Players)), e)
}

func appendEntry(b []byte, e EntryEvent) []byte {
	b = append(b, `{"match_id":`...)
	b = strconv.AppendInt(b, e.MatchID, 10)
	b = append(b, `,"contest_id":`...)
	b = strconv.AppendInt(b, e.ContestID, 10)
	b = append(b, `,"entry_id":`...)
	b = strconv.AppendInt(b, e.EntryID, 10)
	if e.Withdrawn {
		return append(b, `,"withdrawn":true}`...)
	}
	b = append(b, `,"user_id":`...)
	b = strconv.AppendInt(b, e.UserID, 10)
	b = append(b, `,"team_id":`...)
	b = strconv.AppendInt(b, e.TeamID, 10)
	b = append(b, `,"players":[`...)
	for i, p := range e.Players {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(p), 10)
	}
	b = append(b, `],"captain":`...)
	b = strconv.AppendInt(b, int64(e.Captain), 10)
	b = append(b, `,"vice_captain":`...)
	b = strconv.AppendInt(b, int64(e.ViceCaptain), 10)
	return append(b, '}')
}

// EncodePoints renders a points event as the points-topic JSON value, the points as an
// exact decimal number (5250 centipoints → 52.5, -200 → -2, 25 → 0.25).
func EncodePoints(e PointsEvent) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"match_id":`...)
	b = strconv.AppendInt(b, e.MatchID, 10)
	b = append(b, `,"player_id":`...)
	b = strconv.AppendInt(b, int64(e.PlayerID), 10)
	b = append(b, `,"points":`...)
	b = AppendCentipoints(b, e.Centi)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, e.TS, 10)
	return append(b, '}')
}

// AppendCentipoints appends centipoints as the shortest exact decimal: 52.5, -2, 0.25.
func AppendCentipoints(b []byte, c int64) []byte {
	u := uint64(c)
	if c < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/100, 10)
	if f := u % 100; f != 0 {
		b = append(b, '.', byte('0'+f/10))
		if f%10 != 0 {
			b = append(b, byte('0'+f%10))
		}
	}
	return b
}

// EncodeMatch renders a match event as the matches-topic JSON value.
func EncodeMatch(e MatchEvent) []byte {
	b := make([]byte, 0, 64)
	b = append(b, `{"match_id":`...)
	b = strconv.AppendInt(b, e.MatchID, 10)
	b = append(b, `,"state":`...)
	state, _ := json.Marshal(string(e.State)) // a string always marshals
	b = append(b, state...)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, e.TS, 10)
	return append(b, '}')
}
