package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/fantasy/leaderboard/dataset"
)

// cmdGen writes a synthetic dataset: entries.parquet, points.parquet, points2.parquet.
func cmdGen(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	var cfg dataset.GenConfig
	cfg.RegisterFlags(fs)
	out := fs.String("out", "", "dataset directory to write, created if missing (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.Entries <= 0 {
		return fmt.Errorf("%w: --entries is required and must be > 0", errUsage)
	}
	if *out == "" {
		return fmt.Errorf("%w: --out is required", errUsage)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("cannot create --out directory: %w", err)
	}

	update, finish := newProgress(stderr, "gen")
	start := time.Now()
	stats, err := dataset.GenerateWithStats(ctx, cfg, *out, update)
	finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "gen: %d entries, %d contests (largest %d), %d teams, %d users, %d players in %s -> %s\n",
		stats.Entries, stats.Contests, stats.LargestContest, stats.Teams, stats.Users, stats.Players,
		time.Since(start).Round(time.Millisecond), *out)
	return nil
}
