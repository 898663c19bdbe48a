package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/records"
)

// Answers as the contract spells them (DESIGN.md "API answers"), decoded independently of
// the server's own types.
type tRow struct {
	Rank    int64       `json:"rank"`
	EntryID int64       `json:"entry_id"`
	UserID  int64       `json:"user_id"`
	TeamID  int64       `json:"team_id"`
	Points  json.Number `json:"points"`
}

type tPage struct {
	ContestID int64  `json:"contest_id"`
	EntryID   int64  `json:"entry_id"`
	MatchID   int64  `json:"match_id"`
	Cycle     int64  `json:"cycle"`
	AsOf      string `json:"as_of"`
	Total     int64  `json:"total"`
	Offset    int64  `json:"offset"`
	Limit     int64  `json:"limit"`
	Entries   []tRow `json:"entries"`
}

type tEntry struct {
	ContestID int64       `json:"contest_id"`
	MatchID   int64       `json:"match_id"`
	EntryID   int64       `json:"entry_id"`
	UserID    int64       `json:"user_id"`
	TeamID    int64       `json:"team_id"`
	Rank      int64       `json:"rank"`
	Points    json.Number `json:"points"`
	Total     int64       `json:"total"`
	Cycle     int64       `json:"cycle"`
	AsOf      string      `json:"as_of"`
}

type tUser struct {
	UserID  int64  `json:"user_id"`
	MatchID int64  `json:"match_id"`
	Cycle   int64  `json:"cycle"`
	AsOf    string `json:"as_of"`
	Entries []struct {
		ContestID int64        `json:"contest_id"`
		EntryID   int64        `json:"entry_id"`
		Rank      *int64       `json:"rank"`
		Points    *json.Number `json:"points"`
		Total     int64        `json:"total"`
	} `json:"entries"`
}

type tMatch struct {
	MatchID  int64  `json:"match_id"`
	State    string `json:"state"`
	Cycle    int64  `json:"cycle"`
	AsOf     string `json:"as_of"`
	Entries  int64  `json:"entries"`
	Contests int64  `json:"contests"`
	Players  []struct {
		PlayerID int32       `json:"player_id"`
		Points   json.Number `json:"points"`
	} `json:"players"`
}

type tContests struct {
	MatchID  int64  `json:"match_id"`
	Cycle    int64  `json:"cycle"`
	AsOf     string `json:"as_of"`
	Total    int64  `json:"total"`
	Offset   int64  `json:"offset"`
	Limit    int64  `json:"limit"`
	Contests []struct {
		ContestID int64 `json:"contest_id"`
		Entries   int64 `json:"entries"`
	} `json:"contests"`
}

// fetch GETs path and checks the status; it decodes a JSON body into v (when non-nil)
// and returns the body.
func fetch(t testing.TB, srv *testServer, path string, status int, v any) []byte {
	t.Helper()
	body, resp := get(t, srv, path)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: status %d, want %d: %s", path, resp.StatusCode, status, body)
	}
	if v != nil {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("GET %s: content type %q", path, ct)
		}
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if err := d.Decode(v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return body
}

// checkRows compares rows of an answer with the reference's.
func checkRows(t *testing.T, what string, got []tRow, want []reference.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if g.Rank != int64(w.Rank) || g.EntryID != w.EntryID || g.UserID != w.UserID || g.TeamID != w.TeamID || string(g.Points) != wantPoints(w.Points) {
			t.Fatalf("%s: row %d = %+v, want rank %d entry %d user %d team %d points %s", what, k, g, w.Rank, w.EntryID, w.UserID, w.TeamID, wantPoints(w.Points))
		}
	}
}

func TestLeaderboardPages(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	md := f.matches[liveMatch]
	big, one, old := md.bigContest(), md.contestOfSize(1), md.contests[0]
	for _, tc := range []struct {
		contest       int64
		query         string
		offset, limit int
	}{
		{big, "", 0, 50},
		{big, "?limit=1000", 0, 1000},
		{big, "?offset=1&limit=1", 1, 1},
		{big, "?offset=99&limit=2", 99, 2},
		{big, "?offset=100&limit=100", 100, 100},
		{big, "?offset=137&limit=263", 137, 263},
		{big, "?offset=1999&limit=1000", 1999, 1000},
		{big, "?offset=2450&limit=77", 2450, 77},
		{big, "?offset=2499", 2499, 50},
		{big, "?offset=2500", 2500, 50},
		{big, "?offset=9223372036854775807&limit=1000", 1 << 62, 1000},
		{one, "", 0, 50},
		{one, "?offset=1", 1, 50},
		{old, "?limit=2", 0, 2},
		{md.contestOfSize(101), "?offset=95&limit=10", 95, 10},
		{md.contestOfSize(100), "?offset=50&limit=1000", 50, 1000},
		{md.contestOfSize(250), "?offset=199&limit=3", 199, 3},
	} {
		t.Run(fmt.Sprintf("%d%s", tc.contest, tc.query), func(t *testing.T) {
			var p tPage
			f.store.resetCounts()
			fetch(t, srv, fmt.Sprintf("/v1/contests/%d/leaderboard%s", tc.contest, tc.query), 200, &p)
			ref := md.ranked[tc.contest]
			from := min(tc.offset, len(ref))
			to := min(from+tc.limit, len(ref))
			checkRows(t, "page", p.Entries, ref[from:to])
			if p.ContestID != tc.contest || p.MatchID != liveMatch || p.Total != int64(len(ref)) || p.Limit != int64(tc.limit) ||
				p.Cycle != md.cycle[tc.contest] || p.AsOf != wantAsOf(md.cycle[tc.contest]) {
				t.Fatalf("page header %+v", p)
			}
			if tc.offset < 1<<62 && p.Offset != int64(tc.offset) {
				t.Fatalf("offset %d, want %d", p.Offset, tc.offset)
			}
			if n := f.store.calls.Load(); n > 3 {
				t.Fatalf("%d store calls, want the contest, its match's commit and one batch of pages", n)
			}
		})
	}
}

func TestEntry(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	for _, mid := range []int64{liveMatch, doneMatch} {
		md := f.matches[mid]
		for _, cid := range md.contests {
			ref := md.ranked[cid]
			step := 1
			if len(ref) > 300 {
				step = 3 // a third of the big contest keeps the test fast under -race
			}
			for k := 0; k < len(ref); k += step {
				w := ref[k]
				var e tEntry
				f.store.resetCounts()
				fetch(t, srv, fmt.Sprintf("/v1/contests/%d/entries/%d", cid, w.EntryID), 200, &e)
				want := tEntry{ContestID: cid, MatchID: mid, EntryID: w.EntryID, UserID: w.UserID, TeamID: w.TeamID, Rank: int64(w.Rank),
					Points: json.Number(wantPoints(w.Points)), Total: int64(len(ref)), Cycle: md.cycle[cid], AsOf: wantAsOf(md.cycle[cid])}
				if e != want {
					t.Fatalf("entry %d: got %+v, want %+v", w.EntryID, e, want)
				}
				if n := f.store.calls.Load(); mid == liveMatch && n != 4 {
					t.Fatalf("entry %d: %d store calls, want 4 (entry; contest, match, match partition)", w.EntryID, n)
				}
			}
		}
	}
}

// tieGroups returns the [from, to) display positions of the tie groups of rows.
func tieGroups(rows []reference.Row) [][2]int {
	var g [][2]int
	for k := range rows {
		if k == 0 || rows[k].Points != rows[k-1].Points {
			g = append(g, [2]int{k, k + 1})
		} else {
			g[len(g)-1][1] = k + 1
		}
	}
	return g
}

func TestAround(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	md := f.matches[liveMatch]
	big := md.bigContest()
	ref := md.ranked[big]
	groups := tieGroups(ref)
	largest := groups[0]
	for _, g := range groups {
		if g[1]-g[0] > largest[1]-largest[0] {
			largest = g
		}
	}
	if largest[0]/pageSize == (largest[1]-1)/pageSize {
		t.Fatalf("fixture: the largest tie group %v does not cross a page boundary", largest)
	}
	// A tie group that starts just before a page boundary.
	crossing := groups[0]
	for _, g := range groups {
		if g[0]/pageSize != (g[1]-1)/pageSize && g[0]%pageSize > 80 {
			crossing = g
			break
		}
	}
	type pos struct {
		name          string
		contest       int64
		at            int
		query         string
		before, after int
	}
	cases := []pos{
		{"top", big, 0, "", 5, 5},
		{"second", big, 1, "?before=3&after=0", 3, 0},
		{"bottom", big, len(ref) - 1, "", 5, 5},
		{"bottom-wide", big, len(ref) - 2, "?before=100&after=100", 100, 100},
		{"tie-first", big, largest[0], "", 5, 5},
		{"tie-middle", big, (largest[0] + largest[1]) / 2, "?before=17&after=31", 17, 31},
		{"tie-last", big, largest[1] - 1, "?before=0&after=0", 0, 0},
		{"tie-crossing-last", big, crossing[1] - 1, "?before=100&after=3", 100, 3},
		{"page-boundary", big, 2 * pageSize, "?before=1&after=1", 1, 1},
		{"one-entry", md.contestOfSize(1), 0, "", 5, 5},
		{"older-cycle", md.contests[0], 2, "?before=1", 1, 5},
	}
	for k := 0; k < len(ref); k += 97 {
		cases = append(cases, pos{fmt.Sprintf("sample-%d", k), big, k, "?before=2&after=2", 2, 2})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := md.ranked[tc.contest]
			w := ref[tc.at]
			var p tPage
			f.store.resetCounts()
			fetch(t, srv, fmt.Sprintf("/v1/contests/%d/entries/%d/around%s", tc.contest, w.EntryID, tc.query), 200, &p)
			from, to := max(tc.at-tc.before, 0), min(tc.at+tc.after+1, len(ref))
			checkRows(t, "around", p.Entries, ref[from:to])
			if p.EntryID != w.EntryID || p.ContestID != tc.contest || p.MatchID != liveMatch || p.Offset != int64(from) ||
				p.Limit != int64(to-from) || p.Total != int64(len(ref)) || p.Cycle != md.cycle[tc.contest] {
				t.Fatalf("header %+v", p)
			}
			// Few reads: entry, contest, match, match partition, a binary search over the
			// tie group's pages, one batch for the window.
			var group [2]int
			for _, g := range tieGroups(ref) {
				if g[0] <= tc.at && tc.at < g[1] {
					group = g
				}
			}
			groupPages := (group[1]-1)/pageSize - group[0]/pageSize + 1
			limit := int64(4 + bits.Len(uint(groupPages)) + 1)
			if n := f.store.calls.Load(); n > limit {
				t.Fatalf("%d store calls for a tie group over %d pages, want <= %d", n, groupPages, limit)
			}
		})
	}
}

func TestUserEntries(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	for _, mid := range []int64{liveMatch, doneMatch} {
		md := f.matches[mid]
		where := map[int64]reference.Row{} // entry -> its reference row
		for _, rows := range md.ranked {
			for _, r := range rows {
				where[r.EntryID] = r
			}
		}
		users := slices.Sorted(func(yield func(int64) bool) {
			for u := range md.users {
				if !yield(u) {
					return
				}
			}
		})
		checked, split := 0, 0
		for k, u := range users {
			multi := len(md.users[u]) > 1
			if k%9 != 0 && !multi { // every user with several entries, a sample of the rest
				continue
			}
			checked++
			var got tUser
			f.store.resetCounts()
			fetch(t, srv, fmt.Sprintf("/v1/users/%d/entries?match_id=%d", u, mid), 200, &got)
			if got.UserID != u || got.MatchID != mid || len(got.Entries) != len(md.users[u]) {
				t.Fatalf("user %d: %+v", u, got)
			}
			newest := int64(0)
			inParts := map[int32]bool{}
			for _, e := range got.Entries {
				inParts[md.part[e.ContestID]] = true
				w, ok := where[e.EntryID]
				cyc := md.cycle[w.ContestID]
				if !ok || e.ContestID != w.ContestID || e.Rank == nil || *e.Rank != int64(w.Rank) || e.Points == nil ||
					string(*e.Points) != wantPoints(w.Points) || e.Total != int64(len(md.ranked[w.ContestID])) {
					t.Fatalf("user %d entry %+v, want %+v", u, e, w)
				}
				newest = max(newest, cyc)
			}
			if got.Cycle != newest || got.AsOf != wantAsOf(newest) {
				t.Fatalf("user %d: cycle %d as of %s, want %d", u, got.Cycle, got.AsOf, newest)
			}
			if len(inParts) > 1 {
				split++ // entries in two partitions, each ranked with its own partition's points
			}
			if n := f.store.calls.Load(); mid == liveMatch && n != 5 {
				t.Fatalf("user %d: %d store calls, want 5 (match, users, contests, match partitions, entries)", u, n)
			}
		}
		if checked < 20 {
			t.Fatalf("only %d users checked", checked)
		}
		if mid == liveMatch && split < 5 {
			t.Fatalf("only %d users with entries in two partitions checked", split)
		}
	}
}

// TestUserEntriesOlderForm: a user record of a build before "ents" carries its entries'
// teams and lineups ("entries", records.User.Lined): the user answer ranks them from it,
// without reading their entry records (deleted here), in 4 store calls.
func TestUserEntriesOlderForm(t *testing.T) {
	f := newFixtureCopy()
	md := f.matches[liveMatch]
	srv, _ := newTestServer(t, f.store, nil)
	where := map[int64]reference.Row{}
	for _, rows := range md.ranked {
		for _, r := range rows {
			where[r.EntryID] = r
		}
	}
	checked := 0
	for u, ids := range md.users {
		if len(ids) < 2 {
			continue
		}
		byPart := map[int32][]records.Entry{}
		for _, id := range ids {
			e := md.entries[id]
			part := md.part[e.ContestID]
			byPart[part] = append(byPart[part], records.Entry{ID: id, Contest: e.ContestID, Team: e.TeamID,
				Lineup: records.Lineup{Players: e.Players, Captain: e.Captain, Vice: e.ViceCaptain}})
			f.store.del(records.Live, records.SetEntry, records.IDKey(id))
		}
		for part, es := range byPart {
			var old []byte // the older form: count, then each entry's id, contest, team and lineup
			old = binary.AppendUvarint(old, uint64(len(es)))
			for _, e := range es {
				old = binary.AppendVarint(old, e.ID)
				old = binary.AppendVarint(old, e.Contest)
				old = binary.AppendVarint(old, e.Team)
				old = records.AppendLineup(old, e.Players, e.Captain, e.Vice)
			}
			f.store.put(records.Live, records.Record{Set: records.SetUser, Key: records.UserKey(liveMatch, u, part),
				Bins: records.Bins{"match": int64(liveMatch), "user": u, "part": int64(part), "entries": old}})
		}
		var got tUser
		f.store.resetCounts()
		fetch(t, srv, fmt.Sprintf("/v1/users/%d/entries?match_id=%d", u, liveMatch), 200, &got)
		if len(got.Entries) != len(ids) {
			t.Fatalf("user %d: %+v, want %d entries", u, got, len(ids))
		}
		for _, e := range got.Entries {
			w := where[e.EntryID]
			if e.Rank == nil || *e.Rank != int64(w.Rank) || e.Points == nil || string(*e.Points) != wantPoints(w.Points) {
				t.Fatalf("user %d entry %+v, want %+v", u, e, w)
			}
		}
		if n := f.store.calls.Load(); n != 4 {
			t.Fatalf("user %d: %d store calls, want 4 (match, users, contests, match partitions)", u, n)
		}
		if checked++; checked == 10 {
			break
		}
	}
	if checked < 10 {
		t.Fatalf("only %d users checked", checked)
	}
}

// TestUserEntriesNoEntryRecord: an entry its user record lists whose entry record is
// absent (not written yet) is listed without rank; one whose entry record is in
// another contest (moved, between the two writes) makes the answer read again, then 503.
func TestUserEntriesNoEntryRecord(t *testing.T) {
	f := newFixtureCopy()
	md := f.matches[liveMatch]
	srv, _ := newTestServer(t, f.store, nil)
	var u int64
	for id, ids := range md.users {
		if len(ids) >= 2 {
			u = id
			break
		}
	}
	ids := md.users[u]
	f.store.del(records.Live, records.SetEntry, records.IDKey(ids[0]))
	var got tUser
	fetch(t, srv, fmt.Sprintf("/v1/users/%d/entries?match_id=%d", u, liveMatch), 200, &got)
	ranked := 0
	for _, e := range got.Entries {
		if e.EntryID == ids[0] && (e.Rank != nil || e.Points != nil) {
			t.Fatalf("entry %d without its entry record: %+v", ids[0], e)
		}
		if e.Rank != nil {
			ranked++
		}
	}
	if len(got.Entries) != len(ids) || ranked != len(ids)-1 {
		t.Fatalf("user %d: %+v", u, got)
	}
	e := md.entries[ids[1]]
	f.store.put(records.Live, records.Entry{ID: ids[1], Contest: e.ContestID + 1_000_000, Match: liveMatch, User: u, Team: e.TeamID,
		Part: md.part[e.ContestID], Lineup: records.Lineup{Players: e.Players, Captain: e.Captain, Vice: e.ViceCaptain}}.Record())
	var bad struct{ Error string }
	fetch(t, srv, fmt.Sprintf("/v1/users/%d/entries?match_id=%d", u, liveMatch), 503, &bad)
	if !strings.Contains(bad.Error, fmt.Sprintf("entry %d is in contest", ids[1])) {
		t.Fatalf("%q", bad.Error)
	}
}

func TestMatches(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	var list struct{ Matches []tMatch }
	fetch(t, srv, "/v1/matches", 200, &list)
	var ids []int64
	for _, m := range list.Matches {
		ids = append(ids, m.MatchID)
	}
	if !slices.Equal(ids, []int64{liveMatch, chunkMatch, doneMatch}) {
		t.Fatalf("matches %v", ids)
	}
	lm := list.Matches[0]
	if lm.State != "live" || lm.Cycle != 2 || lm.AsOf != "2026-11-03T14:00:10.250Z" || lm.Entries != 2964 || lm.Contests != 8 || lm.Players != nil {
		t.Fatalf("match 1 %+v", lm)
	}
	if dm := list.Matches[2]; dm.State != "completed" || dm.Entries != 271 {
		t.Fatalf("match 3 %+v", dm)
	}

	for _, mid := range []int64{liveMatch, doneMatch} {
		var m tMatch
		fetch(t, srv, fmt.Sprintf("/v1/matches/%d", mid), 200, &m)
		pts := f.matches[mid].points[2]
		if m.MatchID != mid || m.Cycle != 2 || len(m.Players) != len(pts) {
			t.Fatalf("match %d: %+v", mid, m)
		}
		for k, p := range m.Players {
			if k > 0 && p.PlayerID <= m.Players[k-1].PlayerID {
				t.Fatalf("players out of order: %+v", m.Players)
			}
			if want := strconv.FormatFloat(pts[p.PlayerID]+0, 'f', -1, 64); string(p.Points) != want { // +0: no "-0"
				t.Fatalf("player %d: points %s, want %s", p.PlayerID, p.Points, want)
			}
		}
	}
}

func TestContests(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	further := 0 // chunks read past chunk 0 in the merge of several partitions
	for _, tc := range []struct {
		match         int64
		query         string
		offset, limit int
	}{
		{liveMatch, "", 0, 50},
		{liveMatch, "?offset=3&limit=2", 3, 2},
		{liveMatch, "?offset=999", 999, 50},
		{liveMatch, "?offset=1000&limit=1", 1000, 1},
		{doneMatch, "", 0, 50},
		{chunkMatch, "", 0, 50},
		{chunkMatch, "?offset=990&limit=20", 990, 20},
		{chunkMatch, "?offset=1000&limit=1000", 1000, 1000},
		{chunkMatch, "?offset=1999&limit=1000", 1999, 1000},
		{chunkMatch, "?offset=2344&limit=7", 2344, 7},
		{chunkMatch, "?offset=2345", 2345, 50},
		{chunkMatch, "?offset=9223372036854775807&limit=1000", 1 << 62, 1000},
	} {
		t.Run(fmt.Sprintf("%d%s", tc.match, tc.query), func(t *testing.T) {
			md := f.matches[tc.match]
			var got tContests
			f.store.resetCounts()
			fetch(t, srv, fmt.Sprintf("/v1/matches/%d/contests%s", tc.match, tc.query), 200, &got)
			from := min(tc.offset, len(md.sizes))
			want := md.sizes[from:min(from+tc.limit, len(md.sizes))]
			if got.MatchID != tc.match || got.Total != int64(len(md.sizes)) || got.Limit != int64(tc.limit) || len(got.Contests) != len(want) {
				t.Fatalf("got %+v, want %d contests of %d", got, len(want), len(md.sizes))
			}
			for k, w := range want {
				if g := got.Contests[k]; g.ContestID != w.ID || g.Entries != w.Size {
					t.Fatalf("contest %d: %+v, want %+v", k, g, w)
				}
				if k > 0 && want[k].Size > want[k-1].Size {
					t.Fatal("fixture not largest first")
				}
			}
			// The match, one batch of chunks (chunk 0 of every partition, and the window's
			// when there is one partition), then one read per further chunk the merge
			// reaches: a partition's chunk n when the window holds more than n*1000 of its
			// contests.
			calls := int64(2)
			if md.ns == records.Complete {
				calls++ // the match is looked for in live first
			}
			if end := min(tc.offset+tc.limit, len(md.sizes)); len(md.parts) > 1 && tc.offset < end {
				taken, held := map[int32]int{}, map[int32]int{}
				for _, cs := range md.sizes {
					held[md.part[cs.ID]]++
				}
				for k, cs := range md.sizes[:end] {
					p := md.part[cs.ID]
					taken[p]++
					if taken[p]%records.ContestsPerChunk == 0 && taken[p] < held[p] && k+1 < end {
						calls++ // its chunk is spent before the window's end: the next one is read
						further++
					}
				}
			}
			if n := f.store.calls.Load(); n != calls {
				t.Fatalf("%d store calls, want %d: the match, one batch of chunks, then a partition's next chunk when the merge reaches it", n, calls)
			}
		})
	}
	if further == 0 {
		t.Fatal("no window crossed a partition's chunk boundary")
	}
}

// TestCompleteFallback: the completed match is only in the complete namespace; contests
// of the live match moved there are read there, pages included.
func TestCompleteFallback(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	md := f.matches[doneMatch]
	big := md.contestOfSize(230)
	var p tPage
	fetch(t, srv, fmt.Sprintf("/v1/contests/%d/leaderboard?offset=95&limit=130", big), 200, &p)
	checkRows(t, "complete page", p.Entries, md.ranked[big][95:225])
	w := md.ranked[big][150]
	fetch(t, srv, fmt.Sprintf("/v1/contests/%d/entries/%d/around?before=60&after=60", big, w.EntryID), 200, &p)
	checkRows(t, "complete around", p.Entries, md.ranked[big][90:211])

	// A fresh server on a store where live lacks one contest of the live match (and its
	// pages) while complete holds it.
	st := newFakeStore()
	lm := f.matches[liveMatch]
	cid := lm.contestOfSize(250)
	f.store.mu.RLock()
	for k, v := range f.store.data {
		st.data[k] = v
	}
	f.store.mu.RUnlock()
	for k := range 3 {
		st.del(records.Live, records.SetPage, records.PageKey(cid, k))
	}
	st.del(records.Live, records.SetContest, records.IDKey(cid))
	st.put(records.Complete, contestRecords(liveMatch, cid, 2, lm.ranked[cid])...)
	srv2, _ := newTestServer(t, st, nil)
	fetch(t, srv2, fmt.Sprintf("/v1/contests/%d/leaderboard?offset=90&limit=150", cid), 200, &p)
	checkRows(t, "moved contest", p.Entries, lm.ranked[cid][90:240])
	w = lm.ranked[cid][120]
	var e tEntry
	fetch(t, srv2, fmt.Sprintf("/v1/contests/%d/entries/%d", cid, w.EntryID), 200, &e)
	if e.Rank != int64(w.Rank) || string(e.Points) != wantPoints(w.Points) {
		t.Fatalf("moved contest entry %+v, want %+v", e, w)
	}
}

// TestMixedCycles: a page newer than its contest makes the answer read the contest and
// pages again; if that persists the answer is 503, never a mix of cycles.
func TestMixedCycles(t *testing.T) {
	f := newFixtureCopy()
	srv, _ := newTestServer(t, f.store, nil)
	md := f.matches[liveMatch]
	big := md.bigContest()
	ref := md.ranked[big]
	newer := func(times int) func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
		return func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
			if set == records.SetPage && ok && times != 0 {
				times--
				b["cycle"] = int64(3) // the next cycle's page, written before its contest
			}
			return b, ok, nil
		}
	}
	for _, path := range []string{
		fmt.Sprintf("/v1/contests/%d/leaderboard?offset=150&limit=100", big),
		fmt.Sprintf("/v1/contests/%d/entries/%d/around?before=100&after=100", big, ref[1200].EntryID),
	} {
		var contestReads atomic.Int64 // the server's goroutines count, the test reads
		hook := newer(1)
		f.store.setHook(func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
			if set == records.SetContest {
				contestReads.Add(1)
			}
			return hook(ns, set, key, b, ok)
		})
		var p tPage
		fetch(t, srv, path, 200, &p)
		if p.Cycle != 2 || contestReads.Load() != 2 {
			t.Fatalf("%s: cycle %d after %d contest reads, want 2 and 2", path, p.Cycle, contestReads.Load())
		}
		f.store.setHook(newer(-1))
		body := fetch(t, srv, path, 503, nil)
		if !strings.Contains(string(body), "cycle 3") || !strings.Contains(string(body), `"error"`) {
			t.Fatalf("%s: %s", path, body)
		}
	}

	// An entry whose points are missing from the histogram (the contest was rewritten
	// between the reads): re-read, then 503.
	w := ref[10]
	missing := func(times int) func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
		return func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
			if set == records.SetContest && ok && times != 0 {
				times--
				b["hist"] = records.EncodeHist([]records.Bucket{{Points: 1 << 40, Count: int64(len(ref))}})
			}
			return b, ok, nil
		}
	}
	path := fmt.Sprintf("/v1/contests/%d/entries/%d", big, w.EntryID)
	f.store.setHook(missing(2))
	var e tEntry
	fetch(t, srv, path, 200, &e)
	if e.Rank != int64(w.Rank) {
		t.Fatalf("rank %d, want %d", e.Rank, w.Rank)
	}
	f.store.setHook(missing(-1))
	if body := fetch(t, srv, path, 503, nil); !strings.Contains(string(body), "not among") {
		t.Fatalf("%s", body)
	}

	// A missing page (expired or not yet written) is mid-write too.
	f.store.setHook(func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
		if set == records.SetPage {
			return nil, false, nil
		}
		return b, ok, nil
	})
	fetch(t, srv, fmt.Sprintf("/v1/contests/%d/leaderboard?offset=100", big), 503, nil)
	f.store.setHook(nil)
	fetch(t, srv, fmt.Sprintf("/v1/contests/%d/leaderboard?offset=100", big), 200, nil)
}

// newFixtureCopy is a fixture with its own store, for tests that set hooks.
func newFixtureCopy() *fixture {
	f := testFixture()
	st := newFakeStore()
	f.store.mu.RLock()
	for k, v := range f.store.data {
		st.data[k] = v
	}
	f.store.mu.RUnlock()
	return &fixture{store: st, matches: f.matches}
}

func TestBadInput(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	md := f.matches[liveMatch]
	big := md.bigContest()
	e := md.ranked[big][0].EntryID
	other := md.ranked[md.contestOfSize(1)][0].EntryID
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/v1/matches/abc", 400, "match_id"},
		{"/v1/matches/1.5", 400, "not an integer"},
		{"/v1/matches/+1", 400, "not an integer"},
		{"/v1/matches/99999999999999999999", 400, "not an integer"},
		{"/v1/matches/42", 404, "match 42 not found"},
		{"/v1/matches/x/contests", 400, "match_id"},
		{"/v1/matches/1/contests?offset=-1", 400, "offset"},
		{"/v1/matches/1/contests?limit=0", 400, "limit"},
		{"/v1/matches/1/contests?limit=1001", 400, "limit"},
		{"/v1/matches/42/contests", 404, "match 42"},
		{"/v1/contests/abc/leaderboard", 400, "contest_id"},
		{"/v1/contests/1e3/leaderboard", 400, "contest_id"},
		{fmt.Sprintf("/v1/contests/%d/leaderboard?offset=-1", big), 400, "offset -1"},
		{fmt.Sprintf("/v1/contests/%d/leaderboard?offset=x", big), 400, "offset"},
		{fmt.Sprintf("/v1/contests/%d/leaderboard?offset=", big), 400, "offset"},
		{fmt.Sprintf("/v1/contests/%d/leaderboard?limit=0", big), 400, "limit 0"},
		{fmt.Sprintf("/v1/contests/%d/leaderboard?limit=1001", big), 400, "limit 1001"},
		{fmt.Sprintf("/v1/contests/%d/leaderboard?limit=1&limit=2", big), 400, "limit"},
		{fmt.Sprintf("/v1/contests/%d/leaderboard?limit=%%zz", big), 400, "query"},
		{fmt.Sprintf("/v1/contests/%d/leaderboard?offset=99999999999999999999", big), 400, "offset"},
		{"/v1/contests/7/leaderboard", 404, "contest 7 not found"},
		{"/v1/contests/x/entries/1", 400, "contest_id"},
		{fmt.Sprintf("/v1/contests/%d/entries/y", big), 400, "entry_id"},
		{fmt.Sprintf("/v1/contests/%d/entries/%d", big, int64(1)<<50), 404, "not found"},
		{fmt.Sprintf("/v1/contests/%d/entries/%d", big, other), 404, "is not in contest"},
		{fmt.Sprintf("/v1/contests/7/entries/%d", e), 404, "is not in contest 7"},
		{fmt.Sprintf("/v1/contests/%d/entries/%d/around?before=-1", big, e), 400, "before"},
		{fmt.Sprintf("/v1/contests/%d/entries/%d/around?after=101", big, e), 400, "after"},
		{fmt.Sprintf("/v1/contests/%d/entries/%d/around?after=1.0", big, e), 400, "after"},
		{fmt.Sprintf("/v1/contests/%d/entries/%d/around", big, other), 404, "is not in contest"},
		{fmt.Sprintf("/v1/contests/%d/entries/0/around", big), 404, "entry 0 not found"},
		{"/v1/users/5/entries", 400, "match_id is required"},
		{"/v1/users/5/entries?match_id=", 400, "match_id"},
		{"/v1/users/5/entries?match_id=one", 400, "match_id"},
		{"/v1/users/x/entries?match_id=1", 400, "user_id"},
		{"/v1/users/5/entries?match_id=1&match_id=2", 400, "match_id"},
		{"/v1/users/123456/entries?match_id=1", 404, "user 123456 has no entries in match 1"},
		{"/v1/users/5/entries?match_id=42", 404, "no entries in match 42"},
		{"/v1/nothing", 404, "no such endpoint"},
		{"/v1/contests/5", 404, "no such endpoint"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var got struct{ Error string }
			fetch(t, srv, tc.path, tc.status, &got)
			if !strings.Contains(got.Error, tc.want) {
				t.Fatalf("error %q does not say %q", got.Error, tc.want)
			}
		})
	}
	resp, err := srv.Client().Post(srv.URL+"/v1/matches", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: status %d", resp.StatusCode)
	}
}

type failingStore struct{}

func (failingStore) Get(context.Context, string, string, string) (records.Bins, bool, error) {
	return nil, false, errors.New("connection refused")
}

func (failingStore) GetMany(context.Context, string, string, []string) ([]records.Bins, error) {
	return nil, errors.New("connection refused")
}

func TestStoreErrors(t *testing.T) {
	srv, _ := newTestServer(t, failingStore{}, nil)
	for _, path := range []string{
		"/v1/matches", "/v1/matches/1", "/v1/matches/1/contests", "/v1/contests/1/leaderboard",
		"/v1/contests/1/entries/2", "/v1/contests/1/entries/2/around", "/v1/users/1/entries?match_id=1",
	} {
		var got struct{ Error string }
		fetch(t, srv, path, 503, &got)
		if !strings.Contains(got.Error, "store") {
			t.Fatalf("%s: %q", path, got.Error)
		}
	}
	// A store failing only on pages, after the contest was read.
	f := newFixtureCopy()
	f.store.setHook(func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
		if set == records.SetPage {
			return nil, false, errors.New("timeout")
		}
		return b, ok, nil
	})
	srv2, _ := newTestServer(t, f.store, nil)
	fetch(t, srv2, fmt.Sprintf("/v1/contests/%d/leaderboard?offset=500", f.matches[liveMatch].bigContest()), 503, nil)
}

// TestContract checks each answer's keys against DESIGN.md, exactly.
func TestContract(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	md := f.matches[liveMatch]
	big := md.bigContest()
	w := md.ranked[big][0]
	for _, tc := range []struct{ path, keys, list, item string }{
		{"/v1/matches", "matches", "matches", "as_of contests cycle entries match_id state"},
		{"/v1/matches/1", "as_of contests cycle entries match_id players state", "players", "player_id points"},
		{"/v1/matches/1/contests", "as_of contests cycle limit match_id offset total", "contests", "contest_id entries"},
		{fmt.Sprintf("/v1/contests/%d/leaderboard", big), "as_of contest_id cycle entries limit match_id offset total", "entries", "entry_id points rank team_id user_id"},
		{fmt.Sprintf("/v1/contests/%d/entries/%d", big, w.EntryID), "as_of contest_id cycle entry_id match_id points rank team_id total user_id", "", ""},
		{fmt.Sprintf("/v1/contests/%d/entries/%d/around", big, w.EntryID), "as_of contest_id cycle entries entry_id limit match_id offset total", "entries", "entry_id points rank team_id user_id"},
		{fmt.Sprintf("/v1/users/%d/entries?match_id=1", w.UserID), "as_of cycle entries match_id user_id", "entries", "contest_id entry_id points rank total"},
	} {
		var m map[string]json.RawMessage
		fetch(t, srv, tc.path, 200, &m)
		if got := strings.Join(slices.Sorted(maps.Keys(m)), " "); got != tc.keys {
			t.Fatalf("%s: keys %q, want %q", tc.path, got, tc.keys)
		}
		if tc.list == "" {
			continue
		}
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(m[tc.list], &items); err != nil || len(items) == 0 {
			t.Fatalf("%s: %s: %v", tc.path, tc.list, err)
		}
		for _, it := range items {
			if got := strings.Join(slices.Sorted(maps.Keys(it)), " "); got != tc.item {
				t.Fatalf("%s: item keys %q, want %q", tc.path, got, tc.item)
			}
		}
	}
}
