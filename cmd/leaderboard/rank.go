package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/fantasy/leaderboard/batch"
	"github.com/fantasy/leaderboard/engine"
)

func cmdRank(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("rank", flag.ContinueOnError)
	in := fs.String("in", "", "dataset directory holding entries.parquet (and points.parquet)")
	points := fs.String("points", "", "points file (default: <in>/points.parquet)")
	out := fs.String("out", "", "ranks.parquet to write")
	lineup := fs.Int("lineup-size", 0, "players per lineup (0 = the first entry's)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	cfg := engine.DefaultConfig()
	cfg.RegisterFlags(fs, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *in == "":
		return fmt.Errorf("%w: --in is required", errUsage)
	case *out == "":
		return fmt.Errorf("%w: --out is required", errUsage)
	case *lineup < 0 || *lineup > engine.MaxLineupSize:
		return fmt.Errorf("%w: --lineup-size %d: must be in [0, %d]", errUsage, *lineup, engine.MaxLineupSize)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *points == "" {
		*points = filepath.Join(*in, batch.PointsFile)
	}
	if dir := filepath.Dir(*out); dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("cannot write %s: directory %s does not exist", *out, dir)
		}
	}
	cfg.Now = time.Now
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	start := time.Now()

	snap, err := batch.Snapshot(*points)
	if err != nil {
		return err
	}
	update, finish := newProgress(stderr, "load")
	p, err := batch.Load(ctx, *in, *lineup, cfg, update)
	finish()
	if err != nil {
		return err
	}
	loaded := time.Now()
	fmt.Fprintf(stderr, "loaded %d entries, %d contests, %d teams in %.2fs\n", p.NumEntries(), p.NumContests(), p.NumTeams(), loaded.Sub(start).Seconds())

	st := p.Run(snap)
	ranked := time.Now()
	fmt.Fprintf(stderr, "ranked in %.3fs:", ranked.Sub(loaded).Seconds())
	for _, s := range st.Stages {
		fmt.Fprintf(stderr, " %s %.3fs", s.Name, s.Duration.Seconds())
	}
	fmt.Fprintln(stderr)

	update, finish = newProgress(stderr, "write")
	err = batch.WriteRanks(ctx, p, *out, update)
	finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s in %.2fs; total %.2fs\n", *out, time.Since(ranked).Seconds(), time.Since(start).Seconds())
	return nil
}
