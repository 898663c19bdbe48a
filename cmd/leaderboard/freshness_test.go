package main

import (
	"context"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
)

// BenchmarkFreshness measures how long a points event takes to show in the API: publish
// a new total for a player, poll GET /v1/matches/1 until the match's points show it. The
// budget is one cycle interval + 1 s; the figure is reported in seconds next to the
// interval (1 s here, so the budget is 2 s).
func BenchmarkFreshness(b *testing.B) {
	e := newE2E(b)
	e.cfg.worker.Interval = time.Second
	entries, pts := reference.Random(3, reference.Shape{Contests: reference.HeavyTail(3, 20_000), Players: 22, LineupSize: 11, Teams: 5000, PointValues: 100})
	for i := range entries {
		entries[i].ContestID = max(entries[i].ContestID, -entries[i].ContestID)
		entries[i].UserID++
	}
	ctx := context.Background()
	e.start()
	defer e.kill()
	e.pub.PublishMatch(ctx, kafkasource.MatchEvent{MatchID: 1, State: "live"})
	e.pub.PublishEntries(ctx, toEvents(entries))
	e.publishPoints(pts)
	e.caughtUp(len(entries), pts, "live")
	var player int32
	for id := range pts {
		player = id
		break
	}
	var worst time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pts[player] += 0.5
		start := time.Now()
		e.publishPoints(map[int32]float64{player: pts[player]})
		e.caughtUp(len(entries), map[int32]float64{player: pts[player]}, "live")
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/visible")
	b.ReportMetric(worst.Seconds(), "worst-s")
	b.ReportMetric(e.cfg.worker.Interval.Seconds(), "interval-s")
}
