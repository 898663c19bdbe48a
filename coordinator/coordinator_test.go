package coordinator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/membership"
)

// staticMembers is a membership the test sets by hand (the cluster test uses real gossip).
type staticMembers struct {
	mu sync.Mutex
	ms []membership.Member
	ch chan struct{}
}

func newStatic(workers ...string) *staticMembers {
	s := &staticMembers{ch: make(chan struct{}, 1)}
	s.set(workers...)
	return s
}

func (s *staticMembers) set(workers ...string) {
	s.mu.Lock()
	s.ms = nil
	for _, w := range workers {
		s.ms = append(s.ms, membership.Member{Name: w, Addr: "127.0.0.1:1", Meta: membership.Meta{Role: membership.RoleWorker, Capacity: 1}})
	}
	s.mu.Unlock()
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

func (s *staticMembers) Members() []membership.Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ms)
}

func (s *staticMembers) Watch() (<-chan struct{}, func()) { return s.ch, func() {} }

// countingOffsets is a points topic whose end offset grows by one per read.
func countingOffsets() Offsets {
	var n atomic.Int64
	return func(context.Context) (map[int32]int64, error) { return map[int32]int64{0: n.Add(1)}, nil }
}

func testConfig(t testing.TB, dir string) Config {
	t.Helper()
	var c Config
	fs := flagSet()
	c.RegisterFlags(fs, "")
	c.Interval = 20 * time.Millisecond
	c.DataDir = dir
	c.LongPoll = time.Second
	c.Settle = 0
	c.RebalanceDelay = 0
	return c
}

// testLogger collects log lines, shown only when the test fails.
func testLogger(t testing.TB, name string) *slog.Logger {
	var mu sync.Mutex
	var buf bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("log of %s:\n%s", name, buf.String())
			mu.Unlock()
		}
	})
	return slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func startCoordinator(t testing.TB, cfg Config, partitions int, deps Deps) *Coordinator {
	t.Helper()
	if deps.Logger == nil {
		deps.Logger = testLogger(t, "coordinator")
	}
	if deps.Registerer == nil {
		deps.Registerer = prometheus.NewRegistry()
	}
	c, err := New(cfg, partitions, deps)
	if err != nil {
		t.Fatal(err)
	}
	// The context given to StartAsync is the service's parent: it must outlive the test.
	if err := c.StartAsync(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.AwaitRunning(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopService(t, c) })
	return c
}

func stopService(t testing.TB, s services.Service) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := services.StopAndAwaitTerminated(ctx, s); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("stop: %v", err)
	}
}

func waitFor(t testing.TB, d time.Duration, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := testConfig(t, t.TempDir())
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"interval", func(c *Config) { c.Interval = 0 }, "interval 0s"},
		{"dir", func(c *Config) { c.DataDir = "" }, "data dir: empty"},
		{"reserve", func(c *Config) { c.CycleReserve = 0 }, "cycle reserve 0"},
		{"tokens", func(c *Config) { c.AdminToken, c.AdminTokenFile = "a", "f" }, "both a token and a token file"},
		{"history", func(c *Config) { c.History = 0 }, "status cycles 0"},
		{"load factor", func(c *Config) { c.Assign.LoadFactor = 0.5 }, "load factor 0.5"},
	} {
		c := ok
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	c := ok
	c.AdminTokenFile = filepath.Join(t.TempDir(), "missing")
	if _, err := New(c, 4, Deps{Members: newStatic(), Offsets: countingOffsets()}); err == nil || !strings.Contains(err.Error(), "admin token file") {
		t.Errorf("New with a missing token file: %v", err)
	}
	if _, err := New(ok, 0, Deps{Members: newStatic(), Offsets: countingOffsets()}); err == nil || !strings.Contains(err.Error(), "partitions 0") {
		t.Errorf("New with 0 partitions: %v", err)
	}
}

// Cycle numbers and epochs never go back across a restart, the stored table comes back
// as it was, and a damaged state file stops start-up with its name.
func TestRestartKeepsCyclesAndTable(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.CycleReserve = 3
	members := newStatic("w1", "w2", "w3")
	a := startCoordinator(t, cfg, 8, Deps{Members: members, Offsets: countingOffsets()})
	cl := client(t, httptest.NewServer(a.Handler()).URL, "")
	var last Tick
	for last.Cycle < 7 {
		tk, err := cl.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tk.Cycle <= last.Cycle || tk.Points[0] <= last.Points[0] {
			t.Fatalf("tick %d (points %v) after %d (points %v)", tk.Cycle, tk.Points, last.Cycle, last.Points)
		}
		last = tk
	}
	before := a.Assignment()
	stopService(t, a)
	top := a.Status().Cycle

	b := startCoordinator(t, cfg, 8, Deps{Members: members, Offsets: countingOffsets()})
	tk, ok := b.NextTick(context.Background(), 0)
	if !ok || tk.Cycle <= top {
		t.Fatalf("first tick after the restart: cycle %d, but cycle %d was handed out before", tk.Cycle, top)
	}
	if after := b.Assignment(); after.Epoch != before.Epoch || !slices.Equal(after.Writer, before.Writer) {
		t.Errorf("restarted table: epoch %d writers %v, want epoch %d writers %v", after.Epoch, after.Writer, before.Epoch, before.Writer)
	}
	stopService(t, b)

	// A restart sees w3 late: during the settle time the stored table stands, so w3 keeps
	// its partitions and the epoch does not move.
	cfg.Settle = 300 * time.Millisecond
	members.set("w1", "w2")
	c3 := startCoordinator(t, cfg, 8, Deps{Members: members, Offsets: countingOffsets()})
	time.Sleep(100 * time.Millisecond)
	members.set("w1", "w2", "w3")
	time.Sleep(400 * time.Millisecond)
	if after := c3.Assignment(); after.Epoch != before.Epoch || !slices.Equal(after.Writer, before.Writer) {
		t.Errorf("restart with w3 seen late: epoch %d writers %v, want epoch %d writers %v", after.Epoch, after.Writer, before.Epoch, before.Writer)
	}
	stopService(t, c3)

	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg, 8, Deps{Members: members, Offsets: countingOffsets()})
	if err != nil {
		t.Fatal(err)
	}
	err = services.StartAndAwaitRunning(context.Background(), c)
	if err == nil || !strings.Contains(c.FailureCase().Error(), stateFile) {
		t.Errorf("start with a damaged state file: %v / %v", err, c.FailureCase())
	}
}

// A match becomes visible at cycle N only when every partition holding it reported N;
// only the writer of a partition reports, and a report of a cycle not ticked yet is bad.
func TestVisibleCycle(t *testing.T) {
	members := newStatic("w1", "w2")
	c := startCoordinator(t, testConfig(t, t.TempDir()), 4, Deps{Members: members, Offsets: countingOffsets()})
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	if _, ok := c.NextTick(context.Background(), 3); !ok {
		t.Fatal("no tick")
	}
	a := c.Assignment()
	clients := map[string]*Client{"w1": client(t, srv.URL, "w1"), "w2": client(t, srv.URL, "w2")}
	report := func(p int32, cycle int64, matches ...int64) error {
		w := a.Writer[p]
		return clients[w].Report(context.Background(), Report{Partition: p, Epoch: a.Epoch, Cycle: cycle, Matches: matches,
			Entries: 10, Contests: 2, Stages: []StageTime{{"rank", 0.001 * float64(p+1)}}})
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, want7, want8 int64) {
		t.Helper()
		if g7, g8 := c.Visible(7), c.Visible(8); g7 != want7 || g8 != want8 {
			t.Errorf("%s: visible cycles of matches 7, 8 = %d, %d; want %d, %d", step, g7, g8, want7, want8)
		}
	}
	must(report(0, 1, 7))
	must(report(1, 1, 7))
	must(report(2, 1, 8))
	check("partition 3 silent", 0, 0)
	must(report(3, 1))
	check("all reported cycle 1", 1, 1)
	must(report(0, 2, 7))
	check("partition 1 still at 1", 1, 1)
	must(report(1, 2, 7))
	check("both holders of 7 at 2", 2, 1)
	must(report(3, 3, 8)) // 8 gains a partition at cycle 3: its low is now partition 2's 1
	check("8 gained partition 3", 2, 1)
	must(report(2, 3, 8))
	check("both holders of 8 at 3", 2, 3)

	// The other worker for partition 0 is not its writer.
	other := "w1"
	if a.Writer[0] == "w1" {
		other = "w2"
	}
	err := clients[other].Report(context.Background(), Report{Partition: 0, Epoch: a.Epoch, Cycle: 3, Matches: []int64{7}})
	if !IsStale(err) || !strings.Contains(err.Error(), "does not write partition 0") {
		t.Errorf("report from a non-writer: %v", err)
	}
	err = report(0, 1<<40, 7)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadRequest || !strings.Contains(se.Message, "the last tick is") {
		t.Errorf("report of a cycle not ticked: %v", err)
	}
	err = clients["w1"].Report(context.Background(), Report{Partition: 99, Epoch: a.Epoch, Cycle: 1})
	if !errors.As(err, &se) || se.Code != http.StatusBadRequest || !strings.Contains(se.Message, "partition 99") {
		t.Errorf("report of partition 99: %v", err)
	}
	st, err := clients["w1"].Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var c1 *CycleStatus
	for i := range st.Cycles {
		if st.Cycles[i].Cycle == 1 {
			c1 = &st.Cycles[i]
		}
	}
	if c1 == nil || c1.Reports != 4 || c1.Entries != 40 || len(c1.Stages) != 1 || c1.Stages[0].Seconds != 0.004 {
		t.Errorf("status of cycle 1: %+v", c1)
	}
	if len(st.Matches) != 2 || st.Matches[0].Visible != 2 || !slices.Equal(st.Matches[1].Partitions, []int32{2, 3}) {
		t.Errorf("status matches: %+v", st.Matches)
	}
}

// The admin call needs the token: 401 without, 403 wrong, and names a worker that exists.
func TestDrainNeedsToken(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.AdminTokenFile = tokFile
	c := startCoordinator(t, cfg, 4, Deps{Members: newStatic("w1", "w2"), Offsets: countingOffsets()})
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	post := func(auth, worker string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+PathDrain+"?worker="+worker, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	for _, tc := range []struct {
		auth, worker string
		code         int
		msg          string
	}{
		{"", "w1", 401, "without a token"},
		{"Bearer nope", "w1", 403, "wrong admin token"},
		{"s3cret", "w1", 401, "without a token"},
		{"Bearer s3cret", "", 400, "worker=ID is required"},
		{"Bearer s3cret", "w9", 400, `no worker \"w9\"`},
		{"Bearer s3cret", "w1", 204, ""},
	} {
		if code, body := post(tc.auth, tc.worker); code != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("auth %q worker %q: %d %s, want %d with %q", tc.auth, tc.worker, code, body, tc.code, tc.msg)
		}
	}
	// w1 drains: w2 loads everything, reports caught up, and becomes the only writer.
	cl := client(t, srv.URL, "w2")
	waitFor(t, 5*time.Second, func() string { return "w1 still writes " + fmtA(c.Assignment()) }, func() bool {
		a := c.Assignment()
		for _, p := range a.Loads("w2") {
			_ = cl.CaughtUp(context.Background(), p, a.Epoch)
		}
		return len(a.Writes("w2")) == 4
	})
	if st := c.Status(); !st.Workers[0].Draining || len(st.Workers[0].Writing) != 0 {
		t.Errorf("status after the drain: %+v", st.Workers)
	}

	// Without a token configured, admin calls are refused.
	c2 := startCoordinator(t, testConfig(t, t.TempDir()), 4, Deps{Members: newStatic("w1"), Offsets: countingOffsets()})
	srv2 := httptest.NewServer(c2.Handler())
	t.Cleanup(srv2.Close)
	if err := client(t, srv2.URL, "").Drain(context.Background(), "w1", "x"); err == nil || !strings.Contains(err.Error(), "admin calls are disabled") {
		t.Errorf("drain without a configured token: %v", err)
	}
}

func client(t testing.TB, url, worker string) *Client {
	t.Helper()
	c, err := NewClient(url, worker, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fmtA(a Assignment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %d:", a.Epoch)
	for p := range a.Writer {
		b.WriteString(" ")
		b.WriteString(a.Writer[p])
		if a.Loading[p] != "" {
			b.WriteString("<" + a.Loading[p])
		}
	}
	return b.String()
}

func TestFind(t *testing.T) {
	m := func(name string, role membership.Role, http string) membership.Member {
		return membership.Member{Name: name, Meta: membership.Meta{Role: role, HTTPAddr: http}}
	}
	if _, err := Find([]membership.Member{m("w1", membership.RoleWorker, "w:1")}); err == nil {
		t.Error("Find without a coordinator succeeded")
	}
	got, err := Find([]membership.Member{m("w1", membership.RoleWorker, "w:1"), m("c2", membership.RoleCoordinator, "c2:1"), m("c1", membership.RoleCoordinator, "c1:1"), m("c0", membership.RoleCoordinator, "")})
	if err != nil || got != "c1:1" {
		t.Errorf("Find = %q, %v; want the lowest-named coordinator with an address, c1:1", got, err)
	}
}

// A join waits for the membership to be still for the rebalance delay (a burst of joins
// makes one rebalance); a lost writer is handled at once.
func TestRebalanceDelay(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.RebalanceDelay = time.Second
	members := newStatic("w1", "w2")
	c := startCoordinator(t, cfg, 8, Deps{Members: members, Offsets: countingOffsets()})
	waitFor(t, 5*time.Second, func() string { return fmtA(c.Assignment()) }, func() bool { return c.Assignment().Epoch == 1 })
	members.set("w1", "w2", "w3")
	time.Sleep(300 * time.Millisecond)
	members.set("w1", "w2", "w3", "w4") // the burst goes on: the delay restarts
	time.Sleep(300 * time.Millisecond)
	if e := c.Assignment().Epoch; e != 1 {
		t.Fatalf("epoch %d 600 ms into a burst of joins, with a 1 s delay after the last", e)
	}
	waitFor(t, 5*time.Second, func() string { return fmtA(c.Assignment()) }, func() bool { return c.Assignment().Epoch == 2 })
	a := c.Assignment()
	if len(a.Loads("w3")) == 0 || len(a.Loads("w4")) == 0 {
		t.Fatalf("one rebalance for both joins: %s", fmtA(a))
	}
	// w1 dies: its partitions are taken over well within the delay.
	lost := a.Writes("w1")
	start := time.Now()
	members.set("w2", "w3", "w4")
	waitFor(t, 5*time.Second, func() string { return fmtA(c.Assignment()) }, func() bool { return len(c.Assignment().Writes("w1")) == 0 })
	if d := time.Since(start); d >= cfg.RebalanceDelay {
		t.Errorf("w1's partitions %v taken over after %v, not at once", lost, d)
	}
}
