package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/coordinator"
	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/kafkatest"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
)

// startChild runs `leaderboard args...` as a child process and waits for a stdout line
// matching ready; it returns the process and the line's submatches.
func startChild(t testing.TB, ready *regexp.Regexp, args ...string) (*proc, []string) {
	t.Helper()
	raw, _ := json.Marshal(args)
	p := &proc{t: t, name: args[0], logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestLeaderboardProcess$", "-test.count=1")
	p.cmd.Env = append(os.Environ(), "LEADERBOARD_PROCESS_ARGS="+string(raw))
	p.cmd.Stderr = p.logs
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := ready.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case got <- m:
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	select {
	case m := <-got:
		return p, m
	case <-p.done:
		t.Fatalf("leaderboard %s exited at start: %v\n%s", p.name, p.cmd.ProcessState, p.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("leaderboard %s printed no %q within 60s\n%s", p.name, ready, p.logs)
	}
	return nil, nil
}

// kill ends the process with SIGKILL, as a crash.
func (p *proc) kill() {
	p.once.Do(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var (
	storeLine  = regexp.MustCompile(`aerospike protocol store listening on (\S+) `)
	coordLine  = regexp.MustCompile(`HTTP on (\S+) `)
	workerLine = regexp.MustCompile(`worker (\S+): gossip on (\S+),`)
)

// procCluster is the cluster as separate processes on loopback.
type procCluster struct {
	t        *testing.T
	kafka    kafkasource.Config
	common   []string // kafka and store flags
	gossip   []string // fast failure detection for the test
	coord    *proc
	coordURL string
	coordArg []string
	apiURL   string
	workers  map[string]*proc
	wgossip  map[string]string
	entries  []engine.Entry
	pts      map[int32]float64
	pub      *kafkasource.Publisher
	ts       int64
}

const procMatch = 9

func (c *procCluster) startCoordinator(join []string) {
	c.t.Helper()
	args := append(slices.Clone(c.coordArg), "--join", strings.Join(join, ","))
	p, m := startChild(c.t, coordLine, args...)
	c.coord, c.coordURL = p, m[1]
}

func (c *procCluster) startWorker(name string) {
	c.t.Helper()
	args := append([]string{"worker"}, c.common...)
	args = append(args, c.gossip...)
	args = append(args, "--node-name", name, "--bind", "127.0.0.1:0", "--join", c.coordArg[slices.Index(c.coordArg, "--bind")+1],
		"--interval", "300ms", "--admin-http", "127.0.0.1:0", "--group-entries", "64")
	p, m := startChild(c.t, workerLine, args...)
	c.workers[name], c.wgossip[name] = p, m[2]
}

func (c *procCluster) publish(entries []engine.Entry, live bool) {
	c.t.Helper()
	var evs []kafkasource.EntryEvent
	for _, e := range entries {
		evs = append(evs, kafkasource.EntryEvent{MatchID: procMatch, ContestID: e.ContestID, EntryID: e.EntryID, UserID: e.UserID, TeamID: e.TeamID,
			Players: e.Players, Captain: e.Captain, ViceCaptain: e.ViceCaptain})
	}
	ctx := context.Background()
	if err := c.pub.PublishEntries(ctx, evs); err != nil {
		c.t.Fatal(err)
	}
	if live {
		if err := c.pub.PublishMatch(ctx, kafkasource.MatchEvent{MatchID: procMatch, State: "live", TS: c.ts}); err != nil {
			c.t.Fatal(err)
		}
	}
	c.entries = append(c.entries, entries...)
}

func (c *procCluster) setPoints(pts map[int32]float64) {
	c.t.Helper()
	c.ts++
	var evs []kafkasource.PointsEvent
	for _, id := range slices.Sorted(maps.Keys(pts)) {
		cp, _ := engine.Centipoints(pts[id])
		evs = append(evs, kafkasource.PointsEvent{MatchID: procMatch, PlayerID: id, Centi: cp, TS: c.ts})
	}
	if err := c.pub.PublishPoints(context.Background(), evs); err != nil {
		c.t.Fatal(err)
	}
	if err := c.pub.Flush(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	c.pts = pts
}

// status is the coordinator's /status.
func (c *procCluster) status() (coordinator.Status, error) {
	cl, err := coordinator.NewClient(c.coordURL, "", &http.Client{Timeout: 3 * time.Second})
	if err != nil {
		return coordinator.Status{}, err
	}
	return cl.Status(context.Background())
}

func (c *procCluster) waitWriters(step string, want []string) {
	c.t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		st, err := c.status()
		if err == nil && len(st.Unassigned) == 0 {
			got = got[:0]
			for _, w := range st.Workers {
				if len(w.Writing) > 0 {
					got = append(got, w.Name)
				}
			}
			if slices.Equal(got, want) {
				c.t.Logf("%s: writers %v (epoch %d)", step, got, st.Epoch)
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("%s: writers %v, want %v", step, got, want)
}

// ranked waits until every contest's leaderboard, read through the API process, is the
// reference for the entries and points published, and returns how long that took.
func (c *procCluster) ranked(step string) time.Duration {
	c.t.Helper()
	start := time.Now()
	want := map[int64][]reference.Row{}
	for _, r := range reference.Rank(c.entries, c.pts) {
		want[r.ContestID] = append(want[r.ContestID], r)
	}
	var why string
	for time.Since(start) < 40*time.Second {
		if why = c.mismatch(want); why == "" {
			c.t.Logf("%s: every contest ranked as the reference (through the API) after %v", step, time.Since(start).Round(time.Millisecond))
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("%s: not ranked as the reference within 40s: %s", step, why)
	return 0
}

func (c *procCluster) mismatch(want map[int64][]reference.Row) string {
	hc := &http.Client{Timeout: 3 * time.Second}
	for _, id := range slices.Sorted(maps.Keys(want)) {
		resp, err := hc.Get(fmt.Sprintf("%s/v1/contests/%d/leaderboard?limit=1000", c.apiURL, id))
		if err != nil {
			return err.Error()
		}
		var lb struct {
			Total   int64
			Entries []struct {
				Rank    int     `json:"rank"`
				EntryID int64   `json:"entry_id"`
				UserID  int64   `json:"user_id"`
				TeamID  int64   `json:"team_id"`
				Points  float64 `json:"points"`
			}
		}
		err = json.NewDecoder(resp.Body).Decode(&lb)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil {
			return fmt.Sprintf("contest %d: %s %v", id, resp.Status, err)
		}
		rows := want[id]
		if len(lb.Entries) != len(rows) {
			return fmt.Sprintf("contest %d: %d rows, want %d", id, len(lb.Entries), len(rows))
		}
		for k, r := range rows {
			e := lb.Entries[k]
			if e.Rank != r.Rank || e.EntryID != r.EntryID || e.UserID != r.UserID || e.TeamID != r.TeamID || e.Points != r.PointsFloat() {
				return fmt.Sprintf("contest %d row %d: %+v, want %+v", id, k, e, r)
			}
		}
	}
	return ""
}

// TestClusterProcesses runs the cluster as separate processes on loopback, against each
// broker: `leaderboard store`, a coordinator, workers and an API. It scales 1 -> 3
// workers mid-match, SIGKILLs one, restarts the coordinator, and freezes one (SIGSTOP,
// then SIGCONT: a worker cut off, that comes back with an old epoch), and stops one with
// SIGTERM (it hands its partitions over before it leaves). After each step,
// with new points published, every leaderboard the API serves is the reference.
func TestClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster of processes")
	}
	for _, b := range kafkatest.Brokers(t) {
		t.Run(b.Name, func(t *testing.T) { testClusterProcesses(t, b) })
	}
}

func testClusterProcesses(t *testing.T, b kafkatest.Broker) {
	kc := kafkatest.Names(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkasource.EnsureTopics(ctx, kc.Brokers, kc, 8); err != nil {
		t.Fatal(err)
	}
	pub, err := kafkasource.NewPublisher(kc, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Close)
	_, sm := startChild(t, storeLine, "store", "--addr", "127.0.0.1:0")
	storeFlags := []string{"--store", "aerospike", "--aerospike-hosts", sm[1]}
	c := &procCluster{t: t, kafka: kc, pub: pub, workers: map[string]*proc{}, wgossip: map[string]string{}, ts: time.Now().UnixMilli()}
	c.common = append([]string{"--kafka", strings.Join(kc.Brokers, ","), "--entries-topic", kc.EntriesTopic, "--points-topic", kc.PointsTopic,
		"--matches-topic", kc.MatchesTopic, "--dlq-topic", kc.DLQTopic}, storeFlags...)
	c.gossip = []string{"--gossip-probe-interval", "200ms", "--gossip-probe-timeout", "100ms", "--gossip-suspicion-mult", "4"}
	c.coordArg = append(append([]string{"coordinator"}, c.common...), c.gossip...)
	c.coordArg = append(c.coordArg, "--node-name", "coordinator", "--bind", freeAddr(t), "--http", "127.0.0.1:0", "--interval", "300ms",
		"--data-dir", t.TempDir(), "--settle", "500ms", "--rebalance-delay", "300ms", "--long-poll", "2s")
	// The API joins the gossip cluster: its console finds the coordinator and every
	// member's metrics there.
	apiArgs := append([]string{"api", "--http", "127.0.0.1:0", "--admin-http", "127.0.0.1:0", "--node-name", "api-1", "--bind", "127.0.0.1:0",
		"--join", c.coordArg[slices.Index(c.coordArg, "--bind")+1]}, c.gossip...)
	_, am := startChild(t, apiLine, append(apiArgs, storeFlags...)...)
	c.apiURL = "http://" + am[1]

	entries, pts := reference.Random(23, reference.Shape{Contests: []int{150, 60, 30, 12, 9, 5, 5, 3, 2, 1}, Players: 22, LineupSize: 11, PointValues: 30})
	entries = slices.DeleteFunc(entries, func(e engine.Entry) bool {
		return e.ContestID <= 0 || e.EntryID <= 0 || e.UserID <= 0 || e.TeamID <= 0 // the topic refuses these
	})
	first := len(entries) * 2 / 3
	c.publish(entries[:first], true)
	c.setPoints(pts)
	c.startCoordinator(nil)
	c.startWorker("worker-1")
	c.waitWriters("one worker", []string{"worker-1"})
	c.ranked("one worker")

	c.startWorker("worker-2")
	c.startWorker("worker-3")
	c.publish(entries[first:], false)
	c.waitWriters("scaled to three", []string{"worker-1", "worker-2", "worker-3"})
	c.setPoints(reference.Bump(pts, 1))
	c.ranked("scaled to three")
	c.consoleShows([]string{"coordinator", "worker-1", "worker-2", "worker-3", "api-1"})

	killed := time.Now()
	c.workers["worker-2"].kill()
	c.setPoints(reference.Bump(pts, 2))
	c.waitWriters("worker-2 SIGKILLed", []string{"worker-1", "worker-3"})
	c.ranked("worker-2 SIGKILLed")
	t.Logf("SIGKILL -> every contest ranked again with the points published after it: %v", time.Since(killed).Round(time.Millisecond))

	c.coord.stop()
	c.startCoordinator([]string{c.wgossip["worker-1"]})
	c.setPoints(reference.Bump(pts, 3))
	c.ranked("coordinator restarted")

	w3 := c.workers["worker-3"]
	w3.cmd.Process.Signal(syscall.SIGSTOP)
	c.waitWriters("worker-3 frozen", []string{"worker-1"})
	c.setPoints(reference.Bump(pts, 4))
	c.ranked("worker-3 frozen")
	w3.cmd.Process.Signal(syscall.SIGCONT)
	// Back with an old epoch: its writes are fenced, it learns the table, it rejoins and
	// is given partitions again, make-before-break.
	c.setPoints(reference.Bump(pts, 5))
	c.ranked("worker-3 back")
	c.waitWriters("worker-3 back", []string{"worker-1", "worker-3"})
	c.setPoints(reference.Bump(pts, 6))
	c.ranked("worker-3 writing again")

	// SIGTERM: worker-1 hands its partitions over to worker-3 before it leaves.
	w1 := c.workers["worker-1"]
	w1.stop()
	if !strings.Contains(w1.logs.String(), "every partition handed over") {
		t.Errorf("worker-1 stopped without handing its partitions over:\n%s", w1.logs)
	}
	c.waitWriters("worker-1 stopped (SIGTERM)", []string{"worker-3"})
	c.setPoints(reference.Bump(pts, 7))
	c.ranked("worker-1 stopped (SIGTERM)")
}

// consoleShows waits until the API's console (joined to gossip) lists every member named
// and counts the metrics of every one of them that serves some (all up).
func (c *procCluster) consoleShows(names []string) {
	c.t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second}
	var why string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := hc.Get(c.apiURL + "/console/v1/overview")
		if err != nil {
			why = err.Error()
			continue
		}
		var ov struct {
			Cluster struct {
				Members []struct{ Name string } `json:"members"`
			} `json:"cluster"`
			ClusterError string `json:"cluster_error"`
			Targets      []struct {
				Target string `json:"target"`
				Up     bool   `json:"up"`
			} `json:"targets"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ov)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			why = fmt.Sprintf("%s %v", resp.Status, err)
			continue
		}
		var got []string
		for _, m := range ov.Cluster.Members {
			got = append(got, m.Name)
		}
		up := 0
		for _, tg := range ov.Targets {
			if tg.Up {
				up++
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, slices.Sorted(slices.Values(names))) || up < len(names) || len(ov.Targets) != up {
			why = fmt.Sprintf("members %v (%s), %d of %d targets up: %+v", got, ov.ClusterError, up, len(ov.Targets), ov.Targets)
			continue
		}
		c.t.Logf("console: members %v, %d metrics targets up", got, up)
		return
	}
	c.t.Fatalf("the API's console did not show the cluster: %s", why)
}
