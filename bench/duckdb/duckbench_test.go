package duckbench

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testShapes are datasets our own generator did not make. Together they
// cover: lineups of 11 and of 5, many exact ties (popular teams, few point
// values, many zeros), negative points, 2-decimal points whose vice-captain
// halves are not binary-exact (0.01 -> 0.005), players missing from
// points.parquet, players in points.parquet but in no lineup, one-entry
// contests, a big contest, rows shuffled (not grouped by contest), several
// row groups, snappy/zstd/uncompressed pages, and an empty points.parquet.
var testShapes = []Shape{
	{
		Name: "cricket-200k", Seed: 1, Entries: 200_000, Lineup: 11, Pool: 30, Teams: 4000,
		CoveragePct: 80, ExtraPoints: 5, OneEntryContests: 300, BigContest: 60_000,
	},
	{
		Name: "five-a-side-60k", Seed: 2, Entries: 60_000, Lineup: 5, Pool: 14, Teams: 500,
		CoveragePct: 70, ExtraPoints: 2, OneEntryContests: 100, BigContest: 20_000,
		PointValues:  []string{"0", "0", "1", "-1", "2", "-0.75", "12.25", "0.01", "-0.01", "3.5", "99.99", "-33.33"},
		RowGroupSize: 7000, Compression: "zstd",
	},
	{
		Name: "ties-20k", Seed: 3, Entries: 20_000, Lineup: 11, Pool: 22, Teams: 40,
		CoveragePct: 50, OneEntryContests: 50, BigContest: 8000,
		PointValues: []string{"0", "1", "-1", "0.5"}, Compression: "uncompressed",
	},
	{
		Name: "no-points-5k", Seed: 4, Entries: 5000, Lineup: 11, Pool: 25, Teams: 300,
		CoveragePct: 0, ExtraPoints: 0, OneEntryContests: 10, BigContest: 1000,
	},
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := Open(0)
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestExpectedRanksOracle checks the SQL oracle itself on a hand-made
// dataset whose answer was worked out by hand.
func TestExpectedRanksOracle(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	dir := t.TempDir()
	writeHandmade(t, db, dir)
	expected := "(" + ExpectedRanksSQL(filepath.Join(dir, "entries.parquet"), filepath.Join(dir, "points.parquet")) + ")"
	cmp, err := Compare(ctx, db, "oracle", expected, "by-hand", handmadeAnswer, 20)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.OK() {
		t.Fatalf("the SQL oracle disagrees with the hand-computed answer: %s", cmp)
	}
}

// TestRankMatchesDuckDB builds the leaderboard binary (or uses $LEADERBOARD_BIN),
// runs `leaderboard rank` on every dataset and compares its ranks.parquet with
// DuckDB's answer. It skips only while cmd/leaderboard does not exist at all.
func TestRankMatchesDuckDB(t *testing.T) {
	ctx := context.Background()
	root, err := FindRepoRoot("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := os.Getenv("LEADERBOARD_BIN")
	if bin != "" {
		t.Logf("using LEADERBOARD_BIN=%s", bin)
	} else {
		start := time.Now()
		bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		bin, err = BuildLeaderboard(bctx, root, t.TempDir())
		cancel()
		if errors.Is(err, ErrNoLeaderboardPackage) {
			t.Skipf("cmd/leaderboard does not exist yet, nothing to check: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("built %s in %v", LeaderboardPkg, time.Since(start).Round(time.Millisecond))
	}

	db := openDB(t)

	t.Run("handmade", func(t *testing.T) {
		dir := t.TempDir()
		writeHandmade(t, db, dir)
		checkRank(t, db, bin, dir, handmadeAnswer)
	})
	for _, s := range testShapes {
		t.Run(s.Name, func(t *testing.T) {
			dir := t.TempDir()
			g := time.Now()
			if err := Generate(ctx, db, s, dir); err != nil {
				t.Fatal(err)
			}
			if bad, err := ValidateDataset(ctx, db, dir); err != nil || bad != "" {
				t.Fatalf("generated dataset breaks the DESIGN.md invariants: %s %v", bad, err)
			}
			stats, err := DatasetStats(ctx, db, dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("generated in %v: %s", time.Since(g).Round(time.Millisecond), stats)
			f, err := DatasetFeatures(ctx, db, dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("features: %+v", f)
			if f.EntriesWithAbsentPlayer == 0 || f.TiedEntries == 0 || f.OneEntryContests == 0 {
				t.Fatalf("dataset lacks an intended feature (absent players, ties, one-entry contests): %+v", f)
			}
			expected := "(" + ExpectedRanksSQL(filepath.Join(dir, "entries.parquet"), filepath.Join(dir, "points.parquet")) + ")"
			checkRank(t, db, bin, dir, expected)
		})
	}
}

// checkRank runs `leaderboard rank` on dir and compares ranks.parquet with
// the expected relation.
func checkRank(t *testing.T, db *sql.DB, bin, dir, expected string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := filepath.Join(dir, "ranks.parquet")
	r := time.Now()
	if b, err := RankCommand(ctx, bin, dir, out).CombinedOutput(); err != nil {
		t.Fatalf("leaderboard rank --in %s --out %s: %v\n%s", dir, out, err, b)
	}
	t.Logf("leaderboard rank took %v", time.Since(r).Round(time.Millisecond))
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("leaderboard rank wrote no output: %v", err)
	}
	extra, err := CheckRanksSchema(ctx, db, out)
	if err != nil {
		t.Fatalf("ranks.parquet schema: %v", err)
	}
	if len(extra) > 0 {
		t.Logf("ranks.parquet has extra columns (ignored): %v", extra)
	}
	cmp, err := Compare(ctx, db, "expected", expected, "leaderboard", "read_parquet("+Quote(out)+")", 10)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.OK() {
		t.Fatalf("leaderboard rank disagrees with DuckDB: %s", cmp)
	}
	t.Logf("%d entries agree (rank and points)", cmp.RowsA)
}

// writeHandmade writes a tiny dataset (lineups of 3) in the interchange
// layout. Points: 101=10, 102=12.25, 103=-0.75, 104 absent, 105=0.01.
//
//	team 1 [101 102 103] c=101 vc=102: 21.5 + 10 + 6.125     = 37.625
//	team 2 [103 104 105] c=105 vc=103: -0.74 + 0.01 - 0.375  = -1.105
//	team 3 [102 101 104] c=102 vc=101: 22.25 + 12.25 + 5     = 39.5
//	team 4 [104 105 103] c=104 vc=105: -0.74 + 0 + 0.005     = -0.735
//	team 5 [103 104 105] c=103 vc=104: -0.74 - 0.75 + 0      = -1.49
//	team 6 [102 103 101] c=101 vc=102: same as team 1        = 37.625
func writeHandmade(t *testing.T, db *sql.DB, dir string) {
	t.Helper()
	q := `
CREATE OR REPLACE TABLE hm_teams AS SELECT * FROM (VALUES
  (1, [101, 102, 103], 101, 102),
  (2, [103, 104, 105], 105, 103),
  (3, [102, 101, 104], 102, 101),
  (4, [104, 105, 103], 104, 105),
  (5, [103, 104, 105], 103, 104),
  (6, [102, 103, 101], 101, 102)) AS t(team_id, players, captain, vice_captain);
COPY (
  SELECT CAST(e.contest_id AS BIGINT) AS contest_id, CAST(e.entry_id AS BIGINT) AS entry_id,
         CAST(e.user_id AS BIGINT) AS user_id, CAST(e.team_id AS BIGINT) AS team_id,
         CAST(t.players AS INTEGER[]) AS players, CAST(t.captain AS INTEGER) AS captain,
         CAST(t.vice_captain AS INTEGER) AS vice_captain
  FROM (VALUES (3, 30, 5, 4), (1, 12, 1, 1), (1, 11, 1, 1), (2, 20, 2, 2), (1, 14, 4, 3),
               (1, 13, 3, 2), (3, 31, 6, 5), (1, 15, 7, 6)) AS e(contest_id, entry_id, user_id, team_id)
  JOIN hm_teams AS t USING (team_id)
  ORDER BY e.user_id DESC
) TO ` + Quote(filepath.Join(dir, "entries.parquet")) + ` (FORMAT parquet);
COPY (
  SELECT CAST(player_id AS INTEGER) AS player_id, CAST(points AS DOUBLE) AS points
  FROM (VALUES (105, 0.01), (103, -0.75), (101, 10), (102, 12.25), (999, 7)) AS p(player_id, points)
) TO ` + Quote(filepath.Join(dir, "points.parquet")) + ` (FORMAT parquet);
DROP TABLE hm_teams;`
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// handmadeAnswer is the hand-computed answer for writeHandmade.
const handmadeAnswer = `(SELECT CAST(contest_id AS BIGINT) AS contest_id, CAST(entry_id AS BIGINT) AS entry_id,
       CAST(points AS DECIMAL(20,3)) AS points, CAST(rank AS BIGINT) AS rank
FROM (VALUES
  (1, 14, 39.5, 1), (1, 11, 37.625, 2), (1, 12, 37.625, 2), (1, 15, 37.625, 2), (1, 13, -1.105, 5),
  (2, 20, -1.105, 1),
  (3, 30, -0.735, 1), (3, 31, -1.49, 2)) AS a(contest_id, entry_id, points, rank))`
