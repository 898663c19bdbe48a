// Command fullscale runs the whole single-node system at a chosen scale and reports what
// an operator would measure: it generates a dataset, starts the development broker (or
// uses a Kafka broker given), loads the entries through it, makes the match live, starts
// a cold `standalone` node, probes it once it serves exact standings (--probes: points
// freshness and late entries, probes.go), plays the match (simulate) after that, and
// follows the node until the match's final standings are served. bench/fullscale.sh builds the binary and calls it; see
// docs/PERFORMANCE.md, "Full-scale run".
//
// It reports, on stderr as it goes and as one JSON line on stdout at the end: the time
// of every stage, the replay rate, the time from the node's start to exact standings
// served, each cycle's duration and records written (from the node's -v log), mean time
// per cycle stage (from its metrics), and the node's resident memory over time (sampled
// from /proc every --rss-every) with bytes per entry.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fantasy/leaderboard/kafkasource"
)

type config struct {
	bin        string
	work       string
	entries    int64
	contests   int64
	seed       int64
	partitions int
	interval   time.Duration
	speed      float64
	kafka      string
	rssEvery   time.Duration
	timeout    time.Duration
	keep       bool
	maxRSS     int64
	cpuProf    time.Duration // CPU profile of the node from its start (replay, first cycle)
	// probes: freshness and late-entry probes, each run this many times once the node
	// serves exact standings, before the match is played (0: none; probes.go).
	probes       int
	probeContest int64 // the late entries' contest: the one of the size closest to this
	// noMatch: stop one interval after the node serves exact standings (and the probes
	// ran): no match is played (a replay and cold-start measurement in a minute less).
	noMatch bool
	// order and teams: the dataset's shape (gen's --order and --teams-per-entry): "join"
	// and 1 make a match day's stream, contests interleaved and about one distinct team
	// per two entries.
	order string
	teams float64
	// restart: after the run, stop the node cleanly and start it again on its data dir,
	// and time that restart to ready and to its first full cycle.
	restart bool
	// nodeFlags: --node-flag's, passed to the node as they are.
	nodeFlags []string
}

func main() {
	var c config
	fs := flag.NewFlagSet("fullscale", flag.ExitOnError)
	fs.StringVar(&c.bin, "bin", "", "the leaderboard binary (required; bench/fullscale.sh builds it)")
	fs.StringVar(&c.work, "work", "", "work directory: dataset, logs, store (default: a new temporary directory); a dataset of the same flags already there is reused")
	fs.Int64Var(&c.entries, "entries", 56_000_000, "entries to generate")
	fs.Int64Var(&c.contests, "contests", 0, "contests to generate (0: entries/28, the card's 56M/2M)")
	fs.Int64Var(&c.seed, "seed", 7, "dataset and match seed")
	fs.IntVar(&c.partitions, "partitions", 16, "partitions of the entries topic")
	fs.DurationVar(&c.interval, "interval", 2*time.Second, "the node's cycle interval")
	fs.Float64Var(&c.speed, "speed", 60, "match speed-up (a ball takes 30 s / speed); a T20 has about 250 balls")
	fs.StringVar(&c.kafka, "kafka", "", "a Kafka broker to use (host:port) instead of starting the development broker; its topics must not hold another run's records")
	fs.DurationVar(&c.rssEvery, "rss-every", 500*time.Millisecond, "how often to sample the node's resident memory")
	fs.DurationVar(&c.timeout, "timeout", 4*time.Hour, "give up after this long")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (always kept when --work is given)")
	fs.Int64Var(&c.maxRSS, "max-rss", 0, "stop the run when the node's resident memory exceeds this many bytes (0: no limit), e.g. on a shared machine")
	fs.DurationVar(&c.cpuProf, "cpu-profile", 0, "take a CPU profile of the node this long from its start (the replay and first cycle) into WORK/cpu-start.pb.gz (--no-match waits for it before stopping the node); 0: none")
	fs.IntVar(&c.probes, "probes", 10, "once the node serves exact standings, and before the match is played: this many freshness probes (a points event published -> visible in the API), then this many late entries (what one new entry adds to its cycle); 0: none, the match starts as soon as the node holds every entry")
	fs.Int64Var(&c.probeContest, "probe-contest-entries", 1000, "the probes use the contest whose size is closest to this many entries")
	fs.BoolVar(&c.noMatch, "no-match", false, "stop one interval after the node serves exact standings (after the probes): the match is not played, so final_standings_s and the live cycles are not measured")
	fs.StringVar(&c.order, "order", "contest", "the dataset's row order (gen --order): contest (rows grouped by contest) or join (by entry id, contests interleaved: a match day's stream)")
	fs.Float64Var(&c.teams, "teams-per-entry", 0.2, "teams in the pool entries draw from, per entry (gen --teams-per-entry; 1 gives about one distinct team per two entries, a match day's worst case)")
	fs.Func("node-flag", "a flag passed to the node (standalone) as is, e.g. --node-flag=--gc-percent=25; repeat it for several", func(v string) error {
		if !strings.HasPrefix(v, "-") {
			return fmt.Errorf("%q is not a flag: give it with its dashes, e.g. --node-flag=--gc-percent=25", v)
		}
		c.nodeFlags = append(c.nodeFlags, v)
		return nil
	})
	fs.BoolVar(&c.restart, "restart", false, "after the run, stop the node cleanly (it saves its live namespace) and start it again on the same data dir: time to ready, to answers, and to its first full cycle")
	fs.Parse(os.Args[1:])
	if err := c.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "fullscale:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	rep, err := run(ctx, c)
	if rep != nil {
		json.NewEncoder(os.Stdout).Encode(rep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fullscale:", err)
		os.Exit(1)
	}
}

func (c *config) validate() error {
	switch {
	case c.bin == "":
		return errors.New("--bin is required")
	case c.entries < 2:
		return fmt.Errorf("--entries %d: want at least 2", c.entries)
	case c.contests < 0 || c.contests > c.entries:
		return fmt.Errorf("--contests %d: want 0..entries", c.contests)
	case c.partitions < 1:
		return fmt.Errorf("--partitions %d: want at least 1", c.partitions)
	case c.interval <= 0 || c.speed <= 0 || c.rssEvery <= 0:
		return errors.New("--interval, --speed and --rss-every must be > 0")
	case c.probes < 0:
		return fmt.Errorf("--probes %d: want 0 or more", c.probes)
	case c.probeContest < 1:
		return fmt.Errorf("--probe-contest-entries %d: want at least 1", c.probeContest)
	case c.order != "contest" && c.order != "join":
		return fmt.Errorf("--order %q: want contest or join", c.order)
	case !(c.teams > 0):
		return fmt.Errorf("--teams-per-entry %v: want > 0", c.teams)
	}
	if c.contests == 0 {
		c.contests = max(1, c.entries/28)
	}
	if _, err := os.Stat(c.bin); err != nil {
		return fmt.Errorf("--bin: %w", err)
	}
	return nil
}

// report is the JSON line; durations in seconds, memory in bytes.
type report struct {
	Entries    int64   `json:"entries"`
	Contests   int64   `json:"contests"`
	Partitions int     `json:"partitions"`
	CPUs       int     `json:"cpus"`
	Broker     string  `json:"broker"`
	Interval   float64 `json:"interval_s"`

	GenS     float64 `json:"gen_s"`
	LoadS    float64 `json:"load_s"`
	LoadRate float64 `json:"load_entries_per_s"`
	ReplayS  float64 `json:"replay_s"`             // node start → every partition caught up
	Replay   float64 `json:"replay_entries_per_s"` // entries / ReplayS
	// CPU seconds (user + system, from /proc) the node and the development broker spent
	// from the node's start until every partition caught up: what the replay costs,
	// steadier than its wall time on a shared machine.
	ReplayNodeCPU   float64 `json:"replay_node_cpu_s,omitempty"`
	ReplayBrokerCPU float64 `json:"replay_broker_cpu_s,omitempty"`
	ReadyS          float64 `json:"ready_s"` // node start → /readyz 200
	// ReadyNodeCPU: the node's CPU seconds from its start to /readyz 200 (the replay and
	// the first cycles): the cold start's cost, steadier than its wall time on a shared
	// machine.
	ReadyNodeCPU float64 `json:"ready_node_cpu_s,omitempty"`
	MatchAllS    float64 `json:"api_match_all_entries_s"` // node start → the API's match record counts every entry (not yet ranked)
	StandingS    float64 `json:"first_standings_s"`       // node start → the first cycle over every entry has written its records
	FinalS       float64 `json:"final_standings_s"`       // match completed → API shows it completed

	Cycles        int                `json:"cycles"`
	PartialCycles int                `json:"cycles_before_first_full"` // cycle lines over fewer entries (replaying)
	FirstCycle    *cycleLine         `json:"first_full_cycle,omitempty"`
	CycleMS       summary            `json:"cycle_ms"` // every cycle after the first full one
	WrittenCycle  summary            `json:"records_written_per_cycle"`
	StageMS       map[string]summary `json:"cycle_stage_ms"` // every duration of the cycle log lines after the first full one
	StageMeanMS   map[string]float64 `json:"stage_mean_ms"`  // from leaderboard_worker_cycle_stage_seconds
	RecordsByKind map[string]float64 `json:"records_written_total"`

	RSSPeak        int64   `json:"rss_peak"`
	RSSSteady      int64   `json:"rss_steady"` // median from the first exact standings on
	RSSPerEntry    float64 `json:"rss_bytes_per_entry_steady"`
	RSSPeakEntry   float64 `json:"rss_bytes_per_entry_peak"`
	BrokerRSSPeak  int64   `json:"broker_rss_peak,omitempty"`
	RSSSamplesFile string  `json:"rss_samples_file"`
	// At /readyz 200: the Go runtime's view (heap in use, heap objects, memory from the OS)
	// and a heap profile (go tool pprof FILE), to tell Go heap from GC headroom and RSS.
	GoHeapInuseReady int64  `json:"go_heap_inuse_at_ready,omitempty"`
	GoHeapObjReady   int64  `json:"go_heap_objects_at_ready,omitempty"`
	GoSysReady       int64  `json:"go_sys_at_ready,omitempty"`
	HeapProfile      string `json:"heap_profile,omitempty"`
	// Probes: freshness and late entries, before the match is played (--probes).
	Probes *probeReport `json:"probes,omitempty"`
	// Restart: the node stopped cleanly and started again on its data dir (--restart).
	Restart *restartReport `json:"restart,omitempty"`
	Order   string         `json:"order"`
	Teams   float64        `json:"teams_per_entry"`
	Error   string         `json:"error,omitempty"`
}

type summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Max    float64 `json:"max"`
}

func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	q := func(f float64) float64 { return s[min(len(s)-1, int(math.Ceil(f*float64(len(s))))-1)] }
	return summary{N: len(s), Median: q(0.5), P90: q(0.9), Max: s[len(s)-1]}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, c config) (*report, error) {
	rep := &report{Entries: c.entries, Contests: c.contests, Partitions: c.partitions, CPUs: runtime.NumCPU(), Interval: c.interval.Seconds(),
		Order: c.order, Teams: c.teams}
	if c.work == "" {
		dir, err := os.MkdirTemp("", "lb-fullscale-")
		if err != nil {
			return nil, err
		}
		c.work = dir
		if !c.keep {
			defer os.RemoveAll(dir)
		}
	}
	if err := os.MkdirAll(c.work, 0o755); err != nil {
		return nil, err
	}
	logf("work directory %s; %d entries, %d contests, %d partitions, %d CPUs", c.work, c.entries, c.contests, c.partitions, rep.CPUs)
	fail := func(err error) (*report, error) { rep.Error = err.Error(); return rep, err }

	// 1. gen (reused when the same flags made it before).
	data := filepath.Join(c.work, "data")
	stamp := fmt.Sprintf("entries=%d contests=%d seed=%d\n", c.entries, c.contests, c.seed)
	if c.order != "contest" || c.teams != 0.2 { // gen's defaults keep the stamps of earlier datasets
		stamp = fmt.Sprintf("entries=%d contests=%d seed=%d order=%s teams-per-entry=%v\n", c.entries, c.contests, c.seed, c.order, c.teams)
	}
	if b, err := os.ReadFile(filepath.Join(data, "fullscale.stamp")); err == nil && string(b) == stamp {
		logf("gen: reusing %s", data)
	} else {
		t := time.Now()
		if err := runCmd(ctx, c, "gen", "--entries", itoa(c.entries), "--contests", itoa(c.contests), "--seed", itoa(c.seed),
			"--order", c.order, "--teams-per-entry", strconv.FormatFloat(c.teams, 'f', -1, 64), "--out", data); err != nil {
			return fail(err)
		}
		rep.GenS = time.Since(t).Seconds()
		os.WriteFile(filepath.Join(data, "fullscale.stamp"), []byte(stamp), 0o644)
		logf("gen: %.1fs", rep.GenS)
	}

	// 2. broker.
	kafka := c.kafka
	var brokerPID int
	if kafka == "" {
		port, err := freePort()
		if err != nil {
			return fail(err)
		}
		kafka = fmt.Sprintf("127.0.0.1:%d", port)
		b, err := startBG(ctx, c, "broker", "--addr", kafka, "--entries-partitions", strconv.Itoa(c.partitions))
		if err != nil {
			return fail(err)
		}
		defer b.stop()
		brokerPID = b.cmd.Process.Pid
		if err := waitTCP(ctx, kafka, time.Minute); err != nil {
			return fail(fmt.Errorf("broker: %w (log %s)", err, b.logPath))
		}
		rep.Broker = "embedded (leaderboard broker)"
	} else {
		rep.Broker = "kafka " + kafka
	}
	logf("broker: %s", rep.Broker)

	// 3. load.
	t := time.Now()
	if err := runCmd(ctx, c, "load", "--kafka", kafka, "--in", data, "--match", "1", "--partitions", strconv.Itoa(c.partitions)); err != nil {
		return fail(err)
	}
	rep.LoadS = time.Since(t).Seconds()
	rep.LoadRate = float64(c.entries) / rep.LoadS
	logf("load: %.1fs, %.0f entries/s", rep.LoadS, rep.LoadRate)

	// 4. the match goes live, then a cold node starts; the match is played (simulate)
	// once the node serves its first standings, so every ball falls in a live cycle.
	if err := publishLive(ctx, kafka); err != nil {
		return fail(err)
	}
	var sim *bg
	defer func() {
		if sim != nil {
			sim.stop()
		}
	}()
	apiPort, err := freePort()
	if err != nil {
		return fail(err)
	}
	adminPort, err := freePort()
	if err != nil {
		return fail(err)
	}
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	admin := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	store := filepath.Join(c.work, "store")
	os.RemoveAll(store)
	// Created here: the worker's cycle high-water mark does not create its directory.
	if err := os.MkdirAll(store, 0o755); err != nil {
		return fail(err)
	}
	brokerCPU0 := cpuOf(brokerPID)
	start := time.Now()
	node, err := startBG(ctx, c, "standalone", append([]string{"--kafka", kafka, "--http", api[len("http://"):], "--admin-http", admin[len("http://"):],
		"--interval", c.interval.String(), "--data-dir", store, "-v"}, c.nodeFlags...)...)
	if err != nil {
		return fail(err)
	}
	defer node.stop()
	rss := newSampler(node.cmd.Process.Pid, brokerPID, start, c.rssEvery, c.maxRSS, func() { node.cmd.Process.Kill() })
	go rss.run(ctx)
	profiled := make(chan struct{}) // closed once the CPU profile is saved (or none is taken)
	if c.cpuProf > 0 {
		go func() {
			defer close(profiled)
			profileCPU(ctx, admin, c.cpuProf, filepath.Join(c.work, "cpu-start.pb.gz"))
		}()
	} else {
		close(profiled)
	}
	rep.RSSSamplesFile = filepath.Join(c.work, "rss.csv")

	// 5. follow it: caught up, ready, first exact standings, the probes, completion.
	var completedAt time.Time
	want := c.entries // the match's entries: the dataset's, and the late entries' once probed
	probed := c.probes == 0
	alive := func() error {
		select {
		case err := <-node.done:
			node.done <- err // for the loop below
			return fmt.Errorf("the node exited: %v (log %s)", err, node.logPath)
		default:
			return nil
		}
	}
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for rep.FinalS == 0 {
		select {
		case <-ctx.Done():
			return fail(fmt.Errorf("stopped waiting (node log %s): %w", node.logPath, ctx.Err()))
		case err := <-node.done:
			return fail(fmt.Errorf("the node exited: %v (log %s)", err, node.logPath))
		case <-rss.over: // the sampler has killed the node already
			rss.stopAndWait()
			writeSamples(rep.RSSSamplesFile, rss.samples())
			rep.RSSPeak, rep.BrokerRSSPeak = peak(rss.samples())
			return fail(fmt.Errorf("the node's resident memory passed --max-rss %d bytes after %.1fs: run stopped (samples in %s)", c.maxRSS, time.Since(start).Seconds(), rep.RSSSamplesFile))
		case err := <-simDone(sim):
			if err != nil {
				return fail(fmt.Errorf("simulate failed: %v (log %s)", err, sim.logPath))
			}
			completedAt = time.Now()
			sim.done = make(chan error) // never again
			logf("simulate: match completed")
		case <-poll.C:
		}
		el := time.Since(start).Seconds()
		if rep.ReplayS == 0 {
			if m, err := scrape(admin + "/metrics"); err == nil {
				if v, ok := m.get("leaderboard_worker_partitions_replaying", ""); ok && v == 0 {
					rep.ReplayS = el
					rep.Replay = float64(c.entries) / el
					rep.ReplayNodeCPU = cpuOf(node.cmd.Process.Pid)
					if brokerPID != 0 {
						rep.ReplayBrokerCPU = cpuOf(brokerPID) - brokerCPU0
					}
					logf("replay: every partition caught up after %.1fs (%.0f entries/s); CPU: node %.2f s, development broker %.2f s",
						el, rep.Replay, rep.ReplayNodeCPU, rep.ReplayBrokerCPU)
				}
			}
		}
		if rep.ReadyS == 0 && httpStatus(admin+"/readyz") == 200 {
			rep.ReadyS, rep.ReadyNodeCPU = el, cpuOf(node.cmd.Process.Pid)
			logf("ready after %.1fs (node %.2f CPU-s)", el, rep.ReadyNodeCPU)
			snapshotHeap(admin, c.work, rep)
		}
		st, entries, ok := matchState(api + "/v1/matches/1")
		if ok && rep.MatchAllS == 0 && entries == c.entries {
			rep.MatchAllS = el
			logf("the API's match record counts all %d entries after %.1fs", entries, el)
		}
		if !probed && rep.MatchAllS > 0 && rep.ReadyS > 0 {
			probed = true
			probes, added, err := runProbes(ctx, c, kafka, api, node.logPath, alive)
			rep.Probes, want = probes, c.entries+added
			if err != nil {
				probes.Error = err.Error()
				return fail(fmt.Errorf("probes: %w", err))
			}
		}
		if c.noMatch && probed && rep.MatchAllS > 0 && rep.ReadyS > 0 {
			if el > rep.ReadyS+c.interval.Seconds() {
				// A faster node is ready before --cpu-profile's span ends: stopping it
				// then would lose the profile.
				select {
				case <-profiled:
				default:
					continue
				}
				logf("--no-match: stopping without playing the match")
				break
			}
			continue
		}
		if probed && sim == nil && completedAt.IsZero() && rep.MatchAllS > 0 {
			logf("the match starts")
			sim, err = startBG(ctx, c, "simulate", "--kafka", kafka, "--match", "1", "--seed", itoa(c.seed), "--speed", strconv.FormatFloat(c.speed, 'f', -1, 64), "--partitions", strconv.Itoa(c.partitions))
			if err != nil {
				return fail(err)
			}
		}
		if ok && st == "completed" && entries == want && !completedAt.IsZero() {
			rep.FinalS = time.Since(completedAt).Seconds()
			logf("final standings served %.1fs after the match completed", rep.FinalS)
		}
	}

	// 6. metrics, then a clean stop, then the log.
	if m, err := scrape(admin + "/metrics"); err == nil {
		rep.StageMeanMS = m.stageMeans("leaderboard_worker_cycle_stage_seconds", "stage")
		rep.RecordsByKind = m.sumBy("leaderboard_worker_records_written_total", "set")
	}
	node.stop()
	rss.stopAndWait()
	samples := rss.samples()
	if err := writeSamples(rep.RSSSamplesFile, samples); err != nil {
		logf("cannot write %s: %v", rep.RSSSamplesFile, err)
	}
	rep.RSSPeak, rep.BrokerRSSPeak = peak(samples)
	rep.RSSPeakEntry = float64(rep.RSSPeak) / float64(c.entries)

	cycles, err := readCycles(node.logPath)
	if err != nil {
		return fail(err)
	}
	rep.Cycles = len(cycles)
	var took, written []float64
	stages := map[string][]float64{}
	for _, cl := range cycles {
		if rep.FirstCycle == nil {
			if cl.Entries == c.entries {
				first := cl
				rep.FirstCycle = &first
			} else {
				rep.PartialCycles++
			}
			continue
		}
		took = append(took, cl.TookMS)
		written = append(written, float64(cl.Written))
		for k, v := range cl.DurationsMS {
			stages[k] = append(stages[k], v)
		}
	}
	rep.CycleMS = summarize(took)
	rep.WrittenCycle = summarize(written)
	rep.StageMS = map[string]summary{}
	for k, v := range stages {
		rep.StageMS[k] = summarize(v)
	}
	if rep.FirstCycle != nil {
		rep.StandingS = rep.FirstCycle.At.Sub(start).Seconds()
		logf("first cycle over every entry: %.1f ms, %d records written (after %d cycles over fewer entries), done %.1fs after the node started: the first exact standings",
			rep.FirstCycle.TookMS, rep.FirstCycle.Written, rep.PartialCycles, rep.StandingS)
	}
	logf("%d cycles; after the first full one: median %.1f ms, p90 %.1f ms, max %.1f ms; records written median %.0f, max %.0f",
		rep.Cycles, rep.CycleMS.Median, rep.CycleMS.P90, rep.CycleMS.Max, rep.WrittenCycle.Median, rep.WrittenCycle.Max)
	from := rep.StandingS
	if rep.FirstCycle == nil {
		from = rep.MatchAllS
	}
	rep.RSSSteady = steady(samples, from)
	rep.RSSPerEntry = float64(rep.RSSSteady) / float64(c.entries)
	logf("RSS: peak %.0f MB (%.0f B/entry), steady %.0f MB (%.0f B/entry); samples in %s",
		float64(rep.RSSPeak)/1e6, rep.RSSPeakEntry, float64(rep.RSSSteady)/1e6, rep.RSSPerEntry, rep.RSSSamplesFile)
	if c.restart {
		rr, err := restartNode(ctx, c, kafka, api, admin, store, want, brokerPID)
		rep.Restart = rr
		if err != nil {
			return fail(fmt.Errorf("restart: %w", err))
		}
	}
	return rep, nil
}

// restartReport: a node started again on the data dir of a cleanly stopped one (its
// live namespace saved), with the entries still in the broker; seconds from its start.
type restartReport struct {
	AnswersS   float64    `json:"answers_s"`          // the API's match record counts every entry (from the saved live namespace)
	ReadyS     float64    `json:"ready_s"`            // /readyz 200: every partition replayed and caught up
	FirstFullS float64    `json:"first_full_cycle_s"` // its first cycle over every entry has written its records
	FirstFull  *cycleLine `json:"first_full_cycle,omitempty"`
	NodeCPU    float64    `json:"node_cpu_at_ready_s"` // the node's CPU seconds until ready
	RSSPeak    int64      `json:"rss_peak"`
	Log        string     `json:"log"`
}

// restartNode starts the node again on store, the data dir a clean stop left, and
// follows it until its first cycle over every entry (want) is logged.
func restartNode(ctx context.Context, c config, kafka, api, admin, store string, want int64, brokerPID int) (*restartReport, error) {
	start := time.Now()
	node, err := startBGLog(ctx, c, "standalone-restart", "standalone", append([]string{"--kafka", kafka, "--http", api[len("http://"):], "--admin-http", admin[len("http://"):],
		"--interval", c.interval.String(), "--data-dir", store, "-v"}, c.nodeFlags...)...)
	if err != nil {
		return nil, err
	}
	defer node.stop()
	rr := &restartReport{Log: node.logPath}
	rss := newSampler(node.cmd.Process.Pid, brokerPID, start, c.rssEvery, c.maxRSS, func() { node.cmd.Process.Kill() })
	go rss.run(ctx)
	defer func() {
		rss.stopAndWait()
		rr.RSSPeak, _ = peak(rss.samples())
	}()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return rr, fmt.Errorf("stopped waiting (node log %s): %w", node.logPath, ctx.Err())
		case err := <-node.done:
			return rr, fmt.Errorf("the node exited: %v (log %s)", err, node.logPath)
		case <-rss.over:
			return rr, fmt.Errorf("the node's resident memory passed --max-rss %d bytes (log %s)", c.maxRSS, node.logPath)
		case <-poll.C:
		}
		el := time.Since(start).Seconds()
		st, entries, ok := matchState(api + "/v1/matches/1")
		if rr.AnswersS == 0 && ok && entries == want {
			rr.AnswersS = el
			logf("restart: the API answers for all %d entries after %.1fs", entries, el)
		}
		if rr.ReadyS > 0 && st == "completed" {
			logf("restart: the match is completed: its final standings are served, not ranked again")
			return rr, nil
		}
		if rr.ReadyS == 0 && httpStatus(admin+"/readyz") == 200 {
			rr.ReadyS, rr.NodeCPU = el, cpuOf(node.cmd.Process.Pid)
			logf("restart: ready after %.1fs (node %.2f CPU-s)", el, rr.NodeCPU)
		}
		if rr.ReadyS == 0 {
			continue
		}
		cycles, err := readCycles(node.logPath)
		if err != nil {
			return rr, err
		}
		for _, cl := range cycles {
			if cl.Entries == want {
				first := cl
				rr.FirstFull, rr.FirstFullS = &first, cl.At.Sub(start).Seconds()
				logf("restart: first cycle over every entry %.1f ms, %d records written, done %.1fs after the restart", cl.TookMS, cl.Written, rr.FirstFullS)
				return rr, nil
			}
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// simDone is sim's exit, or a channel that never delivers before sim starts.
func simDone(sim *bg) <-chan error {
	if sim == nil {
		return nil
	}
	return sim.done
}

// publishLive makes match 1 live, with no points yet.
func publishLive(ctx context.Context, kafka string) error {
	cfg := kafkasource.DefaultConfig()
	cfg.Brokers = []string{kafka}
	pub, err := kafkasource.NewPublisher(cfg, nil, nil)
	if err != nil {
		return err
	}
	defer pub.Close()
	if err := pub.PublishMatch(ctx, kafkasource.MatchEvent{MatchID: 1, State: kafkasource.MatchLive, TS: time.Now().UnixMilli()}); err != nil {
		return err
	}
	return pub.Flush(ctx)
}

// runCmd runs a leaderboard subcommand to its end, its output in <work>/<name>.log.
func runCmd(ctx context.Context, c config, name string, args ...string) error {
	logPath := filepath.Join(c.work, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, c.bin, append([]string{name}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	logf("%s: %s %s", name, c.bin, strings.Join(cmd.Args[1:], " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w (log %s)", name, err, logPath)
	}
	return nil
}

// bg is a leaderboard subcommand running in the background.
type bg struct {
	cmd     *exec.Cmd
	logPath string
	done    chan error
	once    sync.Once
}

func startBG(ctx context.Context, c config, name string, args ...string) (*bg, error) {
	return startBGLog(ctx, c, name, name, args...)
}

// startBGLog is startBG with its output in <work>/<logName>.log.
func startBGLog(ctx context.Context, c config, logName, name string, args ...string) (*bg, error) {
	logPath := filepath.Join(c.work, logName+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.bin, append([]string{name}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	logf("%s: %s %s", name, c.bin, strings.Join(cmd.Args[1:], " "))
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b := &bg{cmd: cmd, logPath: logPath, done: make(chan error, 1)}
	go func() { b.done <- cmd.Wait(); f.Close() }()
	return b, nil
}

// stop sends SIGTERM (a clean stop) and waits up to a minute, then kills.
func (b *bg) stop() {
	b.once.Do(func() {
		if b.cmd.ProcessState != nil {
			return
		}
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(time.Minute):
			b.cmd.Process.Kill()
		}
	})
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitTCP(ctx context.Context, addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %v", addr, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var client = &http.Client{Timeout: 2 * time.Second}

func httpStatus(url string) int {
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// matchState reads a match's state and ranked entries from the API.
func matchState(url string) (state string, entries int64, ok bool) {
	resp, err := client.Get(url)
	if err != nil {
		return "", 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		io.Copy(io.Discard, resp.Body)
		return "", 0, false
	}
	var m struct {
		State   string `json:"state"`
		Entries int64  `json:"entries"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return "", 0, false
	}
	return m.State, m.Entries, true
}

// metrics is a scrape in Prometheus' text format: series (name{labels}) → value.
type metrics map[string]float64

// profileCPU saves a CPU profile of the node, d long from now, into path (once the admin
// port answers).
func profileCPU(ctx context.Context, admin string, d time.Duration, path string) {
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", admin, max(1, int(d.Seconds())))
	for ctx.Err() == nil {
		resp, err := http.Get(url)
		if err != nil {
			time.Sleep(20 * time.Millisecond) // not listening yet
			continue
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			logf("CPU profile: status %d, %v", resp.StatusCode, err)
			return
		}
		logf("CPU profile of the node's first %v: %s", d, path)
		return
	}
}

// snapshotHeap records the node's Go memory figures and saves a heap profile (after a GC,
// as pprof's heap endpoint with gc=1 does) into work/heap-ready.pb.gz.
func snapshotHeap(admin, work string, rep *report) {
	path := filepath.Join(work, "heap-ready.pb.gz")
	resp, err := http.Get(admin + "/debug/pprof/heap?gc=1")
	if err == nil {
		func() {
			defer resp.Body.Close()
			f, ferr := os.Create(path)
			if ferr != nil {
				err = ferr
				return
			}
			defer f.Close()
			if _, err = io.Copy(f, resp.Body); err == nil && resp.StatusCode == http.StatusOK {
				rep.HeapProfile = path
			}
		}()
	}
	if err != nil {
		logf("heap profile: %v", err)
	}
	if m, err := scrape(admin + "/metrics"); err == nil {
		for name, dst := range map[string]*int64{"go_memstats_heap_inuse_bytes": &rep.GoHeapInuseReady,
			"go_memstats_heap_objects": &rep.GoHeapObjReady, "go_memstats_sys_bytes": &rep.GoSysReady} {
			if v, ok := m.get(name, ""); ok {
				*dst = int64(v)
			}
		}
		logf("at ready: Go heap in use %d MB, %d heap objects, Go sys %d MB", rep.GoHeapInuseReady>>20, rep.GoHeapObjReady, rep.GoSysReady>>20)
	}
}

func scrape(url string) (metrics, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseMetrics(resp.Body)
}

func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// get returns the value of name with exactly the given labels ("" for none).
func (m metrics) get(name, labels string) (float64, bool) {
	if labels != "" {
		name += "{" + labels + "}"
	}
	v, ok := m[name]
	return v, ok
}

// label returns the value of label key in a series' labels, or "".
func label(series, key string) string {
	i := strings.IndexByte(series, '{')
	if i < 0 {
		return ""
	}
	for _, kv := range strings.Split(strings.TrimSuffix(series[i+1:], "}"), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k == key {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// stageMeans returns a histogram's mean per value of label, in milliseconds.
func (m metrics) stageMeans(hist, lbl string) map[string]float64 {
	sums, counts := map[string]float64{}, map[string]float64{}
	for s, v := range m {
		switch {
		case strings.HasPrefix(s, hist+"_sum{"):
			sums[label(s, lbl)] += v
		case strings.HasPrefix(s, hist+"_count{"):
			counts[label(s, lbl)] += v
		}
	}
	out := map[string]float64{}
	for k, n := range counts {
		if n > 0 {
			out[k] = math.Round(sums[k]/n*1e6) / 1e3
		}
	}
	return out
}

// sumBy sums a counter's series by one label.
func (m metrics) sumBy(name, lbl string) map[string]float64 {
	out := map[string]float64{}
	for s, v := range m {
		if strings.HasPrefix(s, name+"{") {
			out[label(s, lbl)] += v
		}
	}
	return out
}

// cycleLine is one "cycle" line of the node's -v log (the worker logs one per match and
// cycle).
type cycleLine struct {
	At      time.Time `json:"at"` // when the line was logged: the cycle's end
	Cycle   int64     `json:"cycle"`
	Entries int64     `json:"entries"`
	Written int64     `json:"written"`
	Rebuilt int64     `json:"rebuilt"`         // groups rebuilt (an entry change folded)
	Changed int64     `json:"changed_entries"` // entries whose points or rank changed
	TookMS  float64   `json:"took_ms"`
	// DurationsMS holds every duration the line carries (took, and the worker's stages,
	// e.g. fold), in milliseconds.
	DurationsMS map[string]float64 `json:"durations_ms"`
}

// readCycles reads the cycle lines of slog's text format: msg=cycle key=value ...
func readCycles(path string) ([]cycleLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cycleLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if cl, ok := parseCycle(sc.Text()); ok {
			out = append(out, cl)
		}
	}
	return out, sc.Err()
}

func parseCycle(line string) (cycleLine, bool) {
	if !strings.Contains(line, " msg=cycle ") {
		return cycleLine{}, false
	}
	var cl cycleLine
	found := false
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "time":
			cl.At, _ = time.Parse(time.RFC3339Nano, v)
		case "cycle":
			cl.Cycle, _ = strconv.ParseInt(v, 10, 64)
		case "entries":
			cl.Entries, _ = strconv.ParseInt(v, 10, 64)
		case "written":
			cl.Written, _ = strconv.ParseInt(v, 10, 64)
		case "rebuilt":
			cl.Rebuilt, _ = strconv.ParseInt(v, 10, 64)
		case "changed_entries":
			cl.Changed, _ = strconv.ParseInt(v, 10, 64)
		default:
			if _, num := strconv.ParseFloat(v, 64); num == nil {
				continue // a count ("0" also parses as a duration)
			}
			if d, err := time.ParseDuration(v); err == nil && k != "time" {
				if cl.DurationsMS == nil {
					cl.DurationsMS = map[string]float64{}
				}
				cl.DurationsMS[k] = float64(d.Nanoseconds()) / 1e6
				if k == "took" {
					cl.TookMS, found = cl.DurationsMS[k], true
				}
			}
		}
	}
	return cl, found
}

// sample is the resident memory of the node (and the broker) at a time since the start.
type sample struct {
	at           time.Duration
	node, broker int64
}

type sampler struct {
	nodePID, brokerPID int
	start              time.Time
	every              time.Duration
	limit              int64  // past it: kill, then close over (0: no limit)
	kill               func() // kills the node at once: the machine may be shared
	mu                 sync.Mutex
	s                  []sample
	quit, done, over   chan struct{}
	stopOnce           sync.Once
}

func newSampler(nodePID, brokerPID int, start time.Time, every time.Duration, limit int64, kill func()) *sampler {
	return &sampler{nodePID: nodePID, brokerPID: brokerPID, start: start, every: every, limit: limit, kill: kill,
		quit: make(chan struct{}), done: make(chan struct{}), over: make(chan struct{})}
}

func (s *sampler) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		n := rssOf(s.nodePID)
		var b int64
		if s.brokerPID != 0 {
			b = rssOf(s.brokerPID)
		}
		if n > 0 {
			s.mu.Lock()
			s.s = append(s.s, sample{time.Since(s.start), n, b})
			s.mu.Unlock()
			if s.limit > 0 && n > s.limit {
				s.kill()
				close(s.over)
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.quit:
			return
		case <-t.C:
		}
	}
}

func (s *sampler) stopAndWait() {
	s.stopOnce.Do(func() { close(s.quit) })
	<-s.done
}

func (s *sampler) samples() []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.s)
}

// cpuOf reads the CPU seconds (user + system) a process has used from /proc (0 if it is
// gone, pid is 0 or there is no /proc). Linux counts them in ticks of 1/100 s.
func cpuOf(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces: count from after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64) // fields 14 and 15 of the whole line
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return float64(utime+stime) / 100
}

// rssOf reads VmRSS of a process from /proc (0 if it is gone or there is no /proc).
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func writeSamples(path string, ss []sample) error {
	var b strings.Builder
	b.WriteString("seconds,node_rss_bytes,broker_rss_bytes\n")
	for _, s := range ss {
		fmt.Fprintf(&b, "%.2f,%d,%d\n", s.at.Seconds(), s.node, s.broker)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func peak(ss []sample) (node, broker int64) {
	for _, s := range ss {
		node, broker = max(node, s.node), max(broker, s.broker)
	}
	return node, broker
}

// steady is the median node RSS from the first standings on.
func steady(ss []sample, fromS float64) int64 {
	var xs []float64
	for _, s := range ss {
		if s.at.Seconds() >= fromS {
			xs = append(xs, float64(s.node))
		}
	}
	return int64(summarize(xs).Median)
}
