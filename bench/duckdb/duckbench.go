// Package duckbench checks and benchmarks the leaderboard's batch `rank`
// command against DuckDB.
//
// It lives in its own Go module because DuckDB is reached through cgo
// (github.com/duckdb/duckdb-go/v2 links a large static library); the main
// module github.com/fantasy/leaderboard stays pure Go.
//
// Everything DuckDB-side here is plain SQL: datasets are generated with
// `COPY (SELECT ...) TO '...' (FORMAT parquet)`, and the expected answer is
// computed with exact DECIMAL arithmetic and a window rank(), independently
// of the engine's own code.
package duckbench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver
)

// Open opens a fresh in-memory DuckDB database. The pool is pinned to one
// connection so that settings (SET threads) and tables are seen by every
// statement. threads <= 0 keeps DuckDB's default (all cores).
func Open(threads int) (*sql.DB, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if threads > 0 {
		if _, err := db.Exec(fmt.Sprintf("SET threads = %d", threads)); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// Threads reports DuckDB's effective worker-thread count.
func Threads(db *sql.DB) (int, error) {
	var n int
	err := db.QueryRow("SELECT current_setting('threads')::INTEGER").Scan(&n)
	return n, err
}

// Quote renders s as a SQL string literal.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// TeamPointsSQL is a relation (contest_id, entry_id, team_points DECIMAL)
// computed independently of the engine, entry by entry: the sum of the
// lineup's points (0 for a player absent from points.parquet) plus the
// captain's points plus 0.5 × the vice-captain's points, all in exact
// DECIMAL arithmetic (points are read as DECIMAL(18,2); the vice-captain's
// half makes the result DECIMAL(.., 3)).
func TeamPointsSQL(entriesPath, pointsPath string) string {
	return fmt.Sprintf(`
WITH pts AS (
  SELECT player_id, CAST(points AS DECIMAL(18,2)) AS p
  FROM read_parquet(%[2]s)
), e AS (
  SELECT contest_id, entry_id, players, captain, vice_captain
  FROM read_parquet(%[1]s)
), lineup AS (
  SELECT u.entry_id, sum(coalesce(pts.p, CAST(0 AS DECIMAL(18,2)))) AS s
  FROM (SELECT entry_id, unnest(players) AS pid FROM e) AS u
  LEFT JOIN pts ON pts.player_id = u.pid
  GROUP BY u.entry_id
)
SELECT e.contest_id, e.entry_id,
       coalesce(lineup.s, 0)
       + coalesce(c.p, CAST(0 AS DECIMAL(18,2)))
       + coalesce(v.p, CAST(0 AS DECIMAL(18,2))) * CAST(0.5 AS DECIMAL(2,1)) AS team_points
FROM e
LEFT JOIN lineup ON lineup.entry_id = e.entry_id
LEFT JOIN pts AS c ON c.player_id = e.captain
LEFT JOIN pts AS v ON v.player_id = e.vice_captain`, Quote(entriesPath), Quote(pointsPath))
}

// ExpectedRanksSQL is a relation (contest_id, entry_id, points DECIMAL, rank
// BIGINT): competition ranking ("1224") within each contest, points
// descending.
func ExpectedRanksSQL(entriesPath, pointsPath string) string {
	return fmt.Sprintf(`
SELECT contest_id, entry_id, team_points AS points,
       CAST(rank() OVER (PARTITION BY contest_id ORDER BY team_points DESC) AS BIGINT) AS rank
FROM (%s) AS tp`, TeamPointsSQL(entriesPath, pointsPath))
}

// RanksColumns are the columns and DuckDB types that ranks.parquet must
// have (DESIGN.md: contest_id int64, entry_id int64, points double, rank int64).
var RanksColumns = [][2]string{
	{"contest_id", "BIGINT"},
	{"entry_id", "BIGINT"},
	{"points", "DOUBLE"},
	{"rank", "BIGINT"},
}

// CheckRanksSchema verifies the column names and types of a ranks.parquet
// file. Extra columns are returned, not treated as errors.
func CheckRanksSchema(ctx context.Context, db *sql.DB, path string) (extra []string, err error) {
	rows, err := db.QueryContext(ctx, "DESCRIBE SELECT * FROM read_parquet("+Quote(path)+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	got := map[string]string{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		name, typ := fmt.Sprint(vals[0]), fmt.Sprint(vals[1])
		got[name] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var problems []string
	for _, c := range RanksColumns {
		typ, ok := got[c[0]]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("missing column %s %s", c[0], c[1]))
		case typ != c[1]:
			problems = append(problems, fmt.Sprintf("column %s is %s, want %s", c[0], typ, c[1]))
		}
		delete(got, c[0])
	}
	for name, typ := range got {
		extra = append(extra, name+" "+typ)
	}
	if len(problems) > 0 {
		return extra, fmt.Errorf("%s: %s", path, strings.Join(problems, "; "))
	}
	return extra, nil
}

// Comparison is the outcome of comparing two rank relations entry by entry.
type Comparison struct {
	NameA, NameB string
	RowsA, RowsB int64    // row counts
	DupA, DupB   int64    // entry_ids that occur more than once
	Mismatches   int64    // entries missing on a side or differing in contest, points or rank
	Sample       []string // the first few differing rows, readable
	DupSample    []string // the first few duplicated entry_ids
}

// OK tells whether the two relations agree exactly.
func (c *Comparison) OK() bool {
	return c.RowsA == c.RowsB && c.DupA == 0 && c.DupB == 0 && c.Mismatches == 0
}

func (c *Comparison) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d rows, %s: %d rows", c.NameA, c.RowsA, c.NameB, c.RowsB)
	if c.DupA > 0 || c.DupB > 0 {
		fmt.Fprintf(&b, "; duplicated entry_ids: %s %d, %s %d", c.NameA, c.DupA, c.NameB, c.DupB)
		for _, s := range c.DupSample {
			b.WriteString("\n  dup " + s)
		}
	}
	fmt.Fprintf(&b, "; %d differing entries", c.Mismatches)
	if len(c.Sample) > 0 {
		fmt.Fprintf(&b, " (first %d):", len(c.Sample))
		for _, s := range c.Sample {
			b.WriteString("\n  " + s)
		}
	}
	return b.String()
}

// Compare compares two relations, each with columns contest_id, entry_id,
// points, rank, joined on entry_id. Points agree when they are equal as
// DECIMAL(20,3) (all correct team points are exact multiples of 0.005) and
// within 1e-9 as doubles. Relations are SQL text usable in FROM, e.g.
// "read_parquet('x.parquet')" or "(SELECT ...)".
func Compare(ctx context.Context, db *sql.DB, nameA, relA, nameB, relB string, sample int) (*Comparison, error) {
	c := &Comparison{NameA: nameA, NameB: nameB}
	for _, t := range []struct {
		name, rel string
	}{{"cmp_a", relA}, {"cmp_b", relB}} {
		if _, err := db.ExecContext(ctx, "CREATE OR REPLACE TABLE "+t.name+" AS SELECT contest_id, entry_id, points, rank FROM "+t.rel); err != nil {
			return nil, fmt.Errorf("load %s: %w", t.name, err)
		}
	}
	defer db.ExecContext(context.Background(), "DROP TABLE IF EXISTS cmp_a; DROP TABLE IF EXISTS cmp_b")

	q := `SELECT (SELECT count(*) FROM cmp_a), (SELECT count(*) FROM cmp_b),
	  (SELECT count(*) FROM (SELECT entry_id FROM cmp_a GROUP BY entry_id HAVING count(*) > 1)),
	  (SELECT count(*) FROM (SELECT entry_id FROM cmp_b GROUP BY entry_id HAVING count(*) > 1))`
	if err := db.QueryRowContext(ctx, q).Scan(&c.RowsA, &c.RowsB, &c.DupA, &c.DupB); err != nil {
		return nil, err
	}
	if c.DupA > 0 || c.DupB > 0 {
		rows, err := db.QueryContext(ctx, fmt.Sprintf(`
SELECT side, entry_id, n FROM (
  SELECT %s AS side, entry_id, count(*) AS n FROM cmp_a GROUP BY entry_id HAVING count(*) > 1
  UNION ALL
  SELECT %s AS side, entry_id, count(*) AS n FROM cmp_b GROUP BY entry_id HAVING count(*) > 1)
ORDER BY side, entry_id LIMIT %d`, Quote(nameA), Quote(nameB), sample))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var side string
			var id, n int64
			if err := rows.Scan(&side, &id, &n); err != nil {
				rows.Close()
				return nil, err
			}
			c.DupSample = append(c.DupSample, fmt.Sprintf("%s entry_id=%d occurs %d times", side, id, n))
		}
		rows.Close()
	}

	// A full outer join on entry_id; with duplicates the join fans out, which
	// only adds to the reported differences.
	diff := `
FROM cmp_a AS a FULL OUTER JOIN cmp_b AS b ON a.entry_id = b.entry_id
WHERE a.entry_id IS NULL OR b.entry_id IS NULL
   OR a.contest_id IS DISTINCT FROM b.contest_id
   OR a.rank IS DISTINCT FROM b.rank
   OR CAST(a.points AS DECIMAL(20,3)) IS DISTINCT FROM CAST(b.points AS DECIMAL(20,3))
   OR abs(CAST(a.points AS DOUBLE) - CAST(b.points AS DOUBLE)) > 1e-9`
	if err := db.QueryRowContext(ctx, "SELECT count(*) "+diff).Scan(&c.Mismatches); err != nil {
		return nil, err
	}
	if c.Mismatches > 0 {
		rows, err := db.QueryContext(ctx, `
SELECT coalesce(a.entry_id, b.entry_id),
       CAST(a.contest_id AS VARCHAR), CAST(a.points AS VARCHAR), CAST(a.rank AS VARCHAR),
       CAST(b.contest_id AS VARCHAR), CAST(b.points AS VARCHAR), CAST(b.rank AS VARCHAR)
`+diff+fmt.Sprintf(`
ORDER BY coalesce(a.contest_id, b.contest_id), coalesce(a.rank, b.rank), coalesce(a.entry_id, b.entry_id)
LIMIT %d`, sample))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var ac, ap, ar, bc, bp, br sql.NullString
			if err := rows.Scan(&id, &ac, &ap, &ar, &bc, &bp, &br); err != nil {
				return nil, err
			}
			c.Sample = append(c.Sample, fmt.Sprintf(
				"entry_id=%d  %s{contest=%s points=%s rank=%s}  %s{contest=%s points=%s rank=%s}",
				id, nameA, ns(ac), ns(ap), ns(ar), nameB, ns(bc), ns(bp), ns(br)))
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func ns(s sql.NullString) string {
	if !s.Valid {
		return "ABSENT"
	}
	return s.String
}
