package api

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/fixedpoint"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/records"
	"github.com/prometheus/client_golang/prometheus"
)

// The test data: a live match ranked by the reference implementation, its contests in
// two entries partitions whose points logs differ; a live match with many contests in
// three partitions (chunks only); and a completed match held only in the complete
// namespace, in one partition.
const (
	liveMatch  = int64(1)
	chunkMatch = int64(2) // 2,345 contests, only its match, match partition and contests records
	doneMatch  = int64(3) // completed: records in the complete namespace only
	chunkCount = 2345
	pageSize   = 100
)

// The partitions holding each match, ascending (the first one's log gives the match
// answer's players).
var (
	liveParts  = []int32{2, 9}
	chunkParts = []int32{0, 1, 4}
	doneParts  = []int32{3}
)

var (
	asOf1 = time.Date(2026, 11, 3, 14, 0, 0, 0, time.UTC)
	asOf2 = asOf1.Add(10*time.Second + 250*time.Millisecond)
)

// matchData is one match as the tests expect to see it.
type matchData struct {
	id       int64
	ns       string
	state    string
	contests []int64                     // in the order the dataset made them
	ranked   map[int64][]reference.Row   // contest -> display order (points in 1/400)
	cycle    map[int64]int64             // contest -> cycle of its record
	entries  map[int64]engine.Entry      // by entry id
	users    map[int64][]int64           // user -> entry ids
	points   map[int64]map[int32]float64 // cycle -> player points of the first partition (the match answer's)
	sizes    []records.ContestSize       // size desc, then id
	parts    []int32                     // ascending
	part     map[int64]int32             // contest -> its entries partition
	// partition -> cycle -> player points: each partition's log has its own (a test of
	// which log an entry's points come from; a real cluster ranks every partition
	// against the same points snapshot).
	partPoints map[int32]map[int64]map[int32]float64
}

// pointsOf returns the player points of contest cid's partition at cycle c.
func (md *matchData) pointsOf(cid, c int64) map[int32]float64 {
	return md.partPoints[md.part[cid]][c]
}

type fixture struct {
	store   *fakeStore
	matches map[int64]*matchData
}

var (
	fixtureOnce sync.Once
	theFixture  *fixture
)

// testFixture builds the data once per test binary; tests must not change the store
// without putting back what they changed.
func testFixture() *fixture {
	fixtureOnce.Do(func() {
		st := newFakeStore()
		f := &fixture{store: st, matches: map[int64]*matchData{}}
		// Contest 0 keeps an older cycle (its standings did not change at cycle 2). The
		// 2,500-entry contest has ~30 teams, so its tie groups run across many pages.
		f.matches[liveMatch] = buildMatch(st, records.Live, records.StateLive, liveMatch, 11, []int{3, 1, 2500, 250, 101, 100, 7, 2}, 0, 0, liveParts)
		f.matches[doneMatch] = buildMatch(st, records.Complete, records.StateCompleted, doneMatch, 12, []int{40, 1, 230}, 1_000_000, 10_000_000, doneParts)
		f.matches[chunkMatch] = buildChunkMatch(st)
		st.put(records.Live, records.Matches{IDs: []int64{chunkMatch, liveMatch}}.Record())
		st.put(records.Complete, records.Matches{IDs: []int64{doneMatch, liveMatch}}.Record()) // live also listed here: dedup
		theFixture = f
	})
	return theFixture
}

func logOf(pts map[int64]map[int32]float64) records.PointsLog {
	var l records.PointsLog
	for _, c := range slices.Sorted(maps.Keys(pts)) {
		centi := map[int32]int64{}
		for p, v := range pts[c] {
			cp, err := fixedpoint.Centipoints(v)
			if err != nil {
				panic(err)
			}
			centi[p] = cp
		}
		l = l.Append(c, cycleTime(c).UnixMilli(), centi)
	}
	return l
}

func cycleTime(c int64) time.Time {
	if c == 1 {
		return asOf1
	}
	return asOf2
}

// buildMatch ranks a random tie-heavy dataset with the reference and writes its records
// into ns, as the partitions' writers and the committer write them. Contest k (dataset
// order) is in partition parts[k%len(parts)]; partition parts[j]'s players have j/2 point
// more than the first partition's. Contest 0 is ranked at cycle 1 with the points of
// cycle 1; the others at cycle 2. Pages that are odd-numbered keep cycle 1 when their
// contest is at cycle 2 and the rows equal (tests only rely on them being <= the
// contest's cycle).
func buildMatch(st *fakeStore, ns, state string, matchID int64, seed uint64, sizes []int, contestShift, entryShift int64, parts []int32) *matchData {
	entries, pts2 := reference.Random(seed, reference.Shape{Contests: sizes, Players: 22, LineupSize: 11,
		Teams: 30, PointValues: 4, Negative: true, Missing: 0.1, Shuffle: true})
	for k := range entries {
		e := &entries[k]
		if e.ContestID < 0 {
			e.ContestID -= contestShift
		} else {
			e.ContestID += contestShift
		}
		e.EntryID += entryShift
	}
	pts1 := map[int32]float64{}
	for p, v := range pts2 {
		pts1[p] = v - 0.25 // every player changes between the cycles
	}
	md := &matchData{id: matchID, ns: ns, state: state, ranked: map[int64][]reference.Row{},
		cycle: map[int64]int64{}, entries: map[int64]engine.Entry{}, users: map[int64][]int64{},
		points: map[int64]map[int32]float64{1: pts1, 2: pts2}, parts: parts, part: map[int64]int32{},
		partPoints: map[int32]map[int64]map[int32]float64{}}
	for j, p := range parts {
		md.partPoints[p] = map[int64]map[int32]float64{}
		for c, pts := range md.points {
			shifted := map[int32]float64{}
			for pl, v := range pts {
				shifted[pl] = v + 0.5*float64(j)
			}
			md.partPoints[p][c] = shifted
		}
	}
	byContest := map[int64][]engine.Entry{}
	for _, e := range entries {
		if _, ok := byContest[e.ContestID]; !ok {
			md.contests = append(md.contests, e.ContestID)
		}
		byContest[e.ContestID] = append(byContest[e.ContestID], e)
		md.entries[e.EntryID] = e
	}
	slices.SortFunc(md.contests, func(a, b int64) int { return cmp.Compare(abs(a), abs(b)) }) // dataset order
	for k, cid := range md.contests {
		cycle := int64(2)
		if k == 0 {
			cycle = 1
		}
		md.part[cid] = parts[k%len(parts)]
		ranked := reference.Rank(byContest[cid], md.pointsOf(cid, cycle))
		md.ranked[cid], md.cycle[cid] = ranked, cycle
		md.sizes = append(md.sizes, records.ContestSize{ID: cid, Size: int64(len(ranked))})
		st.put(ns, contestRecords(matchID, cid, cycle, ranked)...)
	}
	var recs []records.Record
	type userPart struct {
		user int64
		part int32
	}
	users := map[userPart][]records.Entry{}
	for _, e := range entries {
		re := records.Entry{ID: e.EntryID, Contest: e.ContestID, Match: matchID, User: e.UserID, Team: e.TeamID,
			Part: md.part[e.ContestID], Lineup: records.Lineup{Players: e.Players, Captain: e.Captain, Vice: e.ViceCaptain}}
		recs = append(recs, re.Record())
		users[userPart{e.UserID, re.Part}] = append(users[userPart{e.UserID, re.Part}], re)
	}
	for _, p := range parts { // the user answer lists partitions in order, each record's entries in order
		for _, e := range entries {
			if md.part[e.ContestID] == p {
				md.users[e.UserID] = append(md.users[e.UserID], e.EntryID)
			}
		}
	}
	for up, es := range users {
		recs = append(recs, records.User{Match: matchID, User: up.user, Part: up.part, Entries: es}.Record())
	}
	slices.SortFunc(md.sizes, func(a, b records.ContestSize) int {
		return cmp.Or(cmp.Compare(b.Size, a.Size), cmp.Compare(a.ID, b.ID))
	})
	for _, p := range parts {
		var sizes []records.ContestSize
		var n int64
		for _, cs := range md.sizes {
			if md.part[cs.ID] == p {
				sizes = append(sizes, cs)
				n += cs.Size
			}
		}
		recs = append(recs, chunkRecords(matchID, p, sizes)...)
		recs = append(recs, records.MatchPart{Match: matchID, Part: p, State: state, Cycle: 2, AsOf: asOf2.UnixMilli(),
			Entries: n, Contests: int64(len(sizes)), Chunks: chunksOf(len(sizes)), Log: logOf(md.partPoints[p])}.Record())
	}
	recs = append(recs, records.Match{ID: matchID, State: state, Cycle: 2, AsOf: asOf2.UnixMilli(),
		Entries: int64(len(entries)), Contests: int64(len(md.contests)), Parts: parts}.Record())
	st.put(ns, recs...)
	return md
}

func abs(v int64) int64 { return max(v, -v) }

// contestRecords is what a worker writes for one contest: the contest record with page 0
// and the page records.
func contestRecords(matchID, cid, cycle int64, ranked []reference.Row) []records.Record {
	rows := make([]records.Row, len(ranked))
	var hist []records.Bucket
	for k, r := range ranked {
		if r.Points%2 != 0 {
			panic("reference points are not a whole number of 1/200 point")
		}
		rows[k] = records.Row{Rank: int64(r.Rank), EntryID: r.EntryID, UserID: r.UserID, TeamID: r.TeamID, Points: r.Points / 2}
		if n := len(hist); n > 0 && hist[n-1].Points == rows[k].Points {
			hist[n-1].Count++
		} else {
			hist = append(hist, records.Bucket{Points: rows[k].Points, Count: 1})
		}
	}
	c := records.Contest{ID: cid, Match: matchID, Cycle: cycle, AsOf: cycleTime(cycle).UnixMilli(),
		Total: int64(len(rows)), PageSize: pageSize, Hist: hist, First: rows[:min(pageSize, len(rows))]}
	recs := []records.Record{c.Record()}
	for p := 1; p*pageSize < len(rows); p++ {
		pc := cycle
		if p%2 == 1 {
			pc = 1 // unchanged since cycle 1: still valid for its contest's cycle
		}
		recs = append(recs, records.Page{Contest: cid, No: p, Cycle: pc, Rows: rows[p*pageSize : min((p+1)*pageSize, len(rows))]}.Record())
	}
	return recs
}

// chunkRecords is partition part's contests list of a match (sizes: size desc, then id).
func chunkRecords(matchID int64, part int32, sizes []records.ContestSize) []records.Record {
	var recs []records.Record
	for n := 0; n*records.ContestsPerChunk < len(sizes); n++ {
		recs = append(recs, records.ContestChunk{Match: matchID, Part: part, Chunk: n, Total: int64(len(sizes)),
			Contests: sizes[n*records.ContestsPerChunk : min((n+1)*records.ContestsPerChunk, len(sizes))]}.Record())
	}
	return recs
}

func chunksOf(contests int) int64 {
	return int64((contests + records.ContestsPerChunk - 1) / records.ContestsPerChunk)
}

// buildChunkMatch writes a live match of chunkCount contests (no standings yet) in three
// partitions, unevenly: the first holds more than a chunk (1000 contests).
func buildChunkMatch(st *fakeStore) *matchData {
	md := &matchData{id: chunkMatch, ns: records.Live, state: records.StateScheduled, parts: chunkParts, part: map[int64]int32{}}
	for k := range chunkCount {
		cs := records.ContestSize{ID: int64(500_000 + k), Size: int64(2 + (k*7919)%1000)}
		md.sizes = append(md.sizes, cs)
		switch h := (k * 104729) % 100; {
		case h < 60:
			md.part[cs.ID] = chunkParts[0]
		case h < 85:
			md.part[cs.ID] = chunkParts[1]
		default:
			md.part[cs.ID] = chunkParts[2]
		}
	}
	slices.SortFunc(md.sizes, func(a, b records.ContestSize) int {
		return cmp.Or(cmp.Compare(b.Size, a.Size), cmp.Compare(a.ID, b.ID))
	})
	for _, p := range chunkParts {
		var sizes []records.ContestSize
		for _, cs := range md.sizes {
			if md.part[cs.ID] == p {
				sizes = append(sizes, cs)
			}
		}
		if p == chunkParts[0] && len(sizes) <= records.ContestsPerChunk {
			panic(fmt.Sprintf("fixture: partition %d holds %d contests, not more than a chunk", p, len(sizes)))
		}
		st.put(records.Live, chunkRecords(chunkMatch, p, sizes)...)
		st.put(records.Live, records.MatchPart{Match: chunkMatch, Part: p, State: records.StateScheduled,
			Contests: int64(len(sizes)), Chunks: chunksOf(len(sizes))}.Record())
	}
	st.put(records.Live, records.Match{ID: chunkMatch, State: records.StateScheduled, Contests: chunkCount, Parts: chunkParts}.Record())
	return md
}

// bigContest is the contest of match 1 with the most entries.
func (md *matchData) bigContest() int64 {
	best := md.contests[0]
	for _, c := range md.contests {
		if len(md.ranked[c]) > len(md.ranked[best]) {
			best = c
		}
	}
	return best
}

// contestOfSize returns the contest with n entries.
func (md *matchData) contestOfSize(n int) int64 {
	for _, c := range md.contests {
		if len(md.ranked[c]) == n {
			return c
		}
	}
	panic(fmt.Sprintf("no contest of %d entries", n))
}

// wantPoints renders reference points (1/400 point) through float formatting: an
// independent path to the decimal the API must print.
func wantPoints(units400 int64) string {
	return strconv.FormatFloat(float64(units400)/400, 'f', -1, 64)
}

func wantAsOf(cycle int64) string { return cycleTime(cycle).Format("2006-01-02T15:04:05.000Z") }

// testServer is a Server serving st over real HTTP on a loopback port, as Serve serves
// it in production.
type testServer struct {
	URL    string
	client *http.Client
}

// Client returns a client for the server (keep-alive, closed with the test).
func (ts *testServer) Client() *http.Client { return ts.client }

// newTestServer serves st until the test ends.
func newTestServer(t testing.TB, st Store, ready func() bool) (*testServer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s := New(DefaultConfig(), st, nil, reg, ready)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	ts := &testServer{URL: "http://" + ln.Addr().String(), client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	t.Cleanup(func() {
		ts.client.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts, reg
}
