package dataset

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/fantasy/leaderboard/engine"
)

func TestGenConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  GenConfig
		want string // "" for valid
	}{
		{GenConfig{Entries: 1}, ""},
		{GenConfig{Entries: 1000, Contests: 500, PlayersPerMatch: 2, LineupSize: 2}, ""},
		{GenConfig{Entries: 0}, "--entries must be"},
		{GenConfig{Entries: -5}, "--entries must be"},
		{GenConfig{Entries: MaxGenEntries + 1}, "--entries must be"},
		{GenConfig{Entries: 100, Contests: 51}, "--contests must be"},
		{GenConfig{Entries: 100, Contests: -1}, "--contests must be"},
		{GenConfig{Entries: 100, PlayersPerMatch: 1}, "--players must be"},
		{GenConfig{Entries: 100, PlayersPerMatch: 300}, "--players must be"},
		{GenConfig{Entries: 100, LineupSize: 1}, "--lineup-size must be"},
		{GenConfig{Entries: 100, PlayersPerMatch: 10, LineupSize: 11}, "--lineup-size must be"},
		{GenConfig{Entries: 100, MatchID: -1}, "--match must be"},
	} {
		t.Run(fmt.Sprintf("%+v", tc.cfg), func(t *testing.T) {
			_, err := tc.cfg.normalized()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	cfg, _ := GenConfig{Entries: 280}.normalized()
	if cfg.Contests != 10 || cfg.PlayersPerMatch != 22 || cfg.LineupSize != 11 || cfg.MatchID != 1 {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestContestSizes(t *testing.T) {
	for _, tc := range []struct{ n, c int64 }{
		{1, 1}, {2, 1}, {4, 2}, {10, 5}, {100, 3}, {100, 50}, {1000, 35}, {100_000, 10},
		{100_000, 50_000}, {100_000, 20_000}, {200_000, 7142}, {5_600_000, 200_000},
	} {
		t.Run(fmt.Sprintf("n=%d c=%d", tc.n, tc.c), func(t *testing.T) {
			r := newRNG(1, streamSizes)
			sizes := contestSizes(tc.n, tc.c, &r)
			if int64(len(sizes)) != tc.c || sumInt(sizes) != tc.n {
				t.Fatalf("%d contests adding up to %d, want %d adding up to %d", len(sizes), sumInt(sizes), tc.c, tc.n)
			}
			if tc.c > 1 && slices.Min(sizes) < 2 {
				t.Errorf("a contest of %d entries", slices.Min(sizes))
			}
			// One mega contest of 10%, unless so many contests leave no room for it.
			if largest := slices.Max(sizes); largest < min(tc.n/10, tc.n-2*(tc.c-1)) {
				t.Errorf("largest contest %d < 10%% of %d", largest, tc.n)
			}
		})
	}

	// The default shape: heavy-tailed.
	const n = 5_600_000
	r := newRNG(3, streamSizes)
	sizes := contestSizes(n, n/28, &r)
	var h2h, leagues, large int
	for _, s := range sizes {
		switch {
		case s <= 4:
			h2h++
		case s >= n/5600 && s < n/10:
			large++
		}
		if s >= 10 && s <= 100 {
			leagues++
		}
	}
	if slices.Max(sizes) != n/10 {
		t.Errorf("mega contest %d, want %d", slices.Max(sizes), n/10)
	}
	if h2h < len(sizes)*35/100 || leagues < len(sizes)*25/100 || large < 36 {
		t.Errorf("of %d contests: %d of 2-4 entries, %d of 10-100, %d of %d+; want >= 35%%, >= 25%%, >= 36",
			len(sizes), h2h, leagues, large, n/5600)
	}
}

func TestPermutation(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 17, 1000, 1 << 12, 5000} {
		r := newRNG(int64(n), 1)
		p := newPermutation(n, &r)
		seen := make([]bool, n)
		moved := 0
		for i := range n {
			j := p.at(i)
			if j >= n || seen[j] {
				t.Fatalf("n=%d: %d -> %d is out of range or taken", n, i, j)
			}
			seen[j] = true
			if j != i {
				moved++
			}
		}
		if n >= 1000 && moved < int(n)*9/10 {
			t.Errorf("n=%d: only %d of %d ids moved", n, moved, n)
		}
	}
}

func TestRadixSort32(t *testing.T) {
	r := newRNG(1, 1)
	v := make([]uint32, 10_000)
	for i := range v {
		v[i] = uint32(r.next())
	}
	want := slices.Clone(v)
	slices.Sort(want)
	radixSort32(v, nil)
	if !slices.Equal(v, want) {
		t.Error("radixSort32 does not sort")
	}
}

// The match: sparse 6-digit ids, T20-like points in steps of 0.5, points2 mostly
// above points1. Over a few seeds some players are negative and some exactly 0.
func TestMatchPoints(t *testing.T) {
	var negative, zero, drops int
	for seed := int64(1); seed <= 5; seed++ {
		m := newMatch(seed, 22)
		if len(m.ids) != 22 || !slices.IsSorted(m.ids) || m.ids[0] < 100_000 || m.ids[21] > 999_999 {
			t.Fatalf("seed %d: player ids %v", seed, m.ids)
		}
		for i := range m.ids {
			if i > 0 && m.ids[i] == m.ids[i-1] {
				t.Fatalf("seed %d: repeated player id %d", seed, m.ids[i])
			}
			for _, p := range []float64{m.points1[i], m.points2[i]} {
				if p*2 != math.Trunc(p*2) || p < -20 || p > 300 {
					t.Errorf("seed %d: points %v", seed, p)
				}
				if p < 0 {
					negative++
				}
				if p == 0 {
					zero++
				}
			}
			if d := m.points2[i] - m.points1[i]; d < 0 {
				drops++
				if d < -12 {
					t.Errorf("seed %d: player %d drops from %v to %v", seed, m.ids[i], m.points1[i], m.points2[i])
				}
			}
		}
	}
	if negative == 0 || zero == 0 {
		t.Errorf("over 5 matches: %d negative and %d zero scores, want some of each", negative, zero)
	}
	if drops > 5*22/4 {
		t.Errorf("%d of %d players lose points between the moments", drops, 5*22)
	}
}

var (
	invariantsOnce sync.Once
	invariantsDir  string
	invariantsErr  error
	invariantStats GenStats
)

const invariantEntries = 100_000

// generated returns a dataset shared by the tests that only read it.
func generated(t *testing.T) string {
	invariantsOnce.Do(func() {
		invariantsDir, invariantsErr = os.MkdirTemp("", "dataset-gen-test-")
		if invariantsErr == nil {
			invariantStats, invariantsErr = GenerateWithStats(context.Background(),
				GenConfig{Entries: invariantEntries, Seed: 7}, invariantsDir, nil)
		}
	})
	if invariantsErr != nil {
		t.Fatal(invariantsErr)
	}
	return invariantsDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if invariantsDir != "" {
		os.RemoveAll(invariantsDir)
	}
	os.Exit(code)
}

// entryColumns is a whole entries file in columns, lineups flattened (11 per entry).
type entryColumns struct {
	contest, entry, user, team []int64
	players                    []int32
	capt, vice                 []int32
}

func readEntryColumns(t *testing.T, path string) entryColumns {
	t.Helper()
	var c entryColumns
	err := ReadEntries(context.Background(), path, 0, func(rec arrow.RecordBatch) error {
		ec := engine.EntryColumnsOf(rec)
		c.contest = append(c.contest, ec.Contest...)
		c.entry = append(c.entry, ec.Entry...)
		c.user = append(c.user, ec.User...)
		c.team = append(c.team, ec.Team...)
		off := ec.Offsets
		if n := int(rec.NumRows()); off[n]-off[0] != int32(11*n) {
			t.Fatalf("lineups of %d players for %d entries", off[n]-off[0], n)
		}
		c.players = append(c.players, ec.Players[off[0]:off[len(off)-1]]...)
		c.capt = append(c.capt, ec.Captain...)
		c.vice = append(c.vice, ec.Vice...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGenerateInvariants(t *testing.T) {
	t.Parallel()
	dir := generated(t)
	e := readEntryColumns(t, filepath.Join(dir, EntriesFile))
	ids, pts, err := ReadPoints(filepath.Join(dir, PointsFile))
	if err != nil {
		t.Fatal(err)
	}
	ids2, pts2, err := ReadPoints(filepath.Join(dir, Points2File))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.entry) != invariantEntries {
		t.Fatalf("%d rows, want %d", len(e.entry), invariantEntries)
	}
	if !slices.Equal(ids, ids2) || len(ids) != 22 {
		t.Fatalf("points files list players %v and %v, want the same 22", ids, ids2)
	}
	isPlayer := map[int32]bool{}
	for i, id := range ids {
		isPlayer[id] = true
		if pts[i]*2 != math.Trunc(pts[i]*2) || pts2[i]*2 != math.Trunc(pts2[i]*2) {
			t.Errorf("player %d: points %v then %v, want multiples of 0.5", id, pts[i], pts2[i])
		}
	}

	type team struct {
		players    [11]int32
		capt, vice int32
		user       int64
	}
	var (
		entrySeen   = make([]bool, invariantEntries+1)
		teams       = map[int64]team{}
		teamEntries = map[[2]int64]bool{} // (contest, team)
		userTeams   = map[int64]map[int64]bool{}
		sizes       = map[int64]int{}
		contests    []int64
	)
	for i := range e.entry {
		contest, entry := e.contest[i], e.entry[i]
		if i > 0 && (contest < e.contest[i-1] || (contest == e.contest[i-1] && entry <= e.entry[i-1])) {
			t.Fatalf("row %d (%d, %d) follows (%d, %d): not sorted by (contest_id, entry_id)",
				i, contest, entry, e.contest[i-1], e.entry[i-1])
		}
		if entry < 1 || entry > invariantEntries || entrySeen[entry] {
			t.Fatalf("entry_id %d out of 1..%d or repeated", entry, invariantEntries)
		}
		entrySeen[entry] = true
		if sizes[contest] == 0 {
			contests = append(contests, contest)
		}
		sizes[contest]++

		tm := team{capt: e.capt[i], vice: e.vice[i], user: e.user[i]}
		copy(tm.players[:], e.players[11*i:11*i+11])
		var hasCapt, hasVice bool
		for k, p := range tm.players {
			if !isPlayer[p] || slices.Contains(tm.players[:k], p) {
				t.Fatalf("entry %d: lineup %v repeats a player or has one not in the match", entry, tm.players)
			}
			hasCapt, hasVice = hasCapt || p == tm.capt, hasVice || p == tm.vice
		}
		if tm.capt == tm.vice || !hasCapt || !hasVice {
			t.Fatalf("entry %d: captain %d, vice-captain %d, lineup %v", entry, tm.capt, tm.vice, tm.players)
		}
		if prev, ok := teams[e.team[i]]; ok && prev != tm {
			t.Fatalf("team %d: entry %d has %+v, an earlier entry %+v", e.team[i], entry, tm, prev)
		}
		teams[e.team[i]] = tm
		key := [2]int64{contest, e.team[i]}
		if teamEntries[key] {
			t.Fatalf("team %d enters contest %d twice", e.team[i], contest)
		}
		teamEntries[key] = true
		if userTeams[tm.user] == nil {
			userTeams[tm.user] = map[int64]bool{}
		}
		userTeams[tm.user][e.team[i]] = true
	}

	// Contests: the default count, one of ~10%, heavy-tailed.
	if len(contests) != invariantEntries/28 {
		t.Errorf("%d contests, want %d", len(contests), invariantEntries/28)
	}
	var largest, mega int64
	var small, big int
	for _, c := range contests {
		if s := int64(sizes[c]); s > largest {
			largest, mega = s, c
		}
		switch s := sizes[c]; {
		case s <= 4:
			small++
		case s >= 1000:
			big++
		}
	}
	if largest < invariantEntries/10 || small < len(contests)/3 || big < 10 {
		t.Errorf("largest contest %d, %d contests of <= 4 entries, %d of >= 1000", largest, small, big)
	}
	// Entry ids are shuffled across contests, not handed out contest by contest.
	var lo, hi int64 = math.MaxInt64, 0
	for i, c := range e.contest {
		if c == mega {
			lo, hi = min(lo, e.entry[i]), max(hi, e.entry[i])
		}
	}
	if hi-lo+1 < 2*largest {
		t.Errorf("mega contest's entry ids span only %d..%d", lo, hi)
	}

	// Teams join several contests; users own 1-6 teams.
	if len(teams) > invariantEntries/3 || len(teams) < invariantEntries/10 {
		t.Errorf("%d distinct teams for %d entries", len(teams), invariantEntries)
	}
	for u, ts := range userTeams {
		if len(ts) > 6 {
			t.Errorf("user %d owns %d teams", u, len(ts))
		}
	}
	if invariantStats.Teams != int64(len(teams)) || invariantStats.Users != int64(len(userTeams)) ||
		invariantStats.Contests != int64(len(contests)) || invariantStats.LargestContest != largest {
		t.Errorf("stats %+v; counted %d teams, %d users, %d contests, largest %d",
			invariantStats, len(teams), len(userTeams), len(contests), largest)
	}

	// Popularity: stars are in most lineups; captaincy is concentrated.
	picks, capts := map[int32]int{}, map[int32]int{}
	for _, tm := range teams {
		for _, p := range tm.players {
			picks[p]++
		}
		capts[tm.capt]++
	}
	counts := func(m map[int32]int) []int {
		var v []int
		for _, c := range m {
			v = append(v, c)
		}
		slices.Sort(v)
		slices.Reverse(v)
		return v
	}
	p, c := counts(picks), counts(capts)
	if p[0] < len(teams)*80/100 || c[0]+c[1]+c[2] < len(teams)*60/100 || p[len(p)-1] > len(teams)/2 {
		t.Errorf("of %d teams: most picked player in %d, least in %d; top 3 captains %d",
			len(teams), p[0], p[len(p)-1], c[0]+c[1]+c[2])
	}
}

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	gen := func(seed int64) map[string][]byte {
		dir := t.TempDir()
		if err := Generate(context.Background(), GenConfig{Entries: 20_000, Seed: seed}, dir, nil); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, name := range dirNames(t, dir) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			files[name] = b
		}
		return files
	}
	a, b, c := gen(5), gen(5), gen(6)
	if len(a) != 3 {
		t.Fatalf("files %v, want the three of a dataset", a)
	}
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
		if bytes.Equal(a[name], c[name]) {
			t.Errorf("%s is the same for seeds 5 and 6", name)
		}
	}
}

func TestGenerateShapes(t *testing.T) {
	for _, cfg := range []GenConfig{
		{Entries: 1},
		{Entries: 3},
		{Entries: 10, Contests: 5},
		{Entries: 500, Contests: 1},
		{Entries: 2000, Contests: 1000, PlayersPerMatch: 2, LineupSize: 2},
		{Entries: 3000, PlayersPerMatch: 30, LineupSize: 11, MatchID: 77},
		{Entries: 3000, PlayersPerMatch: 12, LineupSize: 6},
	} {
		t.Run(fmt.Sprintf("%+v", cfg), func(t *testing.T) {
			dir := t.TempDir()
			var last int64
			stats, err := GenerateWithStats(context.Background(), cfg, dir, func(done, total int64) {
				if done < last || done > total || total != cfg.Entries {
					t.Errorf("progress %d/%d after %d", done, total, last)
				}
				last = done
			})
			if err != nil {
				t.Fatal(err)
			}
			if last != cfg.Entries {
				t.Errorf("progress ended at %d of %d", last, cfg.Entries)
			}
			n, _ := cfg.normalized()
			rows := readAllEntries(t, filepath.Join(dir, EntriesFile), 0)
			ids, _, err := ReadPoints(filepath.Join(dir, PointsFile))
			if err != nil {
				t.Fatal(err)
			}
			contests := map[int64]bool{}
			for _, r := range rows {
				contests[r.contest] = true
				if len(r.players) != n.LineupSize || r.capt == r.vice {
					t.Fatalf("entry %+v", r)
				}
			}
			if int64(len(rows)) != cfg.Entries || int64(len(contests)) != n.Contests || len(ids) != n.PlayersPerMatch ||
				stats.Entries != cfg.Entries || stats.Contests != n.Contests {
				t.Errorf("%d rows in %d contests, %d players, stats %+v", len(rows), len(contests), len(ids), stats)
			}
		})
	}
}

func TestGenerateCancelled(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := generate(ctx, GenConfig{Entries: 50_000}, dir, func(done, total int64) {
		calls++
		cancel()
	}, 5000)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("progress called %d times after cancelling", calls)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("a cancelled run left %v", names)
	}
	if err := Generate(ctx, GenConfig{Entries: 10}, dir, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("already cancelled: error %v", err)
	}
}

// Row groups of a few thousand rows: contests span row groups, and the result is the
// same as with one row group.
func TestGenerateRowGroups(t *testing.T) {
	t.Parallel()
	one, many := t.TempDir(), t.TempDir()
	cfg := GenConfig{Entries: 20_000, Seed: 2}
	if _, err := generate(context.Background(), cfg, one, nil, RowGroupRows); err != nil {
		t.Fatal(err)
	}
	if _, err := generate(context.Background(), cfg, many, nil, 4096); err != nil {
		t.Fatal(err)
	}
	if g := rowGroups(t, filepath.Join(many, EntriesFile)); g != (20_000+4095)/4096 {
		t.Errorf("%d row groups", g)
	}
	a := readAllEntries(t, filepath.Join(one, EntriesFile), 0)
	b := readAllEntries(t, filepath.Join(many, EntriesFile), 1000)
	if !equalRows(a, b) {
		t.Error("the rows depend on the row group size")
	}
}

// TestGenerateJoinOrder: --order join writes the same rows as the default order, sorted
// by entry_id (contests interleaved), in several row groups; a larger team pool gives
// more distinct teams.
func TestGenerateJoinOrder(t *testing.T) {
	t.Parallel()
	const n = 30_000
	gen := func(cfg GenConfig) ([]row, GenStats) {
		dir := t.TempDir()
		var last int64
		stats, err := generate(context.Background(), cfg, dir, func(done, total int64) {
			if done < last || done > total {
				t.Errorf("progress %d/%d after %d", done, total, last)
			}
			last = done
		}, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if last != n {
			t.Errorf("progress ended at %d of %d", last, n)
		}
		return readAllEntries(t, filepath.Join(dir, EntriesFile), 0), stats
	}
	byContest, s1 := gen(GenConfig{Entries: n, Seed: 3})
	byJoin, s2 := gen(GenConfig{Entries: n, Seed: 3, Order: OrderJoin})
	if s1 != s2 {
		t.Errorf("stats differ: %+v by contest, %+v by join", s1, s2)
	}
	if len(byJoin) != n {
		t.Fatalf("%d rows, want %d", len(byJoin), n)
	}
	switches := 0
	for i := range byJoin {
		if byJoin[i].entry != int64(i)+1 {
			t.Fatalf("row %d has entry %d, want rows in entry_id order 1..%d", i, byJoin[i].entry, n)
		}
		if i > 0 && byJoin[i].contest != byJoin[i-1].contest {
			switches++
		}
	}
	if switches < n/2 {
		t.Errorf("the contest changes %d times in %d rows: not interleaved", switches, n)
	}
	sorted := slices.Clone(byJoin)
	slices.SortFunc(sorted, func(a, b row) int {
		if c := cmp.Compare(a.contest, b.contest); c != 0 {
			return c
		}
		return cmp.Compare(a.entry, b.entry)
	})
	if !equalRows(sorted, byContest) {
		t.Error("join order holds other rows than contest order")
	}

	_, wide := gen(GenConfig{Entries: n, Seed: 3, TeamsPerEntry: 1})
	if wide.Teams < n*4/10 || wide.Teams > n*6/10 {
		t.Errorf("--teams-per-entry 1: %d distinct teams for %d entries, want about one per two", wide.Teams, n)
	}
	if s1.Teams > n/4 {
		t.Errorf("default: %d distinct teams for %d entries, want at most one per four", s1.Teams, n)
	}
}

func TestGenConfigNewOptions(t *testing.T) {
	for _, tc := range []struct {
		cfg  GenConfig
		want string
	}{
		{GenConfig{Entries: 10, Order: "random"}, `--order must be "contest" or "join"`},
		{GenConfig{Entries: 10, TeamsPerEntry: -1}, "--teams-per-entry must be"},
		{GenConfig{Entries: 10, TeamsPerEntry: math.NaN()}, "--teams-per-entry must be"},
		{GenConfig{Entries: 10, TeamsPerEntry: 5}, "--teams-per-entry must be"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.cfg, err, tc.want)
		}
	}
	if err := (GenConfig{Entries: 10, Order: OrderJoin, TeamsPerEntry: 0.5}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}
