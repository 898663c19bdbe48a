package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	duckbench "github.com/fantasy/leaderboard/bench/duckdb"
)

// TestMain lets the test binary stand in for rankcompare's DuckDB child process.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "--duckdb-child" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestCompareTools runs the harness for one round on a small dataset with ties and
// negative points (made by DuckDB SQL, not our generator): `leaderboard rank`, DuckDB
// and, where installed, Polars must all give the same ranks, or run returns an error.
func TestCompareTools(t *testing.T) {
	ctx := context.Background()
	root, err := duckbench.FindRepoRoot("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := os.Getenv("LEADERBOARD_BIN")
	if bin == "" {
		bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		bin, err = duckbench.BuildLeaderboard(bctx, root, t.TempDir())
		cancel()
		if errors.Is(err, duckbench.ErrNoLeaderboardPackage) {
			t.Skipf("cmd/leaderboard does not exist: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	db, err := duckbench.Open(0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := t.TempDir()
	shape := duckbench.Shape{Name: "ties-20k", Seed: 3, Entries: 20_000, Lineup: 11, Pool: 22, Teams: 400,
		CoveragePct: 70, OneEntryContests: 50, BigContest: 8000,
		PointValues: []string{"0", "1", "-1", "0.5", "-0.75", "0.01", "12.25"}}
	if err := duckbench.Generate(ctx, db, shape, dir); err != nil {
		t.Fatal(err)
	}
	tools := []string{"leaderboard", "duckdb", "polars"}
	if msg := pythonMissing(ctx, defaultPython(), "polars"); msg != "" {
		t.Logf("polars not compared: %s", msg)
	}
	if err := run(dir, bin, 1, tools, "", filepath.Join(root, "bench", "compare"), 2, t.TempDir()); err != nil {
		t.Fatal(err)
	}
}
