package coordinator

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/membership"
)

// gossipConfig gossips on loopback at membership's own test timings (200 ms probes: the
// box running the tests is loaded, and tighter settings declare live members dead).
func gossipConfig(t testing.TB, name string, join ...string) membership.Config {
	var c membership.Config
	fs := flagSet()
	c.RegisterFlags(fs, "")
	c.NodeName = name
	c.Bind = "127.0.0.1:0"
	c.Label = "coordinator-test"
	c.Join = join
	c.ProbeInterval = 200 * time.Millisecond
	c.ProbeTimeout = 100 * time.Millisecond
	c.SuspicionMult = 4
	c.GossipInterval = 20 * time.Millisecond
	c.PushPullInterval = 500 * time.Millisecond
	c.JoinMinBackoff = 20 * time.Millisecond
	c.JoinMaxBackoff = 100 * time.Millisecond
	c.RejoinInterval = 0
	c.LeaveTimeout = time.Second
	return c
}

func startMember(t testing.TB, cfg membership.Config, role membership.Role) *membership.Service {
	t.Helper()
	s, err := membership.New(cfg, membership.Meta{Role: role, HTTPAddr: "127.0.0.1:1", Capacity: 1, Version: "test"}, testLogger(t, cfg.NodeName), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StartAsync(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.AwaitRunning(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopService(t, s) })
	return s
}

// agent plays a worker toward the coordinator, through the Client, as the worker will:
// it follows the table, reports caught up for what it loads (unless held), and reports
// every tick for the partitions it writes.
type agent struct {
	name   string
	cl     *Client
	hold   chan struct{} // closed: caught-up reports may go
	cancel context.CancelFunc
	wg     sync.WaitGroup
	h      *harness
}

// harness checks every table the coordinator publishes and every report it accepts.
type harness struct {
	t      *testing.T
	mu     sync.Mutex
	tables []Assignment
	gone   map[string]bool           // workers killed: their partitions may be taken over
	caught map[int32]map[string]bool // caught-up reports sent, by partition
	wrote  map[[2]int64]string       // (epoch, partition) -> the worker whose report was accepted
	errs   []string
	// view is the coordinator's membership: a writer it no longer sees (declared dead,
	// even falsely, on a box too loaded to answer probes in time) is taken over, not
	// handed over.
	view interface{ Members() []membership.Member }
}

// sees reports whether the coordinator's membership holds member (true without a view).
func (h *harness) sees(member string) bool {
	if h.view == nil {
		return true
	}
	for _, m := range h.view.Members() {
		if m.Name == member {
			return true
		}
	}
	return false
}

func (h *harness) fail(format string, args ...any) {
	h.errs = append(h.errs, fmt.Sprintf(format, args...))
}

// publish runs under the coordinator's lock for every table, in order.
func (h *harness) publish(a Assignment) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var prev Assignment
	if n := len(h.tables); n > 0 {
		prev = h.tables[n-1]
		if a.Epoch <= prev.Epoch {
			h.fail("epoch %d published after %d", a.Epoch, prev.Epoch)
		}
	}
	for p, w := range a.Writer {
		if w == "" || a.Loading[p] == w {
			h.fail("epoch %d partition %d: writer %q, loading %q", a.Epoch, p, w, a.Loading[p])
		}
		if len(prev.Writer) == 0 {
			continue
		}
		if old := prev.Writer[p]; old != "" && old != w && !h.gone[old] && h.sees(old) {
			// A live writer hands over only to the loader that reported caught up.
			if prev.Loading[p] != w || !h.caught[int32(p)][w] {
				h.fail("epoch %d partition %d: live writer %s replaced by %s (previous loader %q, caught up %v): not make-before-break",
					a.Epoch, p, old, w, prev.Loading[p], h.caught[int32(p)][w])
			}
		}
	}
	h.tables = append(h.tables, a.clone())
}

func (h *harness) matchesOf(p int32) []int64 {
	if p < 4 {
		return []int64{1, 2} // match 2 lives in partitions 0..3 only
	}
	return []int64{1}
}

func (h *harness) startAgent(url, name string, held bool) *agent {
	cl, err := NewClient(url, name, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &agent{name: name, cl: cl, hold: make(chan struct{}), cancel: cancel, h: h}
	if !held {
		close(a.hold)
	}
	var mu sync.Mutex
	var cur Assignment
	a.wg.Add(2)
	go func() { // the table and hand-overs
		defer a.wg.Done()
		for ctx.Err() == nil {
			next, err := cl.WaitAssignment(ctx, cur.Epoch)
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			mu.Lock()
			cur = next
			mu.Unlock()
			for _, p := range next.Loads(name) {
				select {
				case <-a.hold:
				case <-ctx.Done():
					return
				}
				h.mu.Lock()
				if h.caught[p] == nil {
					h.caught[p] = map[string]bool{}
				}
				h.caught[p][name] = true
				h.mu.Unlock()
				_ = cl.CaughtUp(ctx, p, next.Epoch) // stale: a newer table is coming
			}
		}
	}()
	go func() { // cycles
		defer a.wg.Done()
		for ctx.Err() == nil {
			tk, err := cl.Next(ctx)
			if err != nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			mu.Lock()
			as := cur
			mu.Unlock()
			for _, p := range as.Writes(name) {
				err := cl.Report(ctx, Report{Partition: p, Epoch: as.Epoch, Cycle: tk.Cycle, Matches: h.matchesOf(p), Entries: 100, Contests: 10,
					Stages: []StageTime{{"fold", 0.001}, {"rank", 0.002}}})
				if err != nil {
					continue // stale after a hand-over: the next table says so
				}
				h.mu.Lock()
				key := [2]int64{as.Epoch, int64(p)}
				if w, ok := h.wrote[key]; ok && w != name {
					h.fail("epoch %d partition %d written by both %s and %s", as.Epoch, p, w, name)
				}
				h.wrote[key] = name
				h.mu.Unlock()
			}
		}
	}()
	return a
}

func (a *agent) stop() { a.cancel(); a.wg.Wait() }

// One process: gossip on loopback, a coordinator and worker members that talk to it
// through the Client. Assignment converges and covers every partition; a fourth worker
// takes partitions make-before-break; a killed worker's partitions are taken over; a
// drain moves a worker's partitions away; every published table has one writer per
// partition, and no partition's reports come from two workers in one epoch.
func TestClusterAssignment(t *testing.T) {
	const P = 16
	h := &harness{t: t, gone: map[string]bool{}, caught: map[int32]map[string]bool{}, wrote: map[[2]int64]string{}}
	coordNode := startMember(t, gossipConfig(t, "coord"), membership.RoleCoordinator)
	seed := coordNode.Addr()
	cfg := testConfig(t, t.TempDir())
	cfg.Interval = 100 * time.Millisecond
	cfg.AdminToken = "tok"
	h.view = coordNode
	c := startCoordinator(t, cfg, P, Deps{Node: "coord", Members: coordNode, Offsets: countingOffsets(), OnPublish: h.publish})
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)

	nodes := map[string]*membership.Service{}
	agents := map[string]*agent{}
	for _, w := range []string{"w1", "w2", "w3"} {
		nodes[w] = startMember(t, gossipConfig(t, w, seed), membership.RoleWorker)
		agents[w] = h.startAgent(srv.URL, w, false)
	}
	t.Cleanup(func() {
		for _, a := range agents {
			a.stop()
		}
	})
	stable := func(workers ...string) func() bool {
		return func() bool {
			a := c.Assignment()
			if len(a.Writer) != P {
				return false
			}
			for p := range P {
				if !slices.Contains(workers, a.Writer[p]) || a.Loading[p] != "" {
					return false
				}
			}
			for _, w := range workers {
				if len(a.Writes(w)) == 0 {
					return false
				}
			}
			return true
		}
	}
	table := func() string { return fmtA(c.Assignment()) }
	waitFor(t, 15*time.Second, table, stable("w1", "w2", "w3"))
	before := c.Assignment()
	for _, w := range []string{"w1", "w2", "w3"} {
		if n := len(before.Writes(w)); n > 7 { // ceil(1.25 × 16 / 3)
			t.Errorf("%s writes %d partitions, over the bound 7", w, n)
		}
	}

	// A fourth worker joins; it loads, but does not report caught up yet: every partition
	// keeps its old writer.
	nodes["w4"] = startMember(t, gossipConfig(t, "w4", seed), membership.RoleWorker)
	agents["w4"] = h.startAgent(srv.URL, "w4", true)
	waitFor(t, 15*time.Second, table, func() bool { return len(c.Assignment().Loads("w4")) > 0 })
	time.Sleep(5 * cfg.Interval) // ticks pass while w4 loads
	loading := c.Assignment()
	if !slices.Equal(loading.Writer, before.Writer) || len(loading.Writes("w4")) != 0 {
		t.Fatalf("while w4 loads, writers changed:\nbefore %v\nnow    %v", before.Writer, loading.Writer)
	}
	close(agents["w4"].hold)
	waitFor(t, 15*time.Second, table, stable("w1", "w2", "w3", "w4"))
	after := c.Assignment()
	for _, p := range loading.Loads("w4") {
		if after.Writer[p] != "w4" {
			t.Errorf("partition %d: loaded by w4, now written by %s", p, after.Writer[p])
		}
	}

	// w2 is killed: gossip stops without a leave; its partitions are taken over.
	h.mu.Lock()
	h.gone["w2"] = true
	h.mu.Unlock()
	agents["w2"].stop()
	killed := time.Now()
	nodes["w2"].Kill()
	waitFor(t, 20*time.Second, table, stable("w1", "w3", "w4"))
	t.Logf("w2's partitions taken over %v after the kill", time.Since(killed).Round(time.Millisecond))

	// w1 is drained: make-before-break to the others.
	if err := agents["w1"].cl.Drain(context.Background(), "w1", "tok"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, table, stable("w3", "w4"))

	// Every partition reports under the final table; both matches become visible at a
	// cycle of that table.
	final := c.Assignment()
	cyc := c.Status().Cycle
	waitFor(t, 10*time.Second, func() string { return fmt.Sprintf("visible %d, %d; want above %d", c.Visible(1), c.Visible(2), cyc) },
		func() bool { return c.Visible(1) > cyc && c.Visible(2) > cyc })
	st := c.Status()
	if st.Epoch != final.Epoch || len(st.Workers) < 2 || len(st.Cycles) == 0 || st.Cycles[0].Reports > P {
		t.Errorf("status: epoch %d workers %+v cycles %+v", st.Epoch, st.Workers, st.Cycles)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.errs {
		t.Error(e)
	}
	if len(h.tables) < 4 {
		t.Errorf("%d tables published; joins, a kill and a drain make more", len(h.tables))
	}
}
