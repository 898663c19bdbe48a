package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
)

// deployDir is the repository's deploy/ seen from this package's directory.
const deployDir = "../../deploy"

// promTools finds promtool and prometheus (Debian's prometheus package), skipping the
// test when either is absent, except under CI=true where that is a failure.
func promTools(t *testing.T) (promtool, prometheus string) {
	t.Helper()
	var missing []string
	paths := map[string]string{}
	for _, name := range []string{"promtool", "prometheus"} {
		p, err := exec.LookPath(name)
		if err != nil {
			missing = append(missing, name)
		}
		paths[name] = p
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("%s not installed: apt-get install -y prometheus (Debian's package has both; .ci/run installs it)", strings.Join(missing, " and "))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (required under CI=true)")
		}
		t.Skip(msg)
	}
	return paths["promtool"], paths["prometheus"]
}

// TestPrometheusDeployFiles: the scrape config and alert rules pass promtool's checks,
// and the alerts' unit tests (deploy/prometheus/alerts_test.yml) pass.
func TestPrometheusDeployFiles(t *testing.T) {
	promtool, _ := promTools(t)
	dir := filepath.Join(deployDir, "prometheus")
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"},
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// promServer is a real Prometheus scraping a node, stopped at the test's end.
type promServer struct {
	t    *testing.T
	base string
	log  syncBuffer
}

// startPrometheus runs prometheus scraping every job (name -> target) each second with
// the rules file loaded.
func startPrometheus(t *testing.T, bin string, jobs map[string]string, rules string) *promServer {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
`, rules)
	for _, job := range slices.Sorted(maps.Keys(jobs)) {
		cfg += fmt.Sprintf("  - job_name: %q\n    static_configs:\n      - targets: [%q]\n", job, jobs[job])
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &promServer{t: t, base: "http://" + addr}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.log.String())
		}
	})
	return p
}

// query runs an instant query and returns its samples' values (a vector or a scalar).
func (p *promServer) query(q string) ([]float64, error) {
	resp, err := http.Get(p.base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %q: %v in %.300s", q, err, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %q: %s %s", q, r.Status, r.Error)
	}
	var vals [][2]any
	switch r.Data.ResultType {
	case "vector":
		var v []struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return nil, err
		}
		for _, s := range v {
			vals = append(vals, s.Value)
		}
	case "scalar":
		var s [2]any
		if err := json.Unmarshal(r.Data.Result, &s); err != nil {
			return nil, err
		}
		vals = append(vals, s)
	default:
		return nil, fmt.Errorf("query %q: result type %s", q, r.Data.ResultType)
	}
	var out []float64
	for _, v := range vals {
		s, _ := v[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v", q, v[1])
		}
		out = append(out, f)
	}
	return out, nil
}

// dashboardQueries returns every panel's query in the Grafana dashboard, with the
// dashboard's variables replaced as Grafana does for "All" and a 1 s scrape.
func dashboardQueries(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID string `json:"refId"`
				Expr  string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	r := strings.NewReplacer("$__rate_interval", "10s", "${instance}", ".*", "$instance", ".*")
	out := map[string]string{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no query", path, p.Title)
		}
		for _, tg := range p.Targets {
			q := r.Replace(tg.Expr)
			if strings.Contains(q, "$") {
				t.Errorf("%s: panel %q query %s: a variable this test does not know: %s", path, p.Title, tg.RefID, q)
			}
			out[p.Title+" "+tg.RefID] = q
		}
	}
	if len(out) < 10 {
		t.Fatalf("%s: %d queries, want the dashboard's panels (10 or more)", path, len(out))
	}
	return out
}

// adminMetrics scrapes the node's admin /metrics.
func (e *e2e) adminMetrics() string {
	e.t.Helper()
	resp, err := http.Get("http://" + e.node.admin + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// matchSeries lists the scrape's lines labelled with match 1.
func matchSeries(scrape string) []string {
	var out []string
	for _, l := range strings.Split(scrape, "\n") {
		if !strings.HasPrefix(l, "#") && strings.Contains(l, `match="1"`) {
			out = append(out, l)
		}
	}
	return out
}

// TestPrometheusScrapesNode: a real Prometheus scrapes a running node (embedded broker,
// a live match, a dead-lettered event, API traffic) every second with the alert rules
// loaded; every rule evaluates without error, every dashboard panel's query returns a
// number, and once the match completes no series labelled by its id is left, neither in
// the node's /metrics nor in Prometheus.
func TestPrometheusScrapesNode(t *testing.T) {
	_, promBin := promTools(t)
	rules, err := filepath.Abs(filepath.Join(deployDir, "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	queries := dashboardQueries(t, filepath.Join(deployDir, "grafana", "leaderboard.json"))

	e := newE2E(t)
	ctx := context.Background()
	entries, pts := reference.Random(5, reference.Shape{Contests: []int{2, 5, 20, 60}, Players: 22, LineupSize: 11, Teams: 40, PointValues: 20})
	for i := range entries {
		entries[i].ContestID = max(entries[i].ContestID, -entries[i].ContestID)
		entries[i].UserID++
	}
	e.start()
	t.Cleanup(func() { e.stop(); e.node.wait() })
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
	bad := &kgo.Record{Topic: e.cfg.kafka.EntriesTopic, Key: []byte("5"), Value: []byte(`{"match_id":1,"contest_id":5,`)}
	if err := raw.ProduceSync(ctx, bad).FirstErr(); err != nil {
		t.Fatal(err)
	}
	e.publishPoints(pts)
	e.caughtUp(len(entries), pts, "live")
	if s := matchSeries(e.adminMetrics()); len(s) == 0 {
		t.Fatal(`no series labelled match="1" while the match is live: the per-match check below would prove nothing`)
	}

	// API traffic for the rate and p99 panels, until the test ends.
	trafficCtx, stopTraffic := context.WithCancel(ctx)
	var traffic sync.WaitGroup
	traffic.Add(1)
	go func() {
		defer traffic.Done()
		for trafficCtx.Err() == nil {
			for _, path := range []string{"/v1/matches", "/v1/matches/1", fmt.Sprintf("/v1/contests/%d/leaderboard?limit=10", entries[0].ContestID)} {
				if resp, err := http.Get(e.base + path); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	defer func() { stopTraffic(); traffic.Wait() }()

	// A coordinator with no worker in its gossip cluster: every partition is unowned.
	coord := startCoordinatorProc(t, e)
	parts, err := kafkasource.Partitions(ctx, e.cfg.kafka)
	if err != nil {
		t.Fatal(err)
	}

	if text, err := os.ReadFile(rules); err != nil || !strings.Contains(string(text), fmt.Sprintf(") > %g\n        for: 5m", apiP99Budget)) {
		t.Fatalf("%s: LeaderboardAPIP99High's threshold is no longer %g s; update apiP99Budget (%v)", rules, apiP99Budget, err)
	}
	p := startPrometheus(t, promBin, map[string]string{"leaderboard-node": e.node.admin, "leaderboard-coordinator": coord}, rules)
	eventually(t, "Prometheus scraping the node and the coordinator (up == 1, leaderboard_node_ready == 1)", 30*time.Second, func() bool {
		up, err1 := p.query(`sum(up{job=~"leaderboard-node|leaderboard-coordinator"})`)
		ready, err2 := p.query(`leaderboard_node_ready`)
		return err1 == nil && err2 == nil && len(up) == 1 && up[0] == 2 && len(ready) == 1 && ready[0] == 1
	})
	eventually(t, fmt.Sprintf("leaderboard_coordinator_partitions_unowned == %d in Prometheus", len(parts)), 10*time.Second, func() bool {
		v, err := p.query(`leaderboard_coordinator_partitions_unowned`)
		return err == nil && len(v) == 1 && v[0] == float64(len(parts))
	})

	// Every panel's query returns at least one number (NaN is no data: a rate over an
	// idle window, a quantile without requests).
	deadline := time.Now().Add(20 * time.Second)
	for name, q := range queries {
		for {
			vals, err := p.query(q)
			if err != nil {
				t.Fatalf("panel %s: %v", name, err)
			}
			if slicesAny(vals, func(v float64) bool { return !math.IsNaN(v) }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("panel %s: no data from %s (got %v)", name, q, vals)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}

	// Every alert rule evaluated against the node's real series, without error.
	eventually(t, "every alert rule evaluated without error", 15*time.Second, func() bool {
		notOK, failing, n := ruleHealth(p)
		if len(failing) > 0 {
			t.Fatalf("alert rules failing: %v", failing)
		}
		return len(notOK) == 0 && n >= 10
	})
	// The unowned partitions make LeaderboardPartitionsUnowned pending (its for: is 1 m);
	// the healthy node raises nothing else. The one exception is the API's latency alert:
	// under -race on two shared cores a request can take more than its 5 ms budget, and
	// the alert is then right to be pending. It is accepted only with the value that
	// raised it over the budget, so a rule that fires without cause still fails here.
	eventually(t, "LeaderboardPartitionsUnowned pending, and no other alert", 10*time.Second, func() bool {
		var got []string
		for _, a := range alerts(p) {
			if a.name == "LeaderboardAPIP99High" && a.value > apiP99Budget {
				t.Logf("alert %s %s: API p99 %.1f ms in this test process (the race detector, shared cores)", a.name, a.state, a.value*1e3)
				continue
			}
			got = append(got, a.name+" "+a.state)
		}
		if len(got) > 1 || (len(got) == 1 && got[0] != "LeaderboardPartitionsUnowned pending") {
			t.Fatalf("alerts %v, want only LeaderboardPartitionsUnowned pending", got)
		}
		return len(got) == 1
	})

	// The match completes: its per-match series leave the node's /metrics, and
	// Prometheus, after its next scrape, returns none either.
	if err := e.pub.PublishMatch(ctx, kafkasource.MatchEvent{MatchID: 1, State: "completed"}); err != nil {
		t.Fatal(err)
	}
	e.caughtUp(len(entries), pts, "completed")
	var left []string
	eventually(t, "no series labelled match=\"1\" after completion", 10*time.Second, func() bool {
		left = matchSeries(e.adminMetrics())
		return len(left) == 0
	})
	eventually(t, "Prometheus dropping the completed match's series", 10*time.Second, func() bool {
		vals, err := p.query(`{__name__=~"leaderboard_.*", match="1"}`)
		return err == nil && len(vals) == 0
	})
}

func slicesAny(vs []float64, f func(float64) bool) bool {
	for _, v := range vs {
		if f(v) {
			return true
		}
	}
	return false
}

// ruleHealth lists the rules not yet evaluated ok and those whose evaluation failed
// ("name: lastError"), and counts all.
func ruleHealth(p *promServer) (notOK, failing []string, n int) {
	resp, err := http.Get(p.base + "/api/v1/rules")
	if err != nil {
		return []string{err.Error()}, nil, 0
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&r); err != nil {
		return []string{err.Error()}, nil, 0
	}
	for _, g := range r.Data.Groups {
		for _, rule := range g.Rules {
			n++
			if rule.Health != "ok" {
				notOK = append(notOK, rule.Name+": "+rule.Health)
			}
			if rule.Health == "err" {
				failing = append(failing, rule.Name+": "+rule.LastError)
			}
		}
	}
	return notOK, failing, n
}

// alerts lists Prometheus' active alerts as "name state".
// apiP99Budget is LeaderboardAPIP99High's threshold in deploy/prometheus/alerts.yml.
const apiP99Budget = 0.005

type alert struct {
	name, state string
	value       float64 // the rule's expression when the alert was last evaluated
}

// alerts lists Prometheus's active alerts, sorted by name and state.
func alerts(p *promServer) []alert {
	resp, err := http.Get(p.base + "/api/v1/alerts")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
				Value  string            `json:"value"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil
	}
	var out []alert
	for _, a := range r.Data.Alerts {
		v, err := strconv.ParseFloat(a.Value, 64)
		if err != nil {
			v = math.NaN()
		}
		out = append(out, alert{name: a.Labels["alertname"], state: a.State, value: v})
	}
	slices.SortFunc(out, func(a, b alert) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.state, b.state))
	})
	return out
}

// startCoordinatorProc runs `leaderboard coordinator` in-process on the node's broker and
// topics, and returns its HTTP address (its /metrics); it stops at the test's end.
func startCoordinatorProc(t *testing.T, e *e2e) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	k := e.cfg.kafka
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"coordinator", "--kafka", strings.Join(k.Brokers, ","),
			"--entries-topic", k.EntriesTopic, "--points-topic", k.PointsTopic, "--matches-topic", k.MatchesTopic, "--dlq-topic", k.DLQTopic,
			"--bind", "127.0.0.1:0", "--http", addr, "--interval", "500ms", "--data-dir", t.TempDir(), "--node-name", "c1", "--settle", "0s", "--store", "none"}, &out, &errb)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("coordinator still running 10 s after its context ended")
		}
		if t.Failed() {
			t.Logf("coordinator stderr:\n%s", errb.String())
		}
	})
	eventually(t, "the coordinator's /metrics", 20*time.Second, func() bool {
		select {
		case code := <-done:
			t.Fatalf("coordinator exited %d: %s", code, errb.String())
		default:
		}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return addr
}

// TestReadyGauge: leaderboard_node_ready follows the ready function at each scrape.
func TestReadyGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	var ready atomic.Bool
	registerReady(reg, ready.Load)
	for _, want := range []float64{0, 1, 0} {
		ready.Store(want == 1)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		if len(mfs) != 1 || mfs[0].GetName() != "leaderboard_node_ready" || len(mfs[0].GetMetric()) != 1 {
			t.Fatalf("gathered %v, want leaderboard_node_ready alone", mfs)
		}
		if got := mfs[0].GetMetric()[0].GetGauge().GetValue(); got != want {
			t.Errorf("ready %v: leaderboard_node_ready = %v", want == 1, got)
		}
	}
}
