// Command duckrank times DuckDB against `leaderboard rank` on the same
// Parquet dataset (DESIGN.md interchange layout) and checks that both give
// the same answer.
//
//	duckrank --in DIR [--leaderboard BIN] [--runs K] [--threads T]
//
// (1) DuckDB does the whole batch job in SQL: read entries.parquet and
// points.parquet, compute team points in exact DECIMAL, rank() per contest,
// COPY the result to a Parquet file. (2) `leaderboard rank --in DIR --out
// FILE` runs end to end as a child process. Runs alternate, K of each; the
// output ends with one line of JSON.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	duckbench "github.com/fantasy/leaderboard/bench/duckdb"
)

func main() {
	in := flag.String("in", "", "dataset directory holding entries.parquet and points.parquet (required)")
	bin := flag.String("leaderboard", "", "leaderboard binary; empty: build ./cmd/leaderboard of the enclosing repository")
	runs := flag.Int("runs", 3, "timed runs of each side")
	threads := flag.Int("threads", 0, "DuckDB threads; 0: DuckDB's default (all cores)")
	outDir := flag.String("out", "", "directory for both ranks files; empty: a temporary directory, removed afterwards")
	query := flag.String("query", "team", "DuckDB query: 'entry' (team points per entry: unnest lineup, join points, group by entry) or 'team' (per distinct team_id, then join back to entries)")
	genEntries := flag.Int("gen", 0, "if > 0, first generate a dataset of this many entries into --in with DuckDB SQL (not the project's generator)")
	seed := flag.Int("seed", 7, "seed for --gen")
	flag.Parse()
	if *in == "" || *runs < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*in, *bin, *runs, *threads, *outDir, *query, *genEntries, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "duckrank:", err)
		os.Exit(1)
	}
}

func run(in, bin string, runs, threads int, outDir, query string, genEntries, seed int) error {
	ctx := context.Background()
	entries := filepath.Join(in, "entries.parquet")
	points := filepath.Join(in, "points.parquet")

	if outDir == "" {
		d, err := os.MkdirTemp("", "duckrank-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		outDir = d
	} else if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}

	db, err := duckbench.Open(threads)
	if err != nil {
		return err
	}
	defer db.Close()

	if genEntries > 0 {
		if err := os.MkdirAll(in, 0o755); err != nil {
			return err
		}
		s := GenShape(genEntries, seed)
		t := time.Now()
		if err := duckbench.Generate(ctx, db, s, in); err != nil {
			return err
		}
		fmt.Printf("generated %s with DuckDB SQL in %.2fs\n", in, time.Since(t).Seconds())
	}

	var version string
	if err := db.QueryRow("SELECT version()").Scan(&version); err != nil {
		return err
	}
	nthreads, err := duckbench.Threads(db)
	if err != nil {
		return err
	}
	stats, err := duckbench.DatasetStats(ctx, db, in)
	if err != nil {
		return fmt.Errorf("read dataset %s: %w", in, err)
	}
	var nEntries int64
	if err := db.QueryRow("SELECT count(*) FROM read_parquet(" + duckbench.Quote(entries) + ")").Scan(&nEntries); err != nil {
		return err
	}

	if bin == "" {
		root, err := duckbench.FindRepoRoot(".")
		if err != nil {
			return fmt.Errorf("%w (pass --leaderboard BIN)", err)
		}
		t := time.Now()
		bin, err = duckbench.BuildLeaderboard(ctx, root, outDir)
		if err != nil {
			return err
		}
		fmt.Printf("built %s in %.1fs\n", bin, time.Since(t).Seconds())
	}

	duckSQL, err := rankSQL(query, entries, points)
	if err != nil {
		return err
	}
	duckOut := filepath.Join(outDir, "ranks-duckdb.parquet")
	oursOut := filepath.Join(outDir, "ranks-leaderboard.parquet")
	copySQL := "COPY (" + duckSQL + ") TO " + duckbench.Quote(duckOut) + " (FORMAT parquet)"

	fmt.Printf("dataset: %s: %s\n", in, stats)
	threadNote := "DuckDB default: all cores"
	if threads > 0 {
		threadNote = "set by --threads"
	}
	fmt.Printf("machine: %d CPUs (runtime.NumCPU)\n", runtime.NumCPU())
	fmt.Printf("duckdb:  %s, %d threads (%s), default memory limit, in-memory database opened fresh per run, query %q\n",
		version, nthreads, threadNote, query)
	fmt.Printf("ours:    %s rank --in %s --out FILE (process end to end)\n", bin, in)
	fmt.Printf("runs:    %d of each, alternating\n\n", runs)

	var duckTimes, oursTimes []float64
	for i := 1; i <= runs; i++ {
		d, err := timeDuck(ctx, threads, copySQL, duckOut)
		if err != nil {
			return fmt.Errorf("duckdb run %d: %w", i, err)
		}
		duckTimes = append(duckTimes, d)
		fmt.Printf("run %d  duckdb      %8.3fs\n", i, d)

		o, out, err := timeOurs(ctx, bin, in, oursOut)
		if err != nil {
			return fmt.Errorf("leaderboard run %d: %w\n%s", i, err, out)
		}
		oursTimes = append(oursTimes, o)
		fmt.Printf("run %d  leaderboard %8.3fs\n", i, o)
		if i == 1 && strings.TrimSpace(out) != "" {
			fmt.Println(indent(out, 20))
		}
	}

	dm, om := median(duckTimes), median(oursTimes)
	speedup := dm / om
	fmt.Printf("\nmedian  duckdb      %8.3fs\n", dm)
	fmt.Printf("median  leaderboard %8.3fs\n", om)
	fmt.Printf("ratio   duckdb/leaderboard = %.2fx\n", speedup)

	cmp, err := duckbench.Compare(ctx, db, "duckdb", "read_parquet("+duckbench.Quote(duckOut)+")",
		"leaderboard", "read_parquet("+duckbench.Quote(oursOut)+")", 10)
	if err != nil {
		return fmt.Errorf("compare outputs: %w", err)
	}
	matched := cmp.OK()
	if matched {
		fmt.Printf("outputs match: %d entries, same rank and points\n", cmp.RowsA)
	} else {
		fmt.Printf("outputs DIFFER: %s\n", cmp)
	}

	line, err := json.Marshal(struct {
		Entries            int64   `json:"entries"`
		DuckDBMedianS      float64 `json:"duckdb_median_s"`
		LeaderboardMedianS float64 `json:"leaderboard_median_s"`
		Speedup            float64 `json:"speedup"`
		DuckDBThreads      int     `json:"duckdb_threads"`
		DuckDBQuery        string  `json:"duckdb_query"`
		OutputsMatch       bool    `json:"outputs_match"`
	}{nEntries, round(dm), round(om), round(speedup), nthreads, query, matched})
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	if !matched {
		return errors.New("duckdb and leaderboard outputs differ")
	}
	return nil
}

// rankSQL is the whole batch job as one DuckDB query (duckbench.RankJobSQL).
func rankSQL(variant, entries, points string) (string, error) {
	return duckbench.RankJobSQL(variant, entries, points)
}

// timeDuck opens a fresh in-memory DuckDB, runs the COPY and closes it.
func timeDuck(ctx context.Context, threads int, copySQL, out string) (float64, error) {
	os.Remove(out)
	start := time.Now()
	db, err := duckbench.Open(threads)
	if err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, copySQL); err != nil {
		db.Close()
		return 0, err
	}
	if err := db.Close(); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}

func timeOurs(ctx context.Context, bin, in, out string) (float64, string, error) {
	os.Remove(out)
	cmd := duckbench.RankCommand(ctx, bin, in, out)
	start := time.Now()
	b, err := cmd.CombinedOutput()
	d := time.Since(start).Seconds()
	if err == nil {
		if _, serr := os.Stat(out); serr != nil {
			err = fmt.Errorf("no output file: %w", serr)
		}
	}
	return d, string(b), err
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func round(x float64) float64 {
	return float64(int64(x*10000+0.5)) / 10000
}

func indent(s string, maxLines int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		// Keep what a terminal would show of progress bars redrawn with \r.
		l = strings.TrimRight(l, " \r")
		if j := strings.LastIndexByte(l, '\r'); j >= 0 {
			l = l[j+1:]
		}
		lines[i] = strings.TrimRight(l, " ")
	}
	if len(lines) > maxLines {
		lines = append(lines[:maxLines], fmt.Sprintf("... (%d more lines)", len(lines)-maxLines))
	}
	return "        | " + strings.Join(lines, "\n        | ")
}

// GenShape is the dataset --gen makes: cricket lineups of 11 from a 30-player
// match, heavy-tailed contests with a mega contest of 10% of the entries.
func GenShape(entries, seed int) duckbench.Shape {
	teams := entries / 20
	if teams < 10 {
		teams = 10
	}
	ones := entries / 1000
	return duckbench.Shape{
		Name: fmt.Sprintf("gen-%d", entries), Seed: seed, Entries: entries, Lineup: 11, Pool: 30,
		Teams: teams, CoveragePct: 90, ExtraPoints: 3, OneEntryContests: ones, BigContest: entries / 10,
	}
}
