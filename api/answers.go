package api

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fantasy/leaderboard/internal/fixedpoint"
	"github.com/fantasy/leaderboard/records"
)

// The JSON answers. Field order is the order of DESIGN.md's "API answers".

type matchSummary struct {
	MatchID  int64  `json:"match_id"`
	State    string `json:"state"`
	Cycle    int64  `json:"cycle"`
	AsOf     string `json:"as_of"`
	Entries  int64  `json:"entries"`
	Contests int64  `json:"contests"`
}

type matchList struct {
	Matches []matchSummary `json:"matches"`
}

type playerPoints struct {
	PlayerID int32       `json:"player_id"`
	Points   json.Number `json:"points"`
}

type matchDetail struct {
	matchSummary
	Players []playerPoints `json:"players"`
}

type contestSize struct {
	ContestID int64 `json:"contest_id"`
	Entries   int64 `json:"entries"`
}

type contestList struct {
	MatchID  int64         `json:"match_id"`
	Cycle    int64         `json:"cycle"`
	AsOf     string        `json:"as_of"`
	Total    int64         `json:"total"`
	Offset   int64         `json:"offset"`
	Limit    int64         `json:"limit"`
	Contests []contestSize `json:"contests"`
}

type row struct {
	Rank    int64       `json:"rank"`
	EntryID int64       `json:"entry_id"`
	UserID  int64       `json:"user_id"`
	TeamID  int64       `json:"team_id"`
	Points  json.Number `json:"points"`
}

// leaderboardPage is a leaderboard page, and with EntryID the window around an entry.
type leaderboardPage struct {
	ContestID int64  `json:"contest_id"`
	EntryID   *int64 `json:"entry_id,omitempty"`
	MatchID   int64  `json:"match_id"`
	Cycle     int64  `json:"cycle"`
	AsOf      string `json:"as_of"`
	Total     int64  `json:"total"`
	Offset    int64  `json:"offset"`
	Limit     int64  `json:"limit"`
	Entries   []row  `json:"entries"`
}

type entryStanding struct {
	ContestID int64  `json:"contest_id"`
	MatchID   int64  `json:"match_id"`
	EntryID   int64  `json:"entry_id"`
	UserID    int64  `json:"user_id"`
	TeamID    int64  `json:"team_id"`
	Rank      int64  `json:"rank"`
	Points    units  `json:"points"`
	Total     int64  `json:"total"`
	Cycle     int64  `json:"cycle"`
	AsOf      string `json:"as_of"`
}

// units are team points in units of 1/fixedpoint.PointsScale, written as an exact JSON
// number.
type units int64

func (u units) MarshalJSON() ([]byte, error) { return fixedpoint.AppendUnits(nil, int64(u)), nil }

// userEntry is one of a user's entries; Rank and Points are null while its contest has no
// standings yet.
type userEntry struct {
	ContestID int64        `json:"contest_id"`
	EntryID   int64        `json:"entry_id"`
	Rank      *int64       `json:"rank"`
	Points    *json.Number `json:"points"`
	Total     int64        `json:"total"`
}

type userEntries struct {
	UserID  int64       `json:"user_id"`
	MatchID int64       `json:"match_id"`
	Cycle   int64       `json:"cycle"`
	AsOf    string      `json:"as_of"`
	Entries []userEntry `json:"entries"`
}

// points renders team-point units as an exact JSON number.
func points(units int64) json.Number { return json.Number(fixedpoint.FormatUnits(units)) }

// asOf renders an as_of bin (epoch ms) as RFC 3339 in UTC with milliseconds. The answers
// of a cycle share its as_of: the last few rendered are kept.
func asOf(ms int64) string {
	slot := &asOfs[uint64(ms)%uint64(len(asOfs))]
	if t := slot.Load(); t != nil && t.ms == ms {
		return t.text
	}
	text := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
	slot.Store(&asOfText{ms, text})
	return text
}

type asOfText struct {
	ms   int64
	text string
}

var asOfs [64]atomic.Pointer[asOfText]

func rowsJSON(rs []records.Row) []row {
	out := make([]row, len(rs))
	for k, r := range rs {
		out[k] = row{Rank: r.Rank, EntryID: r.EntryID, UserID: r.UserID, TeamID: r.TeamID, Points: points(r.Points)}
	}
	return out
}

func summary(m records.Match) matchSummary {
	return matchSummary{MatchID: m.ID, State: m.State, Cycle: m.Cycle, AsOf: asOf(m.AsOf), Entries: m.Entries, Contests: m.Contests}
}

// appendJSON writes the entry answer without reflection or allocation: it is the
// hottest answer. The field order and names are those of the struct tags above.
func (e *entryStanding) appendJSON(b []byte) []byte {
	field := func(b []byte, name string, v int64) []byte {
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, v, 10)
		return append(b, ',')
	}
	b = append(b, '{')
	b = field(b, "contest_id", e.ContestID)
	b = field(b, "match_id", e.MatchID)
	b = field(b, "entry_id", e.EntryID)
	b = field(b, "user_id", e.UserID)
	b = field(b, "team_id", e.TeamID)
	b = field(b, "rank", e.Rank)
	b = append(b, `"points":`...)
	b = fixedpoint.AppendUnits(b, int64(e.Points))
	b = append(b, ',')
	b = field(b, "total", e.Total)
	b = field(b, "cycle", e.Cycle)
	b = append(b, `"as_of":`...)
	b = strconv.AppendQuote(b, e.AsOf)
	return append(b, '}')
}
