package engine_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fantasy/leaderboard/engine"
)

// TestAddTrustedSameAsAdd: valid entries added through AddKnownTeam/AddTrusted (the
// worker's first fold) build the partition Add builds, column by column and team by
// team (lineups in the same player order: players get dictionary slots in the same
// order), for teams repeated in a row and scattered, and the ranks are the same.
func TestAddTrustedSameAsAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 6 {
		size := 2 + rng.IntN(10)
		nPlayers := size + rng.IntN(30)
		type lineup struct {
			players    []int32
			capt, vice int32
		}
		teams := make([]lineup, 1+rng.IntN(200))
		for k := range teams {
			perm := rng.Perm(nPlayers)[:size]
			var l lineup
			for _, p := range perm {
				l.players = append(l.players, int32(1000+7*p))
			}
			l.capt, l.vice = l.players[rng.IntN(size)], l.players[0]
			if l.capt == l.vice {
				l.capt = l.players[1]
			}
			teams[k] = l
		}
		var entries []engine.Entry
		team := 0
		for i := range 2000 {
			if rng.IntN(3) > 0 { // a run of a team, or a jump
				team = rng.IntN(len(teams))
			}
			l := teams[team]
			teamID := int64(team) * 13
			if round%2 == 1 {
				teamID = int64(team)*0x9E3779B97F4A7 + 1<<50 // past the dense index
			}
			entries = append(entries, engine.Entry{ContestID: int64(rng.IntN(40)), EntryID: int64(i)*3 + 1, UserID: int64(rng.IntN(300)),
				TeamID: teamID, Players: l.players, Captain: l.capt, ViceCaptain: l.vice})
		}
		checked, trusted := engine.NewBuilder(0, 0), engine.NewBuilder(0, len(entries))
		known := 0
		for _, e := range entries {
			if err := checked.Add(e); err != nil {
				t.Fatal(err)
			}
			if trusted.AddKnownTeam(e.ContestID, e.EntryID, e.UserID, e.TeamID) {
				known++
				continue
			}
			if err := trusted.AddTrusted(e.ContestID, e.EntryID, e.UserID, e.TeamID, e.Players, e.Captain, e.ViceCaptain); err != nil {
				t.Fatal(err)
			}
		}
		if known == 0 || known == len(entries) {
			t.Fatalf("round %d: %d of %d entries joined a known team: want some of each", round, known, len(entries))
		}
		var contests, ids, users, teamIDs []int64
		asked := 0
		for _, e := range entries {
			contests, ids, users, teamIDs = append(contests, e.ContestID), append(ids, e.EntryID), append(users, e.UserID), append(teamIDs, e.TeamID)
		}
		cols, err := engine.NewTrustedBuilder(0, contests, ids, users, teamIDs, func(i int) ([]int32, int32, int32) {
			asked++
			return entries[i].Players, entries[i].Captain, entries[i].ViceCaptain
		})
		if err != nil {
			t.Fatal(err)
		}
		if asked != len(entries)-known {
			t.Fatalf("round %d: %d lineups asked for, want one per team (%d)", round, asked, len(entries)-known)
		}
		cfg := engine.DefaultConfig()
		a, err := checked.Build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := trusted.Build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cols.Build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		sameBuilt(t, a, b)
		sameBuilt(t, a, c)
		pts := map[int32]int64{}
		for k := range nPlayers {
			pts[int32(1000+7*k)] = int64(rng.IntN(20000)) - 2000
		}
		a.Run(engine.SnapshotFromCenti(pts))
		b.Run(engine.SnapshotFromCenti(pts))
		for c := range a.NumContests() {
			if !slices.Equal(a.Ranks(c, nil), b.Ranks(c, nil)) || !slices.Equal(a.PointsOrdered(c), b.PointsOrdered(c)) {
				t.Fatalf("round %d: contest %d ranks differently", round, c)
			}
		}
	}
}

func sameBuilt(t *testing.T, a, b *engine.Partition) {
	t.Helper()
	if a.NumEntries() != b.NumEntries() || a.NumContests() != b.NumContests() || a.NumTeams() != b.NumTeams() || !slices.Equal(a.Players(), b.Players()) {
		t.Fatalf("%d entries, %d contests, %d teams, players %v; want %d, %d, %d, %v",
			b.NumEntries(), b.NumContests(), b.NumTeams(), b.Players(), a.NumEntries(), a.NumContests(), a.NumTeams(), a.Players())
	}
	for c := range a.NumContests() {
		if a.Contest(c) != b.Contest(c) {
			t.Fatalf("contest %d is %+v, want %+v", c, b.Contest(c), a.Contest(c))
		}
	}
	for k := range a.NumTeams() {
		if a.TeamIDAt(k) != b.TeamIDAt(k) {
			t.Fatalf("team %d is %d, want %d", k, b.TeamIDAt(k), a.TeamIDAt(k))
		}
	}
	for i := range a.NumEntries() {
		la, ca, va := a.Lineup(i, nil)
		lb, cb, vb := b.Lineup(i, nil)
		if a.EntryID(i) != b.EntryID(i) || a.UserID(i) != b.UserID(i) || a.TeamID(i) != b.TeamID(i) || !slices.Equal(la, lb) || ca != cb || va != vb {
			t.Fatalf("entry %d differs", i)
		}
	}
}

// TestAddTrustedChecksNewTeams: a new team's lineup is checked as Add checks it (the
// same message, naming the entry); a known team's later entries are not compared with
// it (what the caller vouches for); Add after AddTrusted still compares in full.
func TestAddTrustedChecksNewTeams(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    engine.Entry
		want string
	}{
		{"wrong lineup size", entry(10, 2, 6, []int32{101, 102}, 101, 102), "entry 2 (contest 10): lineup has 2 players, want 3"},
		{"duplicate player", entry(10, 3, 6, []int32{101, 102, 101}, 101, 102), "entry 3 (contest 10): player 101 appears twice in the lineup"},
		{"captain outside lineup", entry(10, 4, 6, []int32{101, 102, 103}, 109, 102), "entry 4 (contest 10): captain 109 is not in the lineup"},
		{"vice-captain outside lineup", entry(10, 5, 6, []int32{101, 102, 103}, 101, 777), "entry 5 (contest 10): vice-captain 777 is not in the lineup"},
		{"captain equals vice-captain", entry(10, 6, 6, []int32{101, 102, 103}, 102, 102), "entry 6 (contest 10): captain and vice-captain are both player 102"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := engine.NewBuilder(0, 0)
			if err := b.AddTrusted(10, 1, 1, 5, []int32{101, 102, 103}, 101, 102); err != nil {
				t.Fatal(err)
			}
			e := tc.e
			err := b.AddTrusted(e.ContestID, e.EntryID, e.UserID, e.TeamID, e.Players, e.Captain, e.ViceCaptain)
			var ee *engine.EntryError
			if err == nil || !errors.As(err, &ee) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one starting %q", err, tc.want)
			}
			if b.Len() != 1 || b.AddKnownTeam(10, 9, 1, 6) {
				t.Fatalf("a refused entry was added: %d entries, team 6 known", b.Len())
			}
			// The same through NewTrustedBuilder.
			lineups := []engine.Entry{entry(10, 1, 5, []int32{101, 102, 103}, 101, 102), e}
			_, err = engine.NewTrustedBuilder(0, []int64{10, e.ContestID}, []int64{1, e.EntryID}, []int64{1, 1}, []int64{5, e.TeamID},
				func(i int) ([]int32, int32, int32) {
					return lineups[i].Players, lineups[i].Captain, lineups[i].ViceCaptain
				})
			if err == nil || !errors.As(err, &ee) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("NewTrustedBuilder: got error %v, want one starting %q", err, tc.want)
			}
		})
	}
	t.Run("too many players", func(t *testing.T) {
		b := engine.NewBuilder(2, 0)
		var err error
		for p := int32(0); err == nil && p < engine.MaxPlayersPerMatch; p += 2 {
			err = b.AddTrusted(1, int64(p)+1, 1, int64(p)+1, []int32{p + 1, p + 2}, p+1, p+2)
		}
		if err != nil {
			t.Fatal(err)
		}
		err = b.AddTrusted(1, 9999, 1, 9999, []int32{9999, 1}, 9999, 1)
		if err == nil || !strings.Contains(err.Error(), "at most 256") {
			t.Fatalf("got %v, want the 256-player cap", err)
		}
	})
	t.Run("known team not compared", func(t *testing.T) {
		b := engine.NewBuilder(0, 0)
		if err := b.AddTrusted(10, 1, 1, 5, []int32{101, 102, 103}, 101, 102); err != nil {
			t.Fatal(err)
		}
		if err := b.AddTrusted(10, 2, 1, 5, []int32{101, 102, 104}, 104, 102); err != nil {
			t.Fatalf("a known team's entry was checked: %v", err)
		}
		p, err := b.Build(engine.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if l, c, v := p.Lineup(i, nil); !slices.Equal(l, []int32{101, 102, 103}) || c != 101 || v != 102 {
				t.Fatalf("entry %d: lineup %v %d %d, want the team's first", i, l, c, v)
			}
		}
	})
	t.Run("columns of different lengths", func(t *testing.T) {
		_, err := engine.NewTrustedBuilder(0, []int64{1, 2}, []int64{1, 2}, []int64{1}, []int64{1, 2}, nil)
		if err == nil || !strings.Contains(err.Error(), "1 users") {
			t.Fatalf("got %v, want the lengths named", err)
		}
	})
	t.Run("a miss gone stale", func(t *testing.T) {
		// AddKnownTeam finds team 5 new; Add then creates it: AddTrusted must find it
		// (one team, not two).
		b := engine.NewBuilder(0, 0)
		if b.AddKnownTeam(10, 1, 1, 5) {
			t.Fatal("an empty builder knows team 5")
		}
		if err := b.Add(entry(10, 1, 5, []int32{101, 102, 103}, 101, 102)); err != nil {
			t.Fatal(err)
		}
		if err := b.AddTrusted(10, 2, 1, 5, []int32{101, 102, 103}, 101, 102); err != nil {
			t.Fatal(err)
		}
		p, err := b.Build(engine.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if p.NumTeams() != 1 || p.NumEntries() != 2 {
			t.Fatalf("%d teams, %d entries; want 1, 2", p.NumTeams(), p.NumEntries())
		}
	})
	t.Run("Add after AddTrusted", func(t *testing.T) {
		b := engine.NewBuilder(0, 0)
		if err := b.AddTrusted(10, 1, 1, 5, []int32{101, 102, 103}, 101, 102); err != nil {
			t.Fatal(err)
		}
		if err := b.Add(entry(10, 2, 5, []int32{103, 102, 101}, 101, 102)); err != nil {
			t.Fatalf("the same lineup in another order: %v", err)
		}
		err := b.Add(entry(10, 3, 5, []int32{101, 102, 104}, 101, 102))
		if err == nil || !strings.Contains(err.Error(), "team 5 already has a different lineup") {
			t.Fatalf("got %v, want the team's lineup refused", err)
		}
	})
}

// TestTrustedTeamsSortedSameAsIndexed: NewTrustedBuilder finding teams by a sort of their
// ids (teamRuns) builds what finding them through the id index row by row builds: the
// same lineups asked for, of the same rows in the same order (so players get the same
// dictionary slots), the same partition; and entries added afterwards find the teams
// (the index built then), a known team's other lineup refused by Add.
func TestTrustedTeamsSortedSameAsIndexed(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	players := []int32{11, 12, 13, 14, 15, 16, 17}
	for _, tc := range []struct {
		name string
		id   func(team int) int64
		run  bool // a team's rows together
	}{
		{"scattered", func(k int) int64 { return int64(k)*7919 + 100_000_000 }, false},
		{"ascending", func(k int) int64 { return int64(k) * 3 }, true},
		{"runs out of order", func(k int) int64 { return int64((k*37)%1000) - 500 }, true},
		{"negative and sparse", func(k int) int64 { return int64(k)*0x9E3779B97 - 1<<40 }, false},
		{"over the word", func(k int) int64 { return int64(k) * 0x1E3779B97F4A7C1 }, false}, // the index's path
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 3000
			var contest, entry, user, team []int64
			var lineups [][]int32
			k := 0
			for i := range n {
				switch {
				case tc.run && i > 0 && rng.IntN(3) > 0:
				case tc.run:
					k++
				default:
					k = rng.IntN(n / 3)
				}
				contest = append(contest, int64(rng.IntN(30)))
				entry = append(entry, int64(i)*5+1)
				user = append(user, int64(rng.IntN(500)))
				team = append(team, tc.id(k))
				perm := rng.Perm(len(players))[:4]
				l := []int32{players[perm[0]], players[perm[1]], players[perm[2]], players[perm[3]]}
				lineups = append(lineups, l)
			}
			build := func(sortMin int) (*engine.Builder, []int) {
				var asked []int
				b, err := engine.NewTrustedBuilderSortMin(0, slices.Clone(contest), slices.Clone(entry), slices.Clone(user), team, func(i int) ([]int32, int32, int32) {
					asked = append(asked, i)
					return lineups[i], lineups[i][0], lineups[i][1]
				}, sortMin)
				if err != nil {
					t.Fatal(err)
				}
				return b, asked
			}
			bi, askedI := build(1 << 62)
			bs, askedS := build(0)
			if !slices.Equal(askedI, askedS) {
				t.Fatalf("lineups asked of rows %v sorted, %v indexed", askedS[:min(10, len(askedS))], askedI[:min(10, len(askedI))])
			}
			// Later entries: a known team (the first row's), a new one, a known team's
			// other lineup.
			first := lineups[0]
			for _, b := range []*engine.Builder{bi, bs} {
				if !b.AddKnownTeam(1, 1_000_001, 1, team[0]) {
					t.Fatalf("team %d not found after the columns", team[0])
				}
				if err := b.AddTrusted(1, 1_000_002, 1, 42, []int32{11, 12, 13, 14}, 11, 12); err != nil {
					t.Fatal(err)
				}
				other := []int32{first[0], first[1], first[2], 99}
				err := b.Add(engine.Entry{ContestID: 1, EntryID: 1_000_003, UserID: 1, TeamID: team[0], Players: other, Captain: first[0], ViceCaptain: first[1]})
				if err == nil || !strings.Contains(err.Error(), "already has a different lineup") {
					t.Fatalf("got %v, want the team's other lineup refused", err)
				}
			}
			pi, err := bi.Build(engine.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			ps, err := bs.Build(engine.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			sameBuilt(t, pi, ps)
		})
	}
}

// TestTeamRuns: each row's number is its id's rank among the distinct ids.
func TestTeamRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, ids := range [][]int64{
		{7},
		{3, 3, 3},
		{1, 2, 2, 9},
		{9, 2, 2, 1, 9, -4},
		{-1 << 40, 1 << 40, 0, -1 << 40},
	} {
		checkRuns(t, ids, true)
	}
	big := make([]int64, 5000)
	for i := range big {
		big[i] = rng.Int64N(1<<40) - 1<<39
	}
	checkRuns(t, big, true)
	for i := range big {
		big[i] = rng.Int64N(800)
	}
	checkRuns(t, big, true)
	checkRuns(t, []int64{-1 << 63, 1<<63 - 1, 5}, false)
	checkRuns(t, []int64{1 << 62, -1 << 62, 5}, false) // a span of 2^63 and 2 bits of row
}

func checkRuns(t *testing.T, ids []int64, wantOK bool) {
	t.Helper()
	run, runs, ok := engine.TeamRuns(ids)
	if ok != wantOK {
		t.Fatalf("teamRuns of %d ids: ok %v, want %v", len(ids), ok, wantOK)
	}
	if !ok {
		return
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(ids)))
	if runs != len(distinct) {
		t.Fatalf("%d runs, want %d", runs, len(distinct))
	}
	for i, id := range ids {
		if want, _ := slices.BinarySearch(distinct, id); int(run[i]) != want {
			t.Fatalf("row %d (id %d) numbered %d, want %d", i, id, run[i], want)
		}
	}
}
