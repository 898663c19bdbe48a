package bench

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/fantasy/leaderboard/engine"
)

// Result is what one benchmark run measured. It is printed as one line of JSON.
type Result struct {
	Entries             int                `json:"entries"`
	Contests            int                `json:"contests"`
	Teams               int                `json:"teams"`
	Workers             int                `json:"workers"`
	Cycles              int                `json:"cycles"`
	LoadSeconds         float64            `json:"load_s"`
	CycleMedian         float64            `json:"cycle_median_s"`
	CycleMin            float64            `json:"cycle_min_s"`
	CycleCPUMedian      float64            `json:"cycle_cpu_median_s"`
	StageMedian         map[string]float64 `json:"stage_median_s"`
	BaselineCycles      int                `json:"baseline_cycles"`
	BaselineMedian      float64            `json:"baseline_cycle_median_s"`
	Speedup             float64            `json:"speedup_vs_baseline"`
	RSSBytesPerEntry    float64            `json:"rss_bytes_per_entry"`
	HeapBytesPerEntry   float64            `json:"heap_bytes_per_entry"`
	ChangedEntriesLast  int                `json:"changed_entries_last"`
	ChangedPagesLast    int                `json:"changed_pages_last"`
	BaselineRanksAgreed bool               `json:"baseline_ranks_agreed"`
}

// Cycles runs k engine cycles alternating the snapshots and returns each cycle's wall
// time and its stage times. p must have been built with Config.Now set.
func Cycles(p *engine.Partition, snaps []*engine.Snapshot, k int, now func() time.Time) (total, cpu []float64, stages map[string][]float64, last engine.Stats) {
	stages = map[string][]float64{}
	for i := range k {
		t0, c0 := now(), CPUTime()
		last = p.Run(snaps[i%len(snaps)])
		total = append(total, now().Sub(t0).Seconds())
		cpu = append(cpu, CPUTime()-c0)
		for _, s := range last.Stages {
			stages[s.Name] = append(stages[s.Name], s.Duration.Seconds())
		}
	}
	return total, cpu, stages, last
}

// CPUTime is the process's user+system CPU seconds so far: less sensitive than wall time
// to other processes on a shared machine.
func CPUTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// Median of xs (xs is reordered).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// Baseline ranks every contest the naive way: each entry's points summed from its own
// lineup through a map, one sort.Slice per contest, contests spread over the workers.
// It returns each entry's rank, indexed like the partition's entries.
type Baseline struct {
	p    *engine.Partition
	rank []int32
}

// NewBaseline prepares a baseline over p's entries.
func NewBaseline(p *engine.Partition) *Baseline {
	return &Baseline{p: p, rank: make([]int32, p.NumEntries())}
}

type naiveRow struct {
	idx     int
	entryID int64
	points  int64 // units of 1/200 point
}

// Run ranks every entry against snap.
func (b *Baseline) Run(snap *engine.Snapshot, workers int) {
	pts := map[int32]int64{}
	for _, id := range b.p.Players() {
		pts[id] = snap.Centi(id)
	}
	var wg sync.WaitGroup
	nc := b.p.NumContests()
	for w := range workers {
		wg.Go(func() {
			var rows []naiveRow
			var lineup []int32
			for c := nc * w / workers; c < nc*(w+1)/workers; c++ {
				ct := b.p.Contest(c)
				rows = rows[:0]
				for i := ct.Start; i < ct.End; i++ {
					var players []int32
					var capt, vice int32
					players, capt, vice = b.p.Lineup(i, lineup[:0])
					lineup = players
					var sum int64
					for _, pl := range players {
						sum += 2 * pts[pl]
					}
					sum += 2*pts[capt] + pts[vice]
					rows = append(rows, naiveRow{i, b.p.EntryID(i), sum})
				}
				sort.Slice(rows, func(x, y int) bool {
					if rows[x].points != rows[y].points {
						return rows[x].points > rows[y].points
					}
					return rows[x].entryID < rows[y].entryID
				})
				for j, r := range rows {
					if j > 0 && r.points == rows[j-1].points {
						b.rank[r.idx] = b.rank[rows[j-1].idx]
					} else {
						b.rank[r.idx] = int32(j + 1)
					}
				}
			}
		})
	}
	wg.Wait()
}

// Agrees reports whether the baseline's ranks equal the partition's last cycle.
func (b *Baseline) Agrees() bool {
	var ranks []uint32
	for c := range b.p.NumContests() {
		ranks = b.p.Ranks(c, ranks[:0])
		for j, i := range b.p.Ordered(c) {
			if uint32(b.rank[i]) != ranks[j] {
				return false
			}
		}
	}
	return true
}

// RSS is the process's resident set size in bytes (Linux; 0 elsewhere).
func RSS() int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if f := bytes.Fields(sc.Bytes()); len(f) >= 2 && string(f[0]) == "VmRSS:" {
			kb, _ := strconv.ParseInt(string(f[1]), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// HeapInUse is the Go heap in use after a collection.
func HeapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}
