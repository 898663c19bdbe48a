package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fantasy/leaderboard/coordinator"
)

// consoleRegistry is one process's metrics, under the names and labels the worker and
// kafkasource register, with the given counts.
func consoleRegistry(events, dead, written float64, stageSecs []float64) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	f := promauto.With(reg)
	ev := f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_source_events_total", Help: "h"}, []string{"topic"})
	ev.WithLabelValues("lb.entries").Add(events)
	ev.WithLabelValues("lb.points").Add(1)
	dl := f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_source_dead_letters_written_total", Help: "h"}, []string{"topic", "reason"})
	dl.WithLabelValues("lb.entries", "lineup_size").Add(dead)
	dl.WithLabelValues("lb.points", "lineup_size").Add(1) // summed across topics
	rj := f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_source_events_rejected_total", Help: "h"}, []string{"topic", "reason"})
	rj.WithLabelValues("lb.entries", "lineup_size").Add(dead + 2)
	w := f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_worker_records_written_total", Help: "h"}, []string{"namespace", "set"})
	w.WithLabelValues("live", "page").Add(written)
	w.WithLabelValues("live", "contest").Add(1)
	f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_aerospike_errors_total", Help: "h"}, []string{"code"}).WithLabelValues("TIMEOUT").Add(3)
	f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_worker_match_cycles_unwritten_total", Help: "h"}).Add(2)
	f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_worker_cycle_errors_total", Help: "h"}).Add(1)
	f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_worker_dlq_errors_total", Help: "h"}).Add(1)
	f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_unrelated_total", Help: "h"}).Add(1000)
	st := f.NewHistogramVec(prometheus.HistogramOpts{Name: "leaderboard_worker_cycle_stage_seconds", Help: "h"}, []string{"stage"})
	cy := f.NewHistogram(prometheus.HistogramOpts{Name: "leaderboard_worker_cycle_seconds", Help: "h"})
	for _, s := range stageSecs {
		st.WithLabelValues("rank").Observe(s)
		st.WithLabelValues("write").Observe(2 * s)
		cy.Observe(4 * s)
	}
	return reg
}

func TestLocalConsole(t *testing.T) {
	reg := consoleRegistry(100, 4, 50, []float64{0.5, 0.25})
	st := StandaloneStatus("node-a", "127.0.0.1:8080", 10*time.Second, map[int32]bool{3: true, 0: true, 1: false}, 42)
	o, err := LocalConsole(reg, func() coordinator.Status { return st }).Overview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o.Mode != "standalone" || o.Cluster.Node != "node-a" || o.Cluster.Cycle != 42 || o.Cluster.Partitions != 3 || o.Cluster.Interval != "10s" {
		t.Fatalf("cluster view %+v", o.Cluster)
	}
	if len(o.Cluster.Members) != 1 || o.Cluster.Members[0].Role != "standalone" || o.Cluster.Members[0].Name != "node-a" {
		t.Fatalf("members %+v", o.Cluster.Members)
	}
	if w := o.Cluster.Workers; len(w) != 1 || !slices.Equal(w[0].Writing, []int32{0, 3}) || !slices.Equal(w[0].Loading, []int32{1}) || !w[0].Alive {
		t.Fatalf("workers %+v", w)
	}
	if len(o.Targets) != 1 || !o.Targets[0].Up || o.Targets[0].ScrapedAt.IsZero() {
		t.Fatalf("targets %+v", o.Targets)
	}
	checkConsoleMetrics(t, o.Metrics, 1)
}

// checkConsoleMetrics: n processes of consoleRegistry(100, 4, 50, {0.5, 0.25}).
func checkConsoleMetrics(t *testing.T, m ConsoleMetrics, n float64) {
	t.Helper()
	want := func(what string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	want("events lb.entries", m.Events["lb.entries"], 100*n)
	want("events lb.points", m.Events["lb.points"], n)
	want("dead letters lineup_size", m.DeadLetters["lineup_size"], 5*n)
	want("rejected lineup_size", m.Rejected["lineup_size"], 6*n)
	want("store written", m.StoreWritten, 51*n)
	want("store errors TIMEOUT", m.StoreErrors["TIMEOUT"], 3*n)
	want("unwritten", m.UnwrittenCycles, 2*n)
	want("cycle errors", m.CycleErrors, n)
	want("dlq errors", m.DLQErrors, n)
	want("rank seconds", m.Stages["rank"].Seconds, 0.75*n)
	want("rank count", float64(m.Stages["rank"].Count), 2*n)
	want("write seconds", m.Stages["write"].Seconds, 1.5*n)
	want("cycle seconds", m.Cycle.Seconds, 3*n)
	want("cycle count", float64(m.Cycle.Count), 2*n)
	if len(m.Events) != 2 || len(m.Stages) != 2 {
		t.Errorf("unexpected keys: events %v, stages %v", m.Events, m.Stages)
	}
}

// TestClusterConsole: the coordinator's status and every target's metrics, summed; an
// unreachable target, a target that is not a metrics page and a coordinator that does not
// answer are named in the overview, never an error of the whole answer.
func TestClusterConsole(t *testing.T) {
	status := coordinator.Status{Node: "coord", Epoch: 7, Cycle: 99, Partitions: 4,
		Members: []coordinator.MemberStatus{{Name: "coord", Role: "coordinator"}, {Name: "w1", Role: "worker"}},
		Workers: []coordinator.WorkerStatus{{Name: "w1", Writing: []int32{0, 1, 2, 3}, Loading: []int32{}, Alive: true}}}
	coord := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != coordinator.PathStatus {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(status)
	}))
	t.Cleanup(coord.Close)
	var targets []string
	for range 2 {
		s := httptest.NewServer(promhttp.HandlerFor(consoleRegistry(100, 4, 50, []float64{0.5, 0.25}), promhttp.HandlerOpts{}))
		t.Cleanup(s.Close)
		targets = append(targets, strings.TrimPrefix(s.URL, "http://"))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	notMetrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>{{not metrics\n")) }))
	t.Cleanup(notMetrics.Close)
	targets = append(targets, dead, notMetrics.URL+"/metrics")

	src := ClusterConsole(func(context.Context) (string, error) { return coord.URL, nil }, func() []string { return targets }, nil)
	o, err := src.Overview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o.Mode != "cluster" || o.ClusterError != "" || o.Cluster.Node != "coord" || o.Cluster.Epoch != 7 || len(o.Cluster.Workers) != 1 {
		t.Fatalf("cluster %+v (error %q)", o.Cluster, o.ClusterError)
	}
	if len(o.Targets) != 4 {
		t.Fatalf("targets %+v", o.Targets)
	}
	for i, tg := range o.Targets {
		if tg.Target != targets[i] || tg.ScrapedAt.IsZero() || tg.Up != (i < 2) || (tg.Error == "") != (i < 2) {
			t.Errorf("target %d: %+v", i, tg)
		}
	}
	if !strings.Contains(o.Targets[2].Error, "cannot scrape") || !strings.Contains(o.Targets[3].Error, "cannot parse") {
		t.Errorf("target errors %q, %q", o.Targets[2].Error, o.Targets[3].Error)
	}
	checkConsoleMetrics(t, o.Metrics, 2)
	// Within a second the same overview answers again: the targets are not scraped.
	if again, _ := src.Overview(context.Background()); !again.At.Equal(o.At) {
		t.Errorf("a second overview at once was taken again (%v, first %v)", again.At, o.At)
	}
	cc := src.(*clusterConsole)
	cc.now = func() time.Time { return o.At.Add(consoleMaxAge) }
	if later, _ := src.Overview(context.Background()); !later.At.Equal(o.At.Add(consoleMaxAge)) {
		t.Errorf("an overview a second later was not taken again (%v, first %v)", later.At, o.At)
	}

	// The coordinator cannot be found, or does not answer: the metrics still come.
	for _, find := range []func(context.Context) (string, error){
		func(context.Context) (string, error) { return "", context.DeadlineExceeded },
		func(context.Context) (string, error) { return dead, nil },
	} {
		o, err := ClusterConsole(find, func() []string { return targets[:1] }, nil).Overview(context.Background())
		if err != nil || o.ClusterError == "" || o.Cluster.Node != "" {
			t.Fatalf("coordinator down: %v, cluster error %q, cluster %+v", err, o.ClusterError, o.Cluster)
		}
		checkConsoleMetrics(t, o.Metrics, 1)
	}
}

type failingConsole struct{}

func (failingConsole) Overview(context.Context) (ConsoleOverview, error) {
	return ConsoleOverview{}, context.DeadlineExceeded
}

// newConsoleServer serves a server with the console set (nil: SetConsole not called).
func newConsoleServer(t *testing.T, set bool, src ConsoleSource) *testServer {
	t.Helper()
	s := New(DefaultConfig(), newFakeStore(), nil, prometheus.NewRegistry(), nil)
	if set {
		s.SetConsole(src)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	ts := &testServer{URL: "http://" + ln.Addr().String(), client: &http.Client{}}
	t.Cleanup(func() {
		ts.client.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

// TestConsoleRoutes: the page and its assets (ours only, under a policy that allows this
// server only), the overview as JSON, 503 with a reason without a source or when it fails,
// and no console at all on a server without SetConsole.
func TestConsoleRoutes(t *testing.T) {
	reg := consoleRegistry(100, 4, 50, []float64{0.5, 0.25})
	srv := newConsoleServer(t, true, LocalConsole(reg, func() coordinator.Status {
		return StandaloneStatus("n1", "x:1", time.Second, map[int32]bool{0: true}, 5)
	}))
	body, resp := get(t, srv, "/console")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(body), "Leaderboard console") {
		t.Fatalf("GET /console: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Fatalf("GET /console: Content-Security-Policy %q", csp)
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(string(body), -1)
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	seen := 0
	for _, m := range refs {
		ref := m[1]
		if ref == "data:," || ref == "/" {
			continue
		}
		if !strings.HasPrefix(ref, "/console/") && !strings.HasPrefix(ref, "/web/") {
			t.Fatalf("reference %q is not one of ours", ref)
		}
		b, r := get(t, srv, ref)
		if want := types[ref[strings.LastIndexByte(ref, '.'):]]; r.StatusCode != 200 || r.Header.Get("Content-Type") != want || len(b) == 0 {
			t.Fatalf("GET %s: %d %q (want %q)", ref, r.StatusCode, r.Header.Get("Content-Type"), want)
		}
		if u := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).FindAllString(strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", ""), -1); len(u) > 0 {
			t.Fatalf("%s names external hosts: %q", ref, u)
		}
		seen++
	}
	if seen < 3 {
		t.Fatalf("the page references %d assets: %q", seen, refs)
	}
	if _, r := get(t, srv, "/console/nope.js"); r.StatusCode != 404 {
		t.Fatalf("GET /console/nope.js: %d", r.StatusCode)
	}

	body, resp = get(t, srv, "/console/v1/overview")
	var o ConsoleOverview
	if resp.StatusCode != 200 || json.Unmarshal(body, &o) != nil || o.Cluster.Node != "n1" || o.Metrics.Events["lb.entries"] != 100 || o.At.IsZero() {
		t.Fatalf("overview: %d %s", resp.StatusCode, body)
	}

	for _, tc := range []struct {
		name string
		set  bool
		src  ConsoleSource
		code int
		msg  string
	}{
		{"no source", true, nil, 503, "no console source"},
		{"failing source", true, failingConsole{}, 503, "console overview: context deadline exceeded"},
		{"no console", false, nil, 404, "no such endpoint"},
	} {
		srv := newConsoleServer(t, tc.set, tc.src)
		body, resp := get(t, srv, "/console/v1/overview")
		var e struct{ Error string }
		if resp.StatusCode != tc.code || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, resp.StatusCode, body, tc.code, tc.msg)
		}
	}
}

// BenchmarkClusterOverview: taking one overview of a coordinator's status and 4 targets'
// metrics (each a worker-sized page of the console's families) over loopback.
func BenchmarkClusterOverview(b *testing.B) {
	coord := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(coordinator.Status{Node: "coord"})
	}))
	defer coord.Close()
	var targets []string
	for range 4 {
		s := httptest.NewServer(promhttp.HandlerFor(consoleRegistry(100, 4, 50, []float64{0.5, 0.25}), promhttp.HandlerOpts{}))
		defer s.Close()
		targets = append(targets, s.URL)
	}
	src := ClusterConsole(func(context.Context) (string, error) { return coord.URL, nil }, func() []string { return targets }, nil).(*clusterConsole)
	b.ReportAllocs()
	for b.Loop() { // take: every overview afresh, as once a second
		if o := src.take(context.Background()); o.ClusterError != "" || len(o.Targets) != 4 || !o.Targets[3].Up {
			b.Fatalf("%s %+v", o.ClusterError, o.Targets)
		}
	}
}
