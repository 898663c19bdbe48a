package api

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"

	"github.com/fantasy/leaderboard/coordinator"
)

// The operator console: a page (web/console.*) served at /console that polls
// /console/v1/overview, which a ConsoleSource answers: the cluster's members, partitions
// and cycles (the coordinator's /status, or a one-member view built by a standalone node)
// and counters taken from the processes' metrics at that moment. Rates are the page's:
// the difference of two overviews over the difference of their scrape times.
//
//go:embed web/console.html web/console.js web/console.css
var consoleFiles embed.FS

// ConsoleSource answers the console's overview.
type ConsoleSource interface {
	Overview(ctx context.Context) (ConsoleOverview, error)
}

// ConsoleOverview is what /console/v1/overview answers.
type ConsoleOverview struct {
	At time.Time `json:"at"` // when the overview was taken
	// Mode is "standalone" (one process, LocalConsole) or "cluster" (ClusterConsole).
	Mode string `json:"mode"`
	// Cluster is the coordinator's status (mode "cluster") or the node's own view
	// (mode "standalone", a member of role "standalone").
	Cluster coordinator.Status `json:"cluster"`
	// ClusterError says why Cluster is empty: the coordinator could not be found or did
	// not answer. The metrics are still taken.
	ClusterError string `json:"cluster_error,omitempty"`
	// Targets are the processes whose metrics were taken, each with its scrape time; an
	// unreachable one is listed with its error and counts nothing.
	Targets []ConsoleTarget `json:"targets"`
	// Metrics sums the counters of every target that answered.
	Metrics ConsoleMetrics `json:"metrics"`
}

// ConsoleTarget is one process whose metrics were taken.
type ConsoleTarget struct {
	Target    string    `json:"target"` // host:port of its /metrics, or "local"
	Up        bool      `json:"up"`
	Error     string    `json:"error,omitempty"`
	ScrapedAt time.Time `json:"scraped_at"`
}

// ConsoleMetrics are counters summed across processes (they only grow, except when a
// process restarts or stops answering: the page shows no rate for a counter that went down).
type ConsoleMetrics struct {
	// Events accepted from Kafka, by topic (leaderboard_source_events_total).
	Events map[string]float64 `json:"events"`
	// Rejected events, by reason code (leaderboard_source_events_rejected_total, all
	// topics; the worker's rejections are counted there too when it dead-letters them).
	Rejected map[string]float64 `json:"rejected"`
	// DeadLetters written to the DLQ and acknowledged, by reason code
	// (leaderboard_source_dead_letters_written_total, all topics).
	DeadLetters map[string]float64 `json:"dead_letters"`
	// DLQErrors: failed attempts to write dead letters (source and worker).
	DLQErrors float64 `json:"dlq_errors"`
	// StoreWritten: records the workers wrote to the store (leaderboard_worker_records_written_total).
	StoreWritten float64 `json:"store_written"`
	// StoreErrors: Aerospike's failed records and batches, by result code
	// (leaderboard_aerospike_errors_total; none with the embedded store).
	StoreErrors map[string]float64 `json:"store_errors"`
	// UnwrittenCycles: match cycles whose store writes failed (leaderboard_worker_match_cycles_unwritten_total).
	UnwrittenCycles float64 `json:"unwritten_cycles"`
	// CycleErrors: cycles that failed (leaderboard_worker_cycle_errors_total).
	CycleErrors float64 `json:"cycle_errors"`
	// Stages: time per cycle stage (leaderboard_worker_cycle_stage_seconds), by stage.
	Stages map[string]ConsoleTiming `json:"stages"`
	// Cycle: whole cycles, tick to last write (leaderboard_worker_cycle_seconds).
	Cycle ConsoleTiming `json:"cycle"`
}

// ConsoleTiming is a histogram's sum and count: the page's mean over an interval is the
// difference of sums over the difference of counts.
type ConsoleTiming struct {
	Seconds float64 `json:"seconds"`
	Count   uint64  `json:"count"`
}

func newConsoleMetrics() ConsoleMetrics {
	return ConsoleMetrics{Events: map[string]float64{}, Rejected: map[string]float64{}, DeadLetters: map[string]float64{},
		StoreErrors: map[string]float64{}, Stages: map[string]ConsoleTiming{}}
}

// add sums one process's metric families into m. Families the console does not show are
// ignored; a family of an unexpected type counts nothing.
func (m *ConsoleMetrics) add(fams []*dto.MetricFamily) {
	for _, f := range fams {
		for _, x := range f.GetMetric() {
			v := x.GetCounter().GetValue()
			switch f.GetName() {
			case "leaderboard_source_events_total":
				m.Events[label(x, "topic")] += v
			case "leaderboard_source_events_rejected_total":
				m.Rejected[label(x, "reason")] += v
			case "leaderboard_source_dead_letters_written_total":
				m.DeadLetters[label(x, "reason")] += v
			case "leaderboard_source_dlq_write_errors_total", "leaderboard_worker_dlq_errors_total":
				m.DLQErrors += v
			case "leaderboard_worker_records_written_total":
				m.StoreWritten += v
			case "leaderboard_aerospike_errors_total":
				m.StoreErrors[label(x, "code")] += v
			case "leaderboard_worker_match_cycles_unwritten_total":
				m.UnwrittenCycles += v
			case "leaderboard_worker_cycle_errors_total":
				m.CycleErrors += v
			case "leaderboard_worker_cycle_stage_seconds":
				if h := x.GetHistogram(); h != nil {
					s := m.Stages[label(x, "stage")]
					s.Seconds += h.GetSampleSum()
					s.Count += h.GetSampleCount()
					m.Stages[label(x, "stage")] = s
				}
			case "leaderboard_worker_cycle_seconds":
				if h := x.GetHistogram(); h != nil {
					m.Cycle.Seconds += h.GetSampleSum()
					m.Cycle.Count += h.GetSampleCount()
				}
			}
		}
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// LocalConsole is the console of one process (standalone, demo): the metrics gathered
// from g, and the cluster view local returns (StandaloneStatus builds one).
func LocalConsole(g prometheus.Gatherer, local func() coordinator.Status) ConsoleSource {
	return &localConsole{g: g, local: local, now: time.Now}
}

type localConsole struct {
	g     prometheus.Gatherer
	local func() coordinator.Status
	now   func() time.Time
}

func (c *localConsole) Overview(context.Context) (ConsoleOverview, error) {
	o := ConsoleOverview{Mode: "standalone", Metrics: newConsoleMetrics()}
	if c.local != nil {
		o.Cluster = c.local()
	}
	fams, err := c.g.Gather()
	o.At = c.now()
	t := ConsoleTarget{Target: "local", Up: true, ScrapedAt: o.At}
	if err != nil && len(fams) == 0 {
		t.Up, t.Error = false, "cannot gather the metrics: "+err.Error()
	}
	o.Metrics.add(fams) // a partial gather still counts what it has
	o.Targets = []ConsoleTarget{t}
	return o, nil
}

// StandaloneStatus is the cluster view of a single node without a coordinator: one member
// of role "standalone" that writes its caught-up partitions and loads the others
// (parts: worker.Worker.Partitions' answer), at the given cycle.
func StandaloneStatus(node, addr string, interval time.Duration, parts map[int32]bool, cycle int64) coordinator.Status {
	if node == "" {
		node, _ = os.Hostname()
		if node == "" {
			node = "standalone"
		}
	}
	ws := coordinator.WorkerStatus{Name: node, Writing: []int32{}, Loading: []int32{}, Alive: true}
	for p, caughtUp := range parts {
		if caughtUp {
			ws.Writing = append(ws.Writing, p)
		} else {
			ws.Loading = append(ws.Loading, p)
		}
	}
	slices.Sort(ws.Writing)
	slices.Sort(ws.Loading)
	return coordinator.Status{
		Node:       node,
		Cycle:      cycle,
		Interval:   interval.String(),
		Partitions: len(parts),
		Members:    []coordinator.MemberStatus{{Name: node, Role: "standalone", Addr: addr, HTTPAddr: addr, Capacity: 1}},
		Workers:    []coordinator.WorkerStatus{ws},
		Cycles:     []coordinator.CycleStatus{},
		Matches:    []coordinator.MatchStatus{},
	}
}

// ClusterConsole is the console of a cluster, for an API process: the status of the
// coordinator whose HTTP address coord returns, and the metrics of every target (host:port
// or URL of an admin listener; "/metrics" is appended to a bare address) that targets
// returns, taken concurrently and summed. An unreachable coordinator or target is named
// in the answer, never an error of the whole answer. hc nil: a client with a 3 s timeout.
// An overview younger than a second is answered again, so that however many consoles are
// open, the targets are scraped at most once a second.
func ClusterConsole(coord func(ctx context.Context) (string, error), targets func() []string, hc *http.Client) ConsoleSource {
	if hc == nil {
		hc = &http.Client{Timeout: 3 * time.Second}
	}
	return &clusterConsole{coord: coord, targets: targets, hc: hc, now: time.Now}
}

type clusterConsole struct {
	coord   func(ctx context.Context) (string, error)
	targets func() []string
	hc      *http.Client
	now     func() time.Time

	mu   sync.Mutex // held while an overview is taken: concurrent callers share it
	last ConsoleOverview
}

// consoleMaxAge is how long an overview is answered again.
const consoleMaxAge = time.Second

func (c *clusterConsole) Overview(ctx context.Context) (ConsoleOverview, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.last.At.IsZero() && c.now().Sub(c.last.At) < consoleMaxAge {
		return c.last, nil
	}
	o := c.take(ctx)
	c.last = o
	return o, nil
}

func (c *clusterConsole) take(ctx context.Context) ConsoleOverview {
	o := ConsoleOverview{Mode: "cluster", Metrics: newConsoleMetrics(), Targets: []ConsoleTarget{}}
	var wg sync.WaitGroup
	if c.coord != nil {
		wg.Go(func() {
			st, err := c.status(ctx)
			if err != nil {
				o.ClusterError = err.Error()
				return
			}
			o.Cluster = st
		})
	} else {
		o.ClusterError = "no coordinator configured (--coordinator)"
	}
	var names []string
	if c.targets != nil {
		names = c.targets()
	}
	o.Targets = make([]ConsoleTarget, len(names))
	fams := make([][]*dto.MetricFamily, len(names))
	for i, name := range names {
		wg.Go(func() {
			fams[i], o.Targets[i] = c.scrape(ctx, name)
		})
	}
	wg.Wait()
	for _, f := range fams {
		o.Metrics.add(f)
	}
	o.At = c.now()
	return o
}

func (c *clusterConsole) status(ctx context.Context) (coordinator.Status, error) {
	addr, err := c.coord(ctx)
	if err != nil {
		return coordinator.Status{}, fmt.Errorf("cannot find the coordinator: %w", err)
	}
	cl, err := coordinator.NewClient(addr, "", c.hc)
	if err != nil {
		return coordinator.Status{}, err
	}
	return cl.Status(ctx)
}

// maxScrape bounds the metrics page read from one target.
const maxScrape = 32 << 20

// scrape takes target's metrics in Prometheus' text format.
func (c *clusterConsole) scrape(ctx context.Context, target string) ([]*dto.MetricFamily, ConsoleTarget) {
	t := ConsoleTarget{Target: target}
	fail := func(format string, args ...any) ([]*dto.MetricFamily, ConsoleTarget) {
		t.ScrapedAt = c.now()
		t.Error = fmt.Sprintf(format, args...)
		return nil, t
	}
	u := target
	if !strings.Contains(u, "://") {
		u = "http://" + u
	}
	if !strings.HasSuffix(u, "/metrics") {
		u = strings.TrimSuffix(u, "/") + "/metrics"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fail("bad target %q: want host:port or http://host:port: %v", target, err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the address is the target's already
		}
		return fail("cannot scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail("scrape answered %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(io.LimitReader(resp.Body, maxScrape))
	t.ScrapedAt = c.now()
	if err != nil {
		return fail("cannot parse the metrics of %s: %v", u, err)
	}
	out := make([]*dto.MetricFamily, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	t.Up = true
	return out, t
}

// consoleTimeout bounds one overview (the coordinator's status and every scrape).
const consoleTimeout = 5 * time.Second

// errNoConsole is the overview's answer when the server has no console source.
var errNoConsole = errors.New("no console source: this API process was started without --coordinator or --metrics-targets (docs/OPERATIONS.md, \"Console\")")

// SetConsole serves the operator console from src: GET /console (the page), its assets
// under /console/{file}, and GET /console/v1/overview (src's answer as JSON; 503 with
// the reason when src is nil or fails). Call it before Serve.
func (s *Server) SetConsole(src ConsoleSource) {
	assets := map[string]webAsset{}
	for _, name := range []string{"console.html", "console.js", "console.css"} {
		b, err := consoleFiles.ReadFile("web/" + name)
		if err != nil {
			panic("BUG: cannot read the embedded console file " + name + ": " + err.Error())
		}
		sum := sha256.Sum256(b)
		ct := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}[path.Ext(name)]
		assets[name] = webAsset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	serve := func(ctx *fasthttp.RequestCtx, name string) {
		a, ok := assets[name]
		if !ok {
			writeError(ctx, &httpError{fasthttp.StatusNotFound, "no such file: " + quote(name)})
			return
		}
		h := &ctx.Response.Header
		h.Set("ETag", a.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		if name == "console.html" {
			h.Set("Content-Security-Policy", webCSP)
			h.Set("Referrer-Policy", "no-referrer")
		}
		if string(ctx.Request.Header.Peek("If-None-Match")) == a.etag {
			ctx.SetStatusCode(fasthttp.StatusNotModified)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetContentType(a.contentType)
		ctx.SetBody(a.body)
	}
	s.routes = append(s.routes,
		plainRoute("GET /console", func(ctx *fasthttp.RequestCtx) { serve(ctx, "console.html") }),
		plainRoute("GET /console/v1/overview", func(ctx *fasthttp.RequestCtx) {
			if src == nil {
				writeError(ctx, &httpError{fasthttp.StatusServiceUnavailable, errNoConsole.Error()})
				return
			}
			c, cancel := context.WithTimeout(context.Background(), consoleTimeout)
			defer cancel()
			o, err := src.Overview(c)
			if err != nil {
				writeError(ctx, &httpError{fasthttp.StatusServiceUnavailable, "console overview: " + err.Error()})
				return
			}
			writeJSON(ctx, fasthttp.StatusOK, o)
		}),
		plainRoute("GET /console/{file}", func(ctx *fasthttp.RequestCtx) {
			p := string(ctx.Path())
			serve(ctx, p[strings.LastIndexByte(p, '/')+1:])
		}),
	)
}
