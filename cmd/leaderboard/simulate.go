package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/dataset"
	"github.com/fantasy/leaderboard/kafkasource"
)

// simulateConfig is what `simulate` (and `demo`) need to play a match into Kafka.
type simulateConfig struct {
	match   int64
	seed    int64
	players int
	speed   float64
	quiet   bool
}

func (c *simulateConfig) registerFlags(fs *flag.FlagSet) {
	fs.Int64Var(&c.match, "match", 1, "match id to publish for (the dataset's, see load --match)")
	fs.Int64Var(&c.seed, "seed", dataset.DefaultSeed, "the seed the dataset was generated with: the match's squad comes from it")
	fs.IntVar(&c.players, "players", dataset.DefaultPlayersPerMatch, "players in the match (as for gen)")
	fs.Float64Var(&c.speed, "speed", 1, "speed-up over real time, where a ball takes 30s (speed 30 = a ball a second)")
}

func (c *simulateConfig) validate() error {
	switch {
	case c.match <= 0:
		return fmt.Errorf("--match %d: must be > 0", c.match)
	case c.speed <= 0:
		return fmt.Errorf("--speed %v: must be > 0", c.speed)
	case c.players < 2:
		return fmt.Errorf("--players %d: must be >= 2", c.players)
	}
	return nil
}

func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	var kc kafkasource.Config
	kc.RegisterFlags(fs, "")
	var sc simulateConfig
	sc.registerFlags(fs)
	parts := registerPartitionsFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := kc.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := sc.validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := ensureTopics(ctx, kc, *parts); err != nil {
		return err
	}
	pub, err := kafkasource.NewPublisher(kc, slog.New(slog.NewTextHandler(stderr, nil)), prometheus.NewRegistry())
	if err != nil {
		return err
	}
	defer pub.Close()
	return simulate(ctx, pub, sc, stdout)
}

// simulate plays the match ball by ball: live, points totals after every ball (only the
// players whose points moved), completed. Commentary goes to out.
func simulate(ctx context.Context, pub *kafkasource.Publisher, c simulateConfig, out io.Writer) error {
	sim := dataset.NewSimulation(c.seed, c.players)
	ids := sim.Players()
	publishState := func(s kafkasource.MatchState) error {
		if err := pub.PublishMatch(ctx, kafkasource.MatchEvent{MatchID: c.match, State: s, TS: time.Now().UnixMilli()}); err != nil {
			return err
		}
		return pub.Flush(ctx)
	}
	if err := publishState("live"); err != nil {
		return err
	}
	// Every player starts at 0: publish it, so the match's points table is complete.
	var evs []kafkasource.PointsEvent
	for _, id := range ids {
		evs = append(evs, kafkasource.PointsEvent{MatchID: c.match, PlayerID: id, Centi: 0, TS: time.Now().UnixMilli()})
	}
	if err := pub.PublishPoints(ctx, evs); err != nil {
		return err
	}
	fmt.Fprintf(out, "match %d is live: %d players, a ball every %v\n", c.match, len(ids), time.Duration(float64(30*time.Second)/c.speed))
	last := make([]float64, len(ids))
	tick := time.NewTicker(time.Duration(float64(30*time.Second) / c.speed))
	defer tick.Stop()
	for {
		b, ok := sim.Next()
		if !ok {
			break
		}
		evs = evs[:0]
		ts := time.Now().UnixMilli()
		for k, p := range b.Points {
			if p != last[k] {
				evs = append(evs, kafkasource.PointsEvent{MatchID: c.match, PlayerID: ids[k], Centi: int64(math.Round(p * 100)), TS: ts})
				last[k] = p
			}
		}
		if err := pub.PublishPoints(ctx, evs); err != nil {
			return err
		}
		if err := pub.Flush(ctx); err != nil {
			return err
		}
		if !c.quiet {
			fmt.Fprintln(out, b)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	if err := publishState("completed"); err != nil {
		return err
	}
	fmt.Fprintf(out, "match %d completed\n", c.match)
	return nil
}
