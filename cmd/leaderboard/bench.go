package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/fantasy/leaderboard/batch"
	"github.com/fantasy/leaderboard/bench"
	"github.com/fantasy/leaderboard/engine"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	in := fs.String("in", "", "dataset directory (entries.parquet, points.parquet, points2.parquet)")
	cycles := fs.Int("cycles", 10, "engine cycles to time, alternating points.parquet and points2.parquet")
	baseCycles := fs.Int("baseline-cycles", 3, "naive baseline cycles to time (0 = skip)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed engine cycles to this file")
	cfg := engine.DefaultConfig()
	cfg.RegisterFlags(fs, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *in == "":
		return fmt.Errorf("%w: --in is required", errUsage)
	case *cycles < 1:
		return fmt.Errorf("%w: --cycles %d: must be >= 1", errUsage, *cycles)
	case *baseCycles < 0:
		return fmt.Errorf("%w: --baseline-cycles %d: must be >= 0", errUsage, *baseCycles)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg.Now = time.Now
	var snaps []*engine.Snapshot
	for _, f := range []string{batch.PointsFile, "points2.parquet"} {
		s, err := batch.Snapshot(filepath.Join(*in, f))
		if err != nil {
			return err
		}
		snaps = append(snaps, s)
	}
	heap0, rss0 := bench.HeapInUse(), bench.RSS()
	start := time.Now()
	update, finish := newProgress(stderr, "load")
	p, err := batch.Load(ctx, *in, 0, cfg, update)
	finish()
	if err != nil {
		return err
	}
	res := bench.Result{Entries: p.NumEntries(), Contests: p.NumContests(), Teams: p.NumTeams(), Cycles: *cycles, BaselineCycles: *baseCycles}
	res.LoadSeconds = time.Since(start).Seconds()
	res.Workers = cfg.Workers
	fmt.Fprintf(stderr, "loaded %d entries, %d contests, %d teams in %.2fs\n", res.Entries, res.Contests, res.Teams, res.LoadSeconds)

	p.Run(snaps[1]) // warm-up: sizes buffers, so the timed cycles all change every team
	debug.FreeOSMemory()
	res.RSSBytesPerEntry = float64(bench.RSS()-rss0) / float64(res.Entries)
	res.HeapBytesPerEntry = float64(bench.HeapInUse()-heap0) / float64(res.Entries)

	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	total, cpu, stages, last := bench.Cycles(p, snaps, *cycles, time.Now)
	stopProfile()
	res.CycleMin = slices.Min(total)
	res.CycleMedian = bench.Median(total)
	res.CycleCPUMedian = bench.Median(cpu)
	res.StageMedian = map[string]float64{}
	for name, xs := range stages {
		res.StageMedian[name] = bench.Median(xs)
	}
	res.ChangedEntriesLast, res.ChangedPagesLast = last.ChangedEntries, last.ChangedPages

	if *baseCycles > 0 {
		b := bench.NewBaseline(p)
		workers := cfg.Workers
		if workers == 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		var bt []float64
		for i := range *baseCycles {
			if err := ctx.Err(); err != nil {
				return err
			}
			t0 := time.Now()
			b.Run(snaps[i%2], workers)
			bt = append(bt, time.Since(t0).Seconds())
		}
		p.Run(snaps[(*baseCycles-1)%2]) // untimed: the engine on the baseline's last snapshot
		res.BaselineRanksAgreed = b.Agrees()
		res.BaselineMedian = bench.Median(bt)
		res.Speedup = res.BaselineMedian / res.CycleMedian
	}

	fmt.Fprintf(stderr, "\n%-22s %12s\n", "stage", "median")
	for _, name := range []string{engine.StageTeamPoints, engine.StageRank, engine.StageChanges} {
		fmt.Fprintf(stderr, "%-22s %10.1fms\n", name, res.StageMedian[name]*1e3)
	}
	fmt.Fprintf(stderr, "%-22s %10.1fms  (min %.1fms, %d cycles, %.0f entries/s; CPU %.1fms a cycle)\n", "cycle", res.CycleMedian*1e3, res.CycleMin*1e3, *cycles, float64(res.Entries)/res.CycleMedian, res.CycleCPUMedian*1e3)
	if *baseCycles > 0 {
		fmt.Fprintf(stderr, "%-22s %10.1fms  (%d cycles; engine is %.1fx faster; ranks agree: %v)\n", "naive baseline cycle", res.BaselineMedian*1e3, *baseCycles, res.Speedup, res.BaselineRanksAgreed)
	}
	fmt.Fprintf(stderr, "%-22s %10.1f bytes/entry RSS, %.1f bytes/entry Go heap\n", "memory", res.RSSBytesPerEntry, res.HeapBytesPerEntry)
	if *baseCycles > 0 && !res.BaselineRanksAgreed {
		return fmt.Errorf("the naive baseline and the engine disagree on ranks: this is a bug")
	}
	line, _ := json.Marshal(res)
	fmt.Fprintln(stdout, string(line))
	return nil
}
