package node

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/kafkatest"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/membership"
	"github.com/fantasy/leaderboard/worker"
)

// benchEntries is the size of the cluster benchmarks' dataset (LB_BENCH_ENTRIES
// overrides it): a match-day shape (one mega contest, a few large, many small), one team
// per two entries, rows in random (join) order.
var benchEntries = 120_000

func benchData() ([]engine.Entry, map[int32]float64) {
	if n, err := strconv.Atoi(os.Getenv("LB_BENCH_ENTRIES")); err == nil && n > 0 {
		benchEntries = n
	}
	entries, pts := reference.Random(5, reference.Shape{Contests: reference.HeavyTail(5, benchEntries), Players: 22, LineupSize: 11,
		Teams: benchEntries / 2, PointValues: 40, Shuffle: true})
	return slices.DeleteFunc(entries, func(e engine.Entry) bool {
		return e.ContestID <= 0 || e.EntryID <= 0 || e.UserID <= 0 || e.TeamID <= 0
	}), pts
}

// defaultGossip is the process defaults' failure detection (docs/CLUSTER.md), on
// loopback: what a SIGKILL's detection costs in production.
func defaultGossip(name string, join []string) membership.Config {
	var c membership.Config
	c.RegisterFlags(flagSet(), "")
	c.NodeName, c.Bind, c.Join = name, "127.0.0.1:0", join
	return c
}

// BenchmarkTakeover measures, with the default gossip settings, the time from a worker's
// death (gossip silent, no leave: a SIGKILL) to every contest ranked again with points
// published after it, split into detection (kill -> the coordinator publishes the
// takeover table), replay (-> the new owners caught up on the dead worker's partitions)
// and build and first cycle (-> every contest shows the new points). Three workers,
// benchEntries entries, 8 partitions, the embedded broker, a 1 s cycle.
//
//	go test -run XXX -bench Takeover -benchtime 3x ./node
func BenchmarkTakeover(b *testing.B) {
	var detect, replay, total []float64
	for range b.N {
		c, entries, pts := benchCluster(b, 3)
		victim := "worker-2"
		gone := c.co.C.Assignment().Writes(victim)
		c.workers[victim].Kill()
		delete(c.workers, victim)
		killed := time.Now()
		c.setPoints(reference.Bump(pts, 1))
		for slices.Contains(c.co.C.Assignment().Writer, victim) {
			time.Sleep(10 * time.Millisecond)
		}
		detected := time.Now()
		a := c.co.C.Assignment()
		for {
			done := true
			for _, p := range gone {
				if up, ok := c.workers[a.Writer[p]].W.Partitions()[p]; !ok || !up {
					done = false
				}
			}
			if done {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		replayed := time.Now()
		c.entries = entries
		c.ranked("takeover", 60*time.Second)
		detect = append(detect, detected.Sub(killed).Seconds())
		replay = append(replay, replayed.Sub(detected).Seconds())
		total = append(total, time.Since(killed).Seconds())
		c.close()
	}
	b.ReportMetric(median(detect), "detect-s")
	b.ReportMetric(median(replay), "replay-s")
	b.ReportMetric(median(total)-median(detect)-median(replay), "build+cycle-s")
	b.ReportMetric(median(total), "kill-to-ranked-s")
}

// BenchmarkHandover measures the make-before-break hand-over of the partitions a fourth
// worker takes when it joins three: from the join to the last of its partitions written
// by it (the coordinator's table names it writer), and per partition.
//
//	go test -run XXX -bench Handover -benchtime 3x ./node
func BenchmarkHandover(b *testing.B) {
	var whole, per []float64
	for range b.N {
		c, _, _ := benchCluster(b, 3)
		joined := time.Now()
		c.addWorker("worker-4")
		var n int
		for {
			a := c.co.C.Assignment()
			n = len(a.Writes("worker-4"))
			if n > 0 && len(a.Loads("worker-4")) == 0 && !slices.Contains(a.Loading, "worker-4") {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		d := time.Since(joined).Seconds()
		whole = append(whole, d)
		per = append(per, d/float64(n))
		c.close()
	}
	b.ReportMetric(median(whole), "join-to-written-s")
	b.ReportMetric(median(per), "s/partition")
}

// BenchmarkClusterScale measures, with 1, 2 and 4 workers in one process (2 cores
// here: more workers share the same cores), the time from the workers' start (the
// entries already in Kafka) to every contest ranked (gossip join, assignment, replay,
// build, first cycle: the cold start and its ingest rate) and the steady cycle time (each
// cycle's slowest worker, from the coordinator's status, cycles every partition reported).
//
//	go test -run XXX -bench ClusterScale -benchtime 1x ./node
func BenchmarkClusterScale(b *testing.B) {
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			var ingest, cycle []float64
			for range b.N {
				c, _, _ := benchCluster(b, n)
				ingest = append(ingest, c.startToRanked.Seconds())
				time.Sleep(5 * time.Second) // steady cycles
				st := c.co.C.Status()
				for _, cs := range st.Cycles {
					for _, s := range cs.Stages {
						if s.Stage == "cycle" && cs.Reports == st.Partitions {
							cycle = append(cycle, s.Seconds)
						}
					}
				}
				c.close()
			}
			b.ReportMetric(median(ingest), "start-to-ranked-s")
			b.ReportMetric(float64(benchEntries)/median(ingest), "entries/s")
			b.ReportMetric(median(cycle), "cycle-s")
		})
	}
}

// benchCluster starts a coordinator and n workers over one published dataset and waits
// until every contest is ranked.
func benchCluster(b *testing.B, n int) (*cluster, []engine.Entry, map[int32]float64) {
	b.Helper()
	b.StopTimer()
	brokers := kafkatest.Brokers(b)
	c := startCluster(b, brokers[0], clusterOpts{gossip: defaultGossip, interval: time.Second, groupEntries: worker.DefaultConfig().GroupEntries})
	entries, pts := benchData()
	c.publish(entries, pts, true)
	start := time.Now()
	for i := range n {
		c.addWorker(fmt.Sprintf("worker-%d", i+1))
	}
	c.ranked("start", 120*time.Second)
	c.startToRanked = time.Since(start)
	b.StartTimer()
	return c, entries, pts
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	return s[len(s)/2]
}
