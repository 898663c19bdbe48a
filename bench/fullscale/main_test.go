package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseCycle(t *testing.T) {
	line := `time=2026-12-01T09:21:52.018Z level=DEBUG msg=cycle match=1 cycle=2 entries=50000 groups=16 rebuilt=0 written=2087 fold=378ns took=14.228831ms`
	cl, ok := parseCycle(line)
	if !ok || cl.At.Format(time.RFC3339Nano) != "2026-12-01T09:21:52.018Z" || cl.Cycle != 2 || cl.Entries != 50000 || cl.Written != 2087 || cl.TookMS != 14.228831 || cl.DurationsMS["fold"] != 0.000378 || len(cl.DurationsMS) != 2 {
		t.Fatalf("parseCycle = %+v, %v", cl, ok)
	}
	if cl.Rebuilt != 0 || cl.Changed != 0 || !cl.idle() {
		t.Fatalf("an idle cycle's line read as %+v", cl)
	}
	late := `time=2026-12-01T09:21:54.018Z level=DEBUG msg=cycle match=1 cycle=3 entries=50001 groups=16 rebuilt=1 changed_entries=412 changed_pages=3 written=431 fold=9.5ms took=31.25ms`
	cl, ok = parseCycle(late)
	if !ok || cl.Rebuilt != 1 || cl.Changed != 412 || cl.Written != 431 || cl.TookMS != 31.25 || cl.DurationsMS["fold"] != 9.5 || cl.idle() {
		t.Fatalf("parseCycle(late) = %+v, %v", cl, ok)
	}
	if _, ok := parseCycle(`time=x level=INFO msg="node started" took=1s`); ok {
		t.Fatal("a line that is not a cycle's was taken for one")
	}
}

func TestMetrics(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(`# HELP x y
leaderboard_worker_partitions_replaying 0
leaderboard_worker_cycle_stage_seconds_bucket{stage="sort",le="0.001"} 3
leaderboard_worker_cycle_stage_seconds_sum{stage="sort"} 0.5
leaderboard_worker_cycle_stage_seconds_count{stage="sort"} 4
leaderboard_worker_cycle_stage_seconds_sum{stage="team points"} 0.2
leaderboard_worker_cycle_stage_seconds_count{stage="team points"} 2
leaderboard_worker_records_written_total{namespace="live",set="page"} 10
leaderboard_worker_records_written_total{namespace="complete",set="page"} 5
`))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := m.get("leaderboard_worker_partitions_replaying", ""); !ok || v != 0 {
		t.Fatalf("replaying = %v %v", v, ok)
	}
	if got := m.stageMeans("leaderboard_worker_cycle_stage_seconds", "stage"); got["sort"] != 125 || got["team points"] != 100 || len(got) != 2 {
		t.Fatalf("stage means %v", got)
	}
	if got := m.sumBy("leaderboard_worker_records_written_total", "set"); got["page"] != 15 {
		t.Fatalf("records by set %v", got)
	}
}

func TestSummarize(t *testing.T) {
	s := summarize([]float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10})
	if s.N != 10 || s.Median != 5 || s.P90 != 9 || s.Max != 10 {
		t.Fatalf("%+v", s)
	}
	if summarize(nil) != (summary{}) {
		t.Fatal("empty summary")
	}
}

// cpuOf reads this process's own CPU time, which grows as it works.
func TestCPUOf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc: cpuOf reads Linux's /proc/PID/stat")
	}
	before := cpuOf(os.Getpid())
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
	}
	after := cpuOf(os.Getpid())
	if after-before < 0.1 {
		t.Errorf("CPU seconds %.2f then %.2f after 0.3 s of spinning: want at least 0.1 more", before, after)
	}
	if cpuOf(0) != 0 {
		t.Error("cpuOf(0) is not 0")
	}
}
