package duckbench

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
)

// Shape describes a random dataset in the DESIGN.md interchange layout,
// generated entirely with DuckDB SQL (not by the project's own generator).
// Randomness comes from DuckDB's hash() of the string "seed:tag:index" (hash
// of several small integers mixes poorly), so a shape
// always yields the same files.
type Shape struct {
	Name    string
	Seed    int
	Entries int // total entries
	Lineup  int // players per lineup (11 for cricket, 5 for e.g. basketball)
	Pool    int // players in the match; must be >= Lineup
	Teams   int // distinct teams; entries sharing a team share lineup, captain and vice-captain
	// CoveragePct is the percentage of the match's players that appear in
	// points.parquet; the others score 0. 0 makes points.parquet hold only
	// the ExtraPoints players (possibly no rows at all).
	CoveragePct int
	// ExtraPoints players appear in points.parquet but in no lineup.
	ExtraPoints int
	// OneEntryContests contests hold a single entry; one contest then holds
	// BigContest entries; the rest are split into heavy-tailed sizes
	// (2, 3, 5, 10, 20, 100, 1000).
	OneEntryContests int
	BigContest       int
	// PointValues are decimal literals (at most 2 places) that players'
	// points are drawn from; a short list makes many ties. nil: DefaultPointValues.
	PointValues  []string
	RowGroupSize int    // 0: DuckDB's default
	Compression  string // "": DuckDB's default (snappy); e.g. "zstd", "uncompressed"
}

// DefaultPointValues mixes many zeros (ties), negatives and awkward
// 2-decimal values whose halves are not representable in binary.
var DefaultPointValues = []string{
	"0", "0", "0", "1", "2", "4", "6", "8", "10", "12.25", "-0.75", "-2", "-1", "0.5",
	"0.01", "33.33", "52.5", "100.75", "2.5", "-0.25", "0.05", "7.07", "3.99", "-1.13",
}

func (s Shape) validate() error {
	switch {
	case s.Entries <= 0, s.Lineup < 2, s.Pool < s.Lineup, s.Teams <= 0:
		return fmt.Errorf("shape %q: need entries > 0, lineup >= 2, pool >= lineup, teams > 0", s.Name)
	case s.OneEntryContests+s.BigContest > s.Entries:
		return fmt.Errorf("shape %q: one-entry contests + big contest exceed entries", s.Name)
	case s.CoveragePct < 0 || s.CoveragePct > 100:
		return fmt.Errorf("shape %q: coverage must be 0..100", s.Name)
	}
	return nil
}

// Generate writes entries.parquet and points.parquet for the shape into dir.
func Generate(ctx context.Context, db *sql.DB, s Shape, dir string) error {
	if err := s.validate(); err != nil {
		return err
	}
	vals := s.PointValues
	if vals == nil {
		vals = DefaultPointValues
	}
	big := s.BigContest
	if big <= 0 {
		big = 2
	}
	opts := "FORMAT parquet"
	if s.RowGroupSize > 0 {
		opts += fmt.Sprintf(", ROW_GROUP_SIZE %d", s.RowGroupSize)
	}
	if s.Compression != "" {
		opts += ", COMPRESSION " + s.Compression
	}
	users := s.Entries/3 + 1
	r := strings.NewReplacer(
		"{S}", fmt.Sprint(s.Seed),
		"{N}", fmt.Sprint(s.Entries),
		"{L}", fmt.Sprint(s.Lineup),
		"{P}", fmt.Sprint(s.Pool),
		"{T}", fmt.Sprint(s.Teams),
		"{U}", fmt.Sprint(users),
		"{COV}", fmt.Sprint(s.CoveragePct),
		"{EXTRA}", fmt.Sprint(s.ExtraPoints),
		"{C1}", fmt.Sprint(s.OneEntryContests),
		"{BIG}", fmt.Sprint(big),
		"{VALS}", "["+strings.Join(vals, ", ")+"]",
		"{NV}", fmt.Sprint(len(vals)),
		"{OPTS}", opts,
		"{ENTRIES}", Quote(filepath.Join(dir, "entries.parquet")),
		"{POINTS}", Quote(filepath.Join(dir, "points.parquet")),
	)
	stmts := []string{
		// The match's players: sparse 6-digit ids.
		`CREATE OR REPLACE TABLE gen_pool AS
		 SELECT i AS pi, CAST(100000 + (i * 7919) % 900000 AS INTEGER) AS player_id
		 FROM range({P}) AS r(i)`,

		// Player points: a COV% subset of the match's players, plus players in
		// no lineup; values with at most 2 decimals; file order shuffled.
		`CREATE OR REPLACE TABLE gen_points AS
		 WITH v AS (SELECT CAST({VALS} AS DECIMAL(10,2)[]) AS vals)
		 SELECT player_id, CAST(vals[CAST(1 + hash(concat_ws(':', {S}, 'pv', player_id)) % {NV} AS BIGINT)] AS DOUBLE) AS points
		 FROM (SELECT player_id FROM gen_pool WHERE hash(concat_ws(':', {S}, 'cov', pi)) % 100 < {COV}
		       UNION ALL
		       SELECT CAST(990000 + i AS INTEGER) FROM range({EXTRA}) AS r(i)) AS p, v`,
		`COPY (SELECT player_id, points FROM gen_points ORDER BY hash(concat_ws(':', {S}, 'pshuf', player_id)))
		 TO {POINTS} ({OPTS})`,

		// Teams: L distinct players each, in random order; captain and
		// vice-captain are two distinct lineup players at random positions.
		`CREATE OR REPLACE TABLE gen_team_players AS
		 SELECT t, player_id, row_number() OVER (PARTITION BY t ORDER BY hash(concat_ws(':', {S}, 'lu', t, pi))) AS rn
		 FROM range({T}) AS tt(t) CROSS JOIN gen_pool
		 QUALIFY rn <= {L}`,
		`CREATE OR REPLACE TABLE gen_teams AS
		 SELECT t, CAST(500000000 + t * 31 AS BIGINT) AS team_id,
		        CAST(list(player_id ORDER BY hash(concat_ws(':', {S}, 'ord', t, player_id))) AS INTEGER[]) AS players,
		        CAST(max(player_id) FILTER (WHERE rn = 1) AS INTEGER) AS captain,
		        CAST(max(player_id) FILTER (WHERE rn = 2) AS INTEGER) AS vice_captain
		 FROM gen_team_players GROUP BY t`,

		// Contests: C1 one-entry contests, one big contest, then heavy-tailed
		// sizes until N entries are placed (the last contest is cut short).
		`CREATE OR REPLACE TABLE gen_contests AS
		 WITH s AS (
		   SELECT k, CASE WHEN k < {C1} THEN 1
		                  WHEN k = {C1} THEN {BIG}
		                  ELSE [2, 2, 2, 2, 3, 5, 10, 20, 20, 100, 1000][CAST(1 + hash(concat_ws(':', {S}, 'cs', k)) % 11 AS BIGINT)]
		             END AS size
		   FROM range({N}) AS r(k)
		 ), c AS (SELECT k, size, sum(size) OVER (ORDER BY k) AS cum FROM s)
		 SELECT k, CAST(8000000 + k * 97 AS BIGINT) AS contest_id,
		        CAST(cum - size AS BIGINT) AS start,
		        CAST(size - greatest(cum - {N}, 0) AS BIGINT) AS size
		 FROM c WHERE cum - size < {N}`,
		`CREATE OR REPLACE TABLE gen_entries AS
		 SELECT contest_id, start + j AS g
		 FROM (SELECT contest_id, start, unnest(range(size)) AS j FROM gen_contests)`,

		// Entries: unique sparse entry ids; popular teams (the min of two
		// draws skews towards low team numbers, so big contests hold many
		// copies of the same team: exact ties); rows shuffled, not grouped by contest.
		`COPY (
		   SELECT e.contest_id,
		          CAST(1000000000 + (e.g * 7919) % 100000000 AS BIGINT) AS entry_id,
		          CAST(1 + hash(concat_ws(':', {S}, 'u', e.g)) % {U} AS BIGINT) AS user_id,
		          tm.team_id, tm.players, tm.captain, tm.vice_captain
		   FROM gen_entries AS e
		   JOIN gen_teams AS tm
		     ON tm.t = CAST(least(hash(concat_ws(':', {S}, 't1', e.g)) % {T}, hash(concat_ws(':', {S}, 't2', e.g)) % {T}) AS BIGINT)
		   ORDER BY hash(concat_ws(':', {S}, 'shuf', e.g))
		 ) TO {ENTRIES} ({OPTS})`,

		`DROP TABLE gen_pool; DROP TABLE gen_points; DROP TABLE gen_team_players;
		 DROP TABLE gen_teams; DROP TABLE gen_contests; DROP TABLE gen_entries`,
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, r.Replace(q)); err != nil {
			return fmt.Errorf("generate %q: %w\nSQL: %s", s.Name, err, r.Replace(q))
		}
	}
	return nil
}

// ValidateDataset checks, in SQL, the invariants a dataset must satisfy
// (DESIGN.md): unique entry ids, distinct lineup players of one size,
// captain != vice-captain and both in the lineup, entries sharing a team
// share its lineup, unique player ids in points. It returns a description of
// the first violation found, or "".
func ValidateDataset(ctx context.Context, db *sql.DB, dir string) (string, error) {
	e := "read_parquet(" + Quote(filepath.Join(dir, "entries.parquet")) + ")"
	p := "read_parquet(" + Quote(filepath.Join(dir, "points.parquet")) + ")"
	checks := []struct{ what, q string }{
		{"duplicate entry_id", "SELECT count(*) FROM (SELECT entry_id FROM " + e + " GROUP BY 1 HAVING count(*) > 1)"},
		{"lineup sizes differ", "SELECT count(DISTINCT len(players)) - 1 FROM " + e},
		{"duplicate player in lineup", "SELECT count(*) FROM " + e + " WHERE len(list_distinct(players)) <> len(players)"},
		{"captain == vice_captain", "SELECT count(*) FROM " + e + " WHERE captain = vice_captain"},
		{"captain or vice_captain not in lineup", "SELECT count(*) FROM " + e + " WHERE NOT list_contains(players, captain) OR NOT list_contains(players, vice_captain)"},
		{"a team_id with two lineups", "SELECT count(*) FROM (SELECT team_id FROM " + e + " GROUP BY 1 HAVING count(DISTINCT (list_sort(players), captain, vice_captain)) > 1)"},
		{"null values", "SELECT count(*) FROM " + e + " WHERE contest_id IS NULL OR entry_id IS NULL OR players IS NULL OR captain IS NULL OR vice_captain IS NULL"},
		{"duplicate player_id in points", "SELECT count(*) FROM (SELECT player_id FROM " + p + " GROUP BY 1 HAVING count(*) > 1)"},
	}
	for _, c := range checks {
		var n int64
		if err := db.QueryRowContext(ctx, c.q).Scan(&n); err != nil {
			return "", fmt.Errorf("%s: %w", c.what, err)
		}
		if n != 0 {
			return fmt.Sprintf("%s (%d)", c.what, n), nil
		}
	}
	return "", nil
}

// DatasetStats summarises a dataset, for logs.
func DatasetStats(ctx context.Context, db *sql.DB, dir string) (string, error) {
	e := "read_parquet(" + Quote(filepath.Join(dir, "entries.parquet")) + ")"
	p := "read_parquet(" + Quote(filepath.Join(dir, "points.parquet")) + ")"
	var entries, contests, maxContest, single, teams, lineup, pts int64
	err := db.QueryRowContext(ctx, `
SELECT (SELECT count(*) FROM `+e+`),
       (SELECT count(DISTINCT contest_id) FROM `+e+`),
       (SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM `+e+` GROUP BY contest_id)),
       (SELECT count(*) FROM (SELECT contest_id FROM `+e+` GROUP BY contest_id HAVING count(*) = 1)),
       (SELECT count(DISTINCT team_id) FROM `+e+`),
       (SELECT coalesce(max(len(players)), 0) FROM `+e+`),
       (SELECT count(*) FROM `+p+`)`).Scan(&entries, &contests, &maxContest, &single, &teams, &lineup, &pts)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d entries, %d contests (largest %d, %d with one entry), %d teams, lineup %d, %d players with points",
		entries, contests, maxContest, single, teams, lineup, pts), nil
}

// Features counts the adversarial features a dataset actually exercises.
type Features struct {
	EntriesWithAbsentPlayer int64 // a lineup player missing from points.parquet
	NegativeEntries         int64 // entries with negative team points
	TiedEntries             int64 // entries sharing their points with another entry of their contest
	LargestTie              int64 // the most entries of one contest with equal points
	OneEntryContests        int64
}

// DatasetFeatures computes Features with the SQL oracle's team points.
func DatasetFeatures(ctx context.Context, db *sql.DB, dir string) (Features, error) {
	ep := filepath.Join(dir, "entries.parquet")
	pp := filepath.Join(dir, "points.parquet")
	var f Features
	err := db.QueryRowContext(ctx, `
WITH tp AS (`+TeamPointsSQL(ep, pp)+`),
g AS (SELECT contest_id, team_points, count(*) AS n FROM tp GROUP BY ALL)
SELECT
  (SELECT count(*) FROM read_parquet(`+Quote(ep)+`) AS e
    WHERE EXISTS (SELECT 1 FROM unnest(e.players) AS u(pid)
                  WHERE pid NOT IN (SELECT player_id FROM read_parquet(`+Quote(pp)+`)))),
  (SELECT count(*) FROM tp WHERE team_points < 0),
  (SELECT coalesce(sum(n), 0) FROM g WHERE n > 1),
  (SELECT coalesce(max(n), 0) FROM g),
  (SELECT count(*) FROM (SELECT contest_id FROM tp GROUP BY contest_id HAVING count(*) = 1))`).Scan(
		&f.EntriesWithAbsentPlayer, &f.NegativeEntries, &f.TiedEntries, &f.LargestTie, &f.OneEntryContests)
	return f, err
}
