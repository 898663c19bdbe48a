package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fantasy/leaderboard/api"
	"github.com/fantasy/leaderboard/coordinator"
	"github.com/fantasy/leaderboard/internal/kafkatest"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/membership"
	"github.com/fantasy/leaderboard/rankstore"
)

// consoleShots is where the console's screenshots go: $LEADERBOARD_SCREENSHOTS (default:
// the test's temporary directory). With LB_SCREENSHOTS=1 the cluster's is also written
// to docs/img/console.png, the README's.
func consoleShots(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LEADERBOARD_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowserConsoleStandalone: the console of a single node fed over the embedded broker
// shows the node as its one member (role standalone) writing every partition, the
// entries accepted, a dead letter by its reason, and each cycle stage's time as a line.
func TestBrowserConsoleStandalone(t *testing.T) {
	b := newBrowser(t)
	shots := consoleShots(t)
	entries, pts := reference.Random(3, reference.Shape{Contests: []int{20, 5, 2}, Players: 22, LineupSize: 11, Teams: 8, PointValues: 4})
	for i := range entries { // the source rejects non-positive ids
		entries[i].ContestID = max(entries[i].ContestID, -entries[i].ContestID) + 1
	}
	e := newE2E(t)
	e.cfg.worker.Interval = 300 * time.Millisecond
	// The engine times its stages only with a clock; the worker's processes give it none
	// yet, so that only "fold" and the whole cycle would be timed.
	e.cfg.worker.Engine.Now = time.Now
	e.start()
	t.Cleanup(e.kill)
	ctx := context.Background()
	if err := e.pub.PublishMatch(ctx, kafkasource.MatchEvent{MatchID: 1, State: "live"}); err != nil {
		t.Fatal(err)
	}
	if err := e.pub.PublishEntries(ctx, toEvents(entries)); err != nil {
		t.Fatal(err)
	}
	raw, err := kgo.NewClient(kgo.SeedBrokers(e.cfg.kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.ProduceSync(ctx, &kgo.Record{Topic: e.cfg.kafka.EntriesTopic, Key: []byte("5"), Value: []byte(`{"match_id":1,`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	e.publishPoints(pts)
	e.caughtUp(len(entries), pts, "live")

	b.do("open the console", chromedp.Navigate(e.base+"/console?poll=200"))
	host, _ := os.Hostname()
	var all []string
	for p := range kafkatest.DefaultPartitions {
		all = append(all, strconv.Itoa(p))
	}
	b.wait("the node as the one standalone member, writing every partition",
		fmt.Sprintf(`document.querySelectorAll("#member-rows tr[data-role='standalone']").length === 1 &&
			document.querySelector("#member-rows tr").dataset.name === %q &&
			document.querySelectorAll("#worker-rows tr").length === 1 &&
			document.querySelector("#worker-rows tr").dataset.writing === %q &&
			document.querySelector("#worker-rows tr").dataset.loading === "" &&
			document.getElementById("status").dataset.mode === "standalone"`, host, strings.Join(all, ",")), 20*time.Second)
	b.wait("the entries accepted and the dead letter by its reason",
		fmt.Sprintf(`(() => { const r = document.querySelector("#ingest-rows tr[data-topic='%s']"); const d = document.querySelector("#dead-rows tr[data-reason='malformed_json']");
			return r && r.cells[2].textContent === %q && d && d.cells[1].textContent === "1"; })()`, e.cfg.kafka.EntriesTopic, strconv.Itoa(len(entries))), 20*time.Second)
	// A cycle whose points did not change ranks nothing: points move while the page looks.
	stagesShown := `document.querySelector("#chart path.line[data-stage='cycle']") && document.querySelectorAll("#chart path.line").length >= 3 &&
		[...document.querySelectorAll("#chart path.line")].every((l) => document.querySelector("#stage-rows tr[data-stage='" + l.dataset.stage + "']")) &&
		document.getElementById("s-writes").textContent !== "–"`
	player := slices.Min(slices.Collect(maps.Keys(pts)))
	for i, deadline := 1, time.Now().Add(20*time.Second); ; i++ {
		var ok bool
		b.eval("return !!("+stagesShown+")", &ok)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			var lines []string
			b.eval(`return [...document.querySelectorAll("#chart path.line")].map((l) => l.dataset.stage)`, &lines)
			t.Fatalf("no line per cycle stage within 20 s of moving points: lines %q", lines)
		}
		e.publishPoints(map[int32]float64{player: pts[player] + float64(i)})
		time.Sleep(400 * time.Millisecond)
	}
	var lines, rows []string
	b.eval(`return [...document.querySelectorAll("#chart path.line")].map((l) => l.dataset.stage)`, &lines)
	b.eval(`return [...document.querySelectorAll("#stage-rows tr")].map((r) => r.dataset.stage)`, &rows)
	t.Logf("stage lines %q, stage rows %q", lines, rows)
	var cycle string
	b.eval(`return document.getElementById("status").dataset.cycle`, &cycle)
	if c, err := strconv.ParseInt(cycle, 10, 64); err != nil || c <= 0 {
		t.Fatalf("cycle shown %q", cycle)
	}
	b.screenshot(shots, "console-standalone.png")

	// A phone-sized screen: nothing wider than it.
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	b.wait("the members", `document.querySelectorAll("#member-rows tr").length === 1`, 10*time.Second)
	var overflow bool
	b.eval(`return document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow)
	if overflow {
		t.Errorf("the console is wider than a 390 px phone screen")
	}
	b.screenshot(shots, "console-phone.png")
}

// `leaderboard api` refuses a console flag it cannot use, naming it.
func TestConsoleFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"api", "--metrics-targets", "a:1,nope"}, `--metrics-targets: "nope" is not host:port`},
		{[]string{"api", "--coordinator", "http://"}, "--coordinator: coordinator address"},
	} {
		var out, errb strings.Builder
		if code := run(context.Background(), tc.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
	src, err := clusterConsole("", " , ", false, nil)
	if src != nil || err != nil {
		t.Errorf("no console flags: %v, %v; want no console", src, err)
	}
}

// consoleGossip gossips on loopback at test timings.
func consoleGossip(t *testing.T, name string, join ...string) membership.Config {
	var c membership.Config
	c.RegisterFlags(flag.NewFlagSet(name, flag.ContinueOnError), "")
	c.NodeName, c.Bind, c.Label, c.Join = name, "127.0.0.1:0", "console-test", join
	c.ProbeInterval, c.ProbeTimeout, c.SuspicionMult = 200*time.Millisecond, 100*time.Millisecond, 4
	c.GossipInterval, c.PushPullInterval = 20*time.Millisecond, 500*time.Millisecond
	c.JoinMinBackoff, c.JoinMaxBackoff, c.RejoinInterval, c.LeaveTimeout = 20*time.Millisecond, 100*time.Millisecond, 0, time.Second
	return c
}

// startService starts s and stops it when the test ends.
func startService(t *testing.T, s services.Service) {
	t.Helper()
	if err := s.StartAsync(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.AwaitRunning(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := services.StopAndAwaitTerminated(ctx, s); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("stop: %v", err)
		}
	})
}

// consoleWorker plays a worker toward the coordinator through its Client: it reports
// caught up for what it loads and a cycle report, with stage times, for what it writes.
// Its metrics (events, cycle stages) are served for the console to scrape.
func consoleWorker(t *testing.T, coordURL, name string) (metrics string) {
	t.Helper()
	cl, err := coordinator.NewClient(coordURL, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	f := promauto.With(reg)
	events := f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_source_events_total", Help: "h"}, []string{"topic"})
	stage := f.NewHistogramVec(prometheus.HistogramOpts{Name: "leaderboard_worker_cycle_stage_seconds", Help: "h"}, []string{"stage"})
	cycle := f.NewHistogram(prometheus.HistogramOpts{Name: "leaderboard_worker_cycle_seconds", Help: "h"})
	written := f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_worker_records_written_total", Help: "h"}, []string{"namespace", "set"})
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	t.Cleanup(func() { cancel(); <-done; <-done })
	var table atomic.Pointer[coordinator.Assignment]
	table.Store(&coordinator.Assignment{})
	go func() {
		defer func() { done <- struct{}{} }()
		for ctx.Err() == nil {
			a, err := cl.WaitAssignment(ctx, table.Load().Epoch)
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			table.Store(&a)
			for _, p := range a.Loads(name) {
				_ = cl.CaughtUp(ctx, p, a.Epoch) // stale: a newer table is coming
			}
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		for ctx.Err() == nil {
			tk, err := cl.Next(ctx)
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			a := table.Load()
			ws := a.Writes(name)
			for i, p := range ws {
				secs := 0.003 + 0.001*float64(i%3) + 0.001*math.Sin(float64(tk.Cycle)/8) // varies, so the chart has a shape
				_ = cl.Report(ctx, coordinator.Report{Partition: p, Epoch: a.Epoch, Cycle: tk.Cycle, Matches: []int64{1}, Entries: 500, Contests: 20, Records: 40,
					Stages: []coordinator.StageTime{{Stage: "rank", Seconds: secs}, {Stage: "write", Seconds: 2 * secs}}})
				stage.WithLabelValues("rank").Observe(secs)
				stage.WithLabelValues("write").Observe(2 * secs)
			}
			if len(ws) > 0 {
				cycle.Observe(0.016 + 0.003*math.Sin(float64(tk.Cycle)/8))
				written.WithLabelValues("live", "page").Add(float64(40 * len(ws)))
				events.WithLabelValues("lb.points").Add(3)
			}
		}
	}()
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestBrowserConsoleCluster: in one process, a real coordinator and two worker members
// over gossip on loopback, and an API server whose console reads the coordinator's status
// and scrapes the workers' metrics (and one address where nothing listens): the console
// shows the coordinator and both workers, each worker's partitions as the coordinator
// assigned them, the cycles they report, and the dead target as down.
func TestBrowserConsoleCluster(t *testing.T) {
	b := newBrowser(t)
	shots := consoleShots(t)
	const P = 8
	coordNode, err := membership.New(consoleGossip(t, "coord"), membership.Meta{Role: membership.RoleCoordinator, HTTPAddr: "127.0.0.1:1", Capacity: 1, Version: "test"}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	startService(t, coordNode)
	var cfg coordinator.Config
	cfg.RegisterFlags(flag.NewFlagSet("coordinator", flag.ContinueOnError), "")
	cfg.Interval, cfg.DataDir, cfg.LongPoll, cfg.Settle, cfg.RebalanceDelay = 250*time.Millisecond, t.TempDir(), time.Second, 0, 0
	var offsets atomic.Int64
	c, err := coordinator.New(cfg, P, coordinator.Deps{Node: "coord", Members: coordNode, Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry(),
		Offsets: func(context.Context) (map[int32]int64, error) { return map[int32]int64{0: offsets.Add(1)}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	startService(t, c)
	coordSrv := httptest.NewServer(c.Handler())
	t.Cleanup(coordSrv.Close)

	var targets []string
	for _, w := range []string{"w1", "w2"} {
		node, err := membership.New(consoleGossip(t, w, coordNode.Addr()), membership.Meta{Role: membership.RoleWorker, HTTPAddr: "127.0.0.1:1", Capacity: 1, Version: "test"}, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		startService(t, node)
		targets = append(targets, consoleWorker(t, coordSrv.URL, w))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	targets = append(targets, dead)

	// The API process: an (empty) store, and the console of the cluster.
	st, err := rankstore.Open(rankstore.Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.DefaultConfig(), st, nil, prometheus.NewRegistry(), nil)
	srv.SetConsole(api.ClusterConsole(func(context.Context) (string, error) { return coordSrv.URL, nil }, func() []string { return targets }, nil))
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, apiLn) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("api: %v", err)
		}
	})

	// The coordinator assigns every partition to the two workers.
	deadline := time.Now().Add(20 * time.Second)
	var a coordinator.Assignment
	for {
		a = c.Assignment()
		if len(a.Writer) == P && !slices.ContainsFunc(a.Writer, func(w string) bool { return w != "w1" && w != "w2" }) &&
			len(a.Writes("w1")) > 0 && len(a.Writes("w2")) > 0 && !slices.ContainsFunc(a.Loading, func(w string) bool { return w != "" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stable assignment to w1 and w2 within 20 s: %+v", a)
		}
		time.Sleep(50 * time.Millisecond)
	}
	join := func(ps []int32) string {
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = strconv.Itoa(int(p))
		}
		return strings.Join(s, ",")
	}

	b.do("open the console", chromedp.Navigate("http://"+apiLn.Addr().String()+"/console?poll=200"))
	b.wait("the coordinator and both workers as members, each worker's partitions as assigned",
		fmt.Sprintf(`(() => { const m = [...document.querySelectorAll("#member-rows tr")].map((r) => r.dataset.name + ":" + r.dataset.role).sort().join(" ");
			const w = (n) => document.querySelector("#worker-rows tr[data-worker='" + n + "']");
			return m === "coord:coordinator w1:worker w2:worker" && w("w1") && w("w1").dataset.writing === %q && w("w2") && w("w2").dataset.writing === %q &&
				w("w1").dataset.loading === "" && w("w2").dataset.loading === "" && document.getElementById("status").dataset.mode === "cluster"; })()`,
			join(a.Writes("w1")), join(a.Writes("w2"))), 20*time.Second)
	b.wait("cycles reported by every partition, the stage lines, and the dead target as down",
		fmt.Sprintf(`[...document.querySelectorAll("#cycle-rows tr")].some((r) => r.cells[1] && r.cells[1].textContent === "%d / %d") &&
			document.querySelector("#chart path.line[data-stage='rank']") && document.querySelector("#chart path.line[data-stage='write']") &&
			document.querySelector("#target-rows tr[data-target='%s']").dataset.up === "false" &&
			document.querySelectorAll("#target-rows tr[data-up='true']").length === 2 &&
			document.getElementById("s-parts").textContent === "%d / %d writing" && document.getElementById("cluster-error").textContent === ""`, P, P, dead, P, P), 20*time.Second)
	b.screenshot(shots, "console-cluster.png")
	if os.Getenv("LB_SCREENSHOTS") == "1" {
		b.do("reopen the console, polling every second", chromedp.Navigate("http://"+apiLn.Addr().String()+"/console?poll=1000"))
		time.Sleep(50 * time.Second) // most of the chart's first minute
		b.screenshot(filepath.Join("..", "..", "docs", "img"), "console.png")
	}

	// The coordinator stops answering: the page says so, and the targets are still read.
	coordSrv.CloseClientConnections()
	coordSrv.Close()
	b.wait("the coordinator's error, the targets still read",
		`document.getElementById("cluster-error").textContent.startsWith("Coordinator: ") && document.querySelector("#member-rows td.info") &&
			document.querySelectorAll("#target-rows tr[data-up='true']").length === 2`, 10*time.Second)

	// An API process without a console source: the page says what to configure.
	bare := api.New(api.DefaultConfig(), st, nil, prometheus.NewRegistry(), nil)
	bare.SetConsole(nil)
	bareLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bctx, bstop := context.WithCancel(context.Background())
	bareDone := make(chan error, 1)
	go func() { bareDone <- bare.Serve(bctx, bareLn) }()
	defer func() {
		bstop()
		if err := <-bareDone; err != nil {
			t.Errorf("api without a console source: %v", err)
		}
	}()
	b.do("open a console without a source", chromedp.Navigate("http://"+bareLn.Addr().String()+"/console?poll=200"))
	b.wait("the reason", `document.getElementById("status").classList.contains("stale") && document.getElementById("status").textContent.includes("no console source") &&
		document.getElementById("status").textContent.includes("--coordinator")`, 10*time.Second)
}
