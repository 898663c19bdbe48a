package membership

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dskit/services"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// fastConfig gossips on loopback with tight timings, so a test's cluster converges and
// detects deaths in about a second; not tighter, because a busy 2-core machine running
// the race detector delays probe answers by a hundred milliseconds and more, and tighter
// settings then declare live members dead.
func fastConfig(t testing.TB, name, label string, join ...string) Config {
	c := defaultConfig(t)
	c.NodeName = name
	c.Bind = "127.0.0.1:0"
	c.Label = label
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

// testLog collects a node's log lines, shown only when the test fails.
type testLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func start(t testing.TB, cfg Config, meta Meta) *Service {
	t.Helper()
	logs := &testLog{}
	s, err := New(cfg, meta, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.NodeName, err)
	}
	// The context given to StartAsync is the service's parent: it must outlive the test.
	if err := s.StartAsync(context.Background()); err != nil {
		t.Fatalf("start %s: %v", cfg.NodeName, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.AwaitRunning(ctx); err != nil {
		t.Fatalf("start %s: %v", cfg.NodeName, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := services.StopAndAwaitTerminated(ctx, s); err != nil {
			t.Errorf("stop %s: %v", cfg.NodeName, err)
		}
		if t.Failed() {
			logs.mu.Lock()
			t.Logf("log of %s:\n%s", cfg.NodeName, logs.buf.String())
			logs.mu.Unlock()
		}
	})
	return s
}

func worker(capacity uint32) Meta {
	return Meta{Role: RoleWorker, HTTPAddr: "127.0.0.1:8081", Capacity: capacity, Version: "test"}
}

func names(ms []Member) string {
	var ns []string
	for _, m := range ms {
		ns = append(ns, m.Name)
	}
	return strings.Join(ns, ",")
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sees waits until every node's snapshot lists exactly want (names, comma-separated).
func sees(t testing.TB, d time.Duration, want string, nodes ...*Service) {
	t.Helper()
	for _, n := range nodes {
		waitFor(t, d, fmt.Sprintf("%s sees %s, want %s", n.Name(), names(n.Members()), want), func() bool {
			return names(n.Members()) == want
		})
	}
}

// freePort reserves a loopback port free for both UDP and TCP, then releases it, so a seed
// can be started after the members that will join it.
func freePort(t testing.TB) string {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("no loopback port free for both TCP and UDP")
	return ""
}

// Members join in any order (the seed last), all see everyone's metadata, hear of changes,
// and a member that leaves is gone from every view at once.
func TestJoinMetadataLeave(t *testing.T) {
	seedAddr := freePort(t)
	w1 := start(t, fastConfig(t, "worker-1", "test", seedAddr), worker(1))
	w2 := start(t, fastConfig(t, "worker-2", "test", seedAddr), worker(2))
	watch, stopWatch := w1.Watch()
	defer stopWatch()
	waitFor(t, 5*time.Second, "worker-1 retried its join", func() bool { return count(w1.joinFailures) >= 2 })

	seedCfg := fastConfig(t, "coordinator", "test")
	seedCfg.Bind = seedAddr
	seed := start(t, seedCfg, Meta{Role: RoleCoordinator, HTTPAddr: "127.0.0.1:9000", Version: "test"})
	api := start(t, fastConfig(t, "api", "test", seed.Addr()), Meta{Role: RoleAPI, HTTPAddr: "127.0.0.1:8080", Version: "test"})
	all := []*Service{seed, w1, w2, api}
	sees(t, 5*time.Second, "api,coordinator,worker-1,worker-2", all...)

	want := map[string]Meta{
		"coordinator": {Role: RoleCoordinator, HTTPAddr: "127.0.0.1:9000", Version: "test"},
		"worker-1":    worker(1),
		"worker-2":    worker(2),
		"api":         {Role: RoleAPI, HTTPAddr: "127.0.0.1:8080", Version: "test"},
	}
	addrs := map[string]string{}
	for _, n := range all {
		addrs[n.Name()] = n.Addr()
	}
	for _, n := range all {
		for _, m := range n.Members() {
			if m.MetaErr != nil || m.Meta != want[m.Name] || m.Addr != addrs[m.Name] {
				t.Errorf("%s sees %s as %+v at %s (%v), want %+v at %s", n.Name(), m.Name, m.Meta, m.Addr, m.MetaErr, want[m.Name], addrs[m.Name])
			}
		}
	}
	select {
	case <-watch:
	default:
		t.Error("worker-1's watch was not signalled by the joins")
	}

	// A metadata change reaches everyone.
	drain(watch)
	if err := w2.UpdateMeta(worker(5), time.Second); err != nil {
		t.Fatal(err)
	}
	for _, n := range all {
		waitFor(t, 5*time.Second, n.Name()+" sees worker-2's new capacity", func() bool {
			i := slices.IndexFunc(n.Members(), func(m Member) bool { return m.Name == "worker-2" })
			return i >= 0 && n.Members()[i].Meta.Capacity == 5
		})
	}
	waitFor(t, time.Second, "worker-1's watch signalled the update", func() bool { return len(watch) == 1 })

	// A graceful leave is seen well before failure detection could have fired.
	drain(watch)
	left := time.Now()
	if err := services.StopAndAwaitTerminated(context.Background(), api); err != nil {
		t.Fatal(err)
	}
	sees(t, 5*time.Second, "coordinator,worker-1,worker-2", seed, w1, w2)
	if d := time.Since(left); d > 2*time.Second {
		t.Errorf("a leave took %v to reach everyone", d)
	}
	waitFor(t, time.Second, "worker-1's watch signalled the leave", func() bool { return len(watch) == 1 })
	// A stopped watch hears nothing more.
	stopWatch()
	drain(watch)
	if err := w2.UpdateMeta(worker(6), time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "worker-1 sees worker-2's capacity 6", func() bool {
		i := slices.IndexFunc(w1.Members(), func(m Member) bool { return m.Name == "worker-2" })
		return i >= 0 && w1.Members()[i].Meta.Capacity == 6
	})
	if len(watch) != 0 {
		t.Error("a stopped watch was signalled")
	}
	if got := api.Members(); got != nil {
		t.Errorf("a stopped member still lists %s", names(got))
	}
}

func drain(ch <-chan struct{}) {
	for len(ch) > 0 {
		<-ch
	}
}

// A member that stops without leaving (a crash) is declared dead by the others within the
// detection time its settings give.
func TestCrashedMemberDetected(t *testing.T) {
	cfg := fastConfig(t, "seed", "test")
	seed := start(t, cfg, worker(1))
	nodes := []*Service{seed}
	for i := 1; i < 4; i++ {
		nodes = append(nodes, start(t, fastConfig(t, fmt.Sprintf("node-%d", i), "test", seed.Addr()), worker(1)))
	}
	sees(t, 5*time.Second, "node-1,node-2,node-3,seed", nodes...)
	_, worst := cfg.DetectionTime(4)

	killed := time.Now()
	nodes[2].kill()
	var slowest time.Duration
	for _, n := range []*Service{nodes[0], nodes[1], nodes[3]} {
		waitFor(t, 10*worst, n.Name()+" sees node-2 gone", func() bool { return names(n.Members()) == "node-1,node-3,seed" })
		slowest = max(slowest, time.Since(killed))
	}
	t.Logf("a crashed member was gone from every view after %v (settings: worst case %v)", slowest, worst)
	// A busy 2-core machine running the race detector delays timers; the margin allows it.
	if slowest > worst+time.Second {
		t.Errorf("crash detected after %v, settings promise at most %v", slowest, worst)
	}
}

// Two clusters with different labels never merge, even when a member of one keeps trying
// to join the other.
func TestLabelsKeepClustersApart(t *testing.T) {
	a0 := start(t, fastConfig(t, "a0", "blue"), worker(1))
	a1 := start(t, fastConfig(t, "a1", "blue", a0.Addr()), worker(1))
	b0 := start(t, fastConfig(t, "b0", "green"), worker(1))
	bcfg := fastConfig(t, "b1", "green", b0.Addr(), a0.Addr())
	bcfg.RejoinInterval = 50 * time.Millisecond // keeps knocking on a0's door
	b1 := start(t, bcfg, worker(1))
	lone := start(t, fastConfig(t, "lone", "green", a0.Addr()), worker(1)) // only knows the other cluster

	sees(t, 5*time.Second, "a0,a1", a0, a1)
	sees(t, 5*time.Second, "b0,b1", b0, b1)
	time.Sleep(3 * bcfg.PushPullInterval)
	sees(t, 0, "a0,a1", a0, a1)
	sees(t, 0, "b0,b1", b0, b1)
	sees(t, 0, "lone", lone)
	if count(lone.joinFailures) < 2 {
		t.Errorf("the lone green member's join to the blue cluster was not refused and retried")
	}
}

// An encrypted cluster refuses members without its key, and a rotation done in the
// documented three rounds never splits it.
func TestEncryptionAndKeyRotation(t *testing.T) {
	keyA, keyB := bytes.Repeat([]byte{0xa}, 32), bytes.Repeat([]byte{0xb}, 16)
	enc := func(name string, keys [][]byte, join ...string) Config {
		c := fastConfig(t, name, "test", join...)
		c.Keys = keys
		return c
	}
	e0 := start(t, enc("e0", [][]byte{keyA}), worker(1))
	e1 := start(t, enc("e1", [][]byte{keyA}, e0.Addr()), worker(1))
	e2 := start(t, enc("e2", [][]byte{keyA}, e0.Addr()), worker(1))
	cluster := []*Service{e0, e1, e2}
	sees(t, 5*time.Second, "e0,e1,e2", cluster...)

	plain := start(t, fastConfig(t, "plain", "test", e0.Addr()), worker(1))
	wrong := start(t, enc("wrong", [][]byte{keyB}, e0.Addr()), worker(1))
	waitFor(t, 5*time.Second, "the plain and wrong-key members retried", func() bool {
		return count(plain.joinFailures) >= 2 && count(wrong.joinFailures) >= 2
	})
	sees(t, 0, "e0,e1,e2", cluster...)
	sees(t, 0, "plain", plain)
	sees(t, 0, "wrong", wrong)
	if err := plain.SetKeys([][]byte{keyA}); err == nil {
		t.Error("SetKeys on a node started without encryption succeeded")
	}
	// They would keep retrying, and the wrong key becomes right during the rotation.
	for _, n := range []*Service{plain, wrong} {
		if err := services.StopAndAwaitTerminated(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}

	// Rotate A -> B: every round finishes on every node before the next begins.
	for _, round := range [][][]byte{{keyA, keyB}, {keyB, keyA}, {keyB}} {
		for _, n := range cluster {
			if err := n.SetKeys(round); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(3 * 200 * time.Millisecond) // a few probe rounds under the new keys
		sees(t, 0, "e0,e1,e2", cluster...)
		for _, n := range cluster {
			if c := count(n.events.WithLabelValues("leave")); c != 0 {
				t.Fatalf("rotation round with %d keys: %s saw %v members leave or die", len(round), n.Name(), c)
			}
		}
	}
	// Now only B gets in. The file form of a round reads the same keys.
	keyFile := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(keyB)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile := start(t, func() Config { c := fastConfig(t, "from-file", "test", e0.Addr()); c.KeyFile = keyFile; return c }(), worker(1))
	cluster = append(cluster, fromFile)
	sees(t, 5*time.Second, "e0,e1,e2,from-file", cluster...)
	if err := fromFile.ReloadKeyFile(); err != nil {
		t.Fatalf("reloading the key file: %v", err)
	}
	if err := e0.ReloadKeyFile(); err == nil {
		t.Error("ReloadKeyFile without a key file succeeded")
	}

	newB := start(t, enc("new-b", [][]byte{keyB}, e1.Addr()), worker(1))
	sees(t, 5*time.Second, "e0,e1,e2,from-file,new-b", append(cluster, newB)...)
	oldA := start(t, enc("old-a", [][]byte{keyA}, e1.Addr()), worker(1))
	waitFor(t, 5*time.Second, "the old-key member retried", func() bool { return count(oldA.joinFailures) >= 2 })
	sees(t, 0, "e0,e1,e2,from-file,new-b", append(cluster, newB)...)
}

func TestStartFailsOnBusyPort(t *testing.T) {
	first := start(t, fastConfig(t, "first", "test"), worker(1))
	cfg := fastConfig(t, "second", "test")
	cfg.Bind = first.Addr()
	s, err := New(cfg, worker(1), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = services.StartAndAwaitRunning(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "cannot start gossip on "+first.Addr()) {
		t.Fatalf("second member on %s: %v, want an error naming the address", first.Addr(), err)
	}
	// Members of one process share a registry: their series differ by node.
	reg := prometheus.NewRegistry()
	for _, name := range []string{"r1", "r2"} {
		if _, err := New(fastConfig(t, name, "test"), worker(1), nil, reg); err != nil {
			t.Fatalf("second member on one registry: %v", err)
		}
	}
	if _, err := New(fastConfig(t, "x", "test"), Meta{}, nil, nil); err == nil {
		t.Error("New accepted metadata without a role")
	}
}

// count reads a counter's value.
func count(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// BenchmarkFailureDetection measures, with the flags' default (production LAN) settings,
// the time from a member's crash (gossip stopped without leaving) until every other member
// of a 4-member loopback cluster has declared it dead. It reports the median over b.N
// crashes ("detect-s") and the slowest ("max-s"), next to the settings' own estimate.
// Each crash takes a few seconds: run with -benchtime=Nx.
func BenchmarkFailureDetection(b *testing.B) {
	var times []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		cfg := func(name string, join ...string) Config {
			c := defaultConfig(b, "--bind", "127.0.0.1:0", "--node-name", name)
			c.Join = join
			return c
		}
		seed := start(b, cfg(fmt.Sprintf("seed-%d", i)), worker(1))
		nodes := []*Service{seed}
		for j := 1; j < 4; j++ {
			nodes = append(nodes, start(b, cfg(fmt.Sprintf("n%d-%d", j, i), seed.Addr()), worker(1)))
		}
		for _, n := range nodes {
			waitFor(b, 10*time.Second, "the cluster formed", func() bool { return len(n.Members()) == 4 })
		}
		all := names(nodes[0].Members())
		victim := nodes[1+i%3]
		want := strings.Replace(all, victim.Name(), "", 1)
		want = strings.Trim(strings.ReplaceAll(want, ",,", ","), ",")
		b.StartTimer()
		killed := time.Now()
		victim.kill()
		for _, n := range nodes {
			if n != victim {
				waitFor(b, 30*time.Second, "the crash detected", func() bool { return names(n.Members()) == want })
			}
		}
		times = append(times, time.Since(killed))
		b.StopTimer()
		for _, n := range nodes {
			n.StopAsync()
		}
		b.StartTimer()
	}
	slices.Sort(times)
	c := defaultConfig(b)
	typical, worst := c.DetectionTime(4)
	b.ReportMetric(times[len(times)/2].Seconds(), "detect-s")
	b.ReportMetric(times[len(times)-1].Seconds(), "max-s")
	b.ReportMetric(typical.Seconds(), "typical-est-s")
	b.ReportMetric(worst.Seconds(), "worst-est-s")
}

// Ten members, each joining a different earlier one (dskit's TestMultipleClients runs ten
// too): everyone converges on the same view with everyone's metadata.
func TestTenMembersConverge(t *testing.T) {
	var nodes []*Service
	for i := range 10 {
		var join []string
		if i > 0 {
			join = []string{nodes[(i*7)%i].Addr()}
		}
		nodes = append(nodes, start(t, fastConfig(t, fmt.Sprintf("m%d", i), "test", join...), worker(uint32(i+1))))
	}
	sees(t, 10*time.Second, "m0,m1,m2,m3,m4,m5,m6,m7,m8,m9", nodes...)
	for _, n := range nodes {
		for _, m := range n.Members() {
			var i uint32
			fmt.Sscanf(m.Name, "m%d", &i)
			if m.Meta.Capacity != i+1 {
				t.Fatalf("%s sees %s with capacity %d, want %d", n.Name(), m.Name, m.Meta.Capacity, i+1)
			}
		}
	}
}
