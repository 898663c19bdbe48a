package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fantasy/leaderboard/api"
	"github.com/fantasy/leaderboard/engine"
	"github.com/fantasy/leaderboard/internal/devbroker"
	"github.com/fantasy/leaderboard/internal/fixedpoint"
	"github.com/fantasy/leaderboard/internal/kafkatest"
	"github.com/fantasy/leaderboard/internal/reference"
	"github.com/fantasy/leaderboard/kafkasource"
	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/worker"
)

// e2e is one single-node system over real TCP: a broker (embedded or real Kafka), the
// node (source, worker, embedded store, API) and a publisher.
type e2e struct {
	t      testing.TB
	broker kafkatest.Broker
	cfg    nodeConfig
	pub    *kafkasource.Publisher
	node   *node
	stop   context.CancelFunc
	base   string
}

// newE2E runs against a fresh embedded broker.
func newE2E(t testing.TB) *e2e {
	t.Helper()
	b, err := devbroker.Start(devbroker.Config{Addr: "127.0.0.1:0", EntriesPartitions: kafkatest.DefaultPartitions})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return newE2EOn(t, kafkatest.Broker{Name: kafkatest.Embedded, Addrs: b.Addrs()})
}

// newE2EOn runs against b, on topics of the test's own (kafkatest.Config).
func newE2EOn(t testing.TB, b kafkatest.Broker) *e2e {
	t.Helper()
	e := &e2e{t: t, broker: b}
	e.cfg.kafka = kafkatest.Config(t, b)
	e.cfg.kafka.LineupSize = 11
	e.cfg.worker = worker.Config{Interval: 150 * time.Millisecond, Refresh: time.Minute, WriteBatch: 1000, Engine: engine.DefaultConfig()}
	e.cfg.worker.Engine.PageSize = 20
	e.cfg.store = rankstore.Config{LiveTTL: time.Hour, CompleteTTL: 7 * 24 * time.Hour}
	e.cfg.api = api.DefaultConfig()
	e.cfg.api.Addr = "127.0.0.1:0"
	e.cfg.admin = "127.0.0.1:0"
	e.cfg.dataDir = t.TempDir()
	if err := e.cfg.validate(); err != nil {
		t.Fatal(err)
	}
	var err error
	e.pub, err = kafkasource.NewPublisher(e.cfg.kafka, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.pub.Close)
	return e
}

func (e *e2e) start() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n, err := startNode(ctx, e.cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	e.node, e.stop, e.base = n, cancel, "http://"+n.addr
}

// kill stops the node: the worker, its state and the live namespace are gone.
func (e *e2e) kill() {
	e.stop()
	if err := e.node.wait(); err != nil {
		e.t.Fatalf("node stopped with %v", err)
	}
}

func (e *e2e) get(path string, out any) int {
	e.t.Helper()
	resp, err := http.Get(e.base + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if err := d.Decode(out); err != nil {
			e.t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
	return resp.StatusCode
}

func eventually(t testing.TB, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type matchAnswer struct {
	State   string      `json:"state"`
	Cycle   json.Number `json:"cycle"`
	Entries json.Number `json:"entries"`
	Players []struct {
		PlayerID json.Number `json:"player_id"`
		Points   json.Number `json:"points"`
	} `json:"players"`
}

// caughtUp waits until the API shows a cycle that ranked every entry against exactly
// the given points, and returns that cycle.
func (e *e2e) caughtUp(entries int, pts map[int32]float64, state string) int64 {
	e.t.Helper()
	var m matchAnswer
	eventually(e.t, "a cycle over every entry and the last points", 20*time.Second, func() bool {
		if e.get("/v1/matches/1", &m) != 200 || m.State != state || m.Entries.String() != strconv.Itoa(entries) {
			return false
		}
		got := map[int32]string{}
		for _, p := range m.Players {
			id, _ := p.PlayerID.Int64()
			got[int32(id)] = p.Points.String()
		}
		for id, v := range pts {
			if got[id] != strconv.FormatFloat(v, 'f', -1, 64) && !(v == 0 && got[id] == "") {
				return false
			}
		}
		return true
	})
	c, _ := m.Cycle.Int64()
	return c
}

type row struct {
	Rank    json.Number `json:"rank"`
	EntryID json.Number `json:"entry_id"`
	UserID  json.Number `json:"user_id"`
	TeamID  json.Number `json:"team_id"`
	Points  json.Number `json:"points"`
}

func fmtRow(r reference.Row) row {
	return row{json.Number(strconv.Itoa(r.Rank)), json.Number(strconv.FormatInt(r.EntryID, 10)), json.Number(strconv.FormatInt(r.UserID, 10)),
		json.Number(strconv.FormatInt(r.TeamID, 10)), json.Number(fixedpoint.FormatUnits(r.Points / 2))}
}

// checkBoards compares every contest's leaderboard, read through the API in pages of
// 37 (across the store's pages of 20), and a sample of entry lookups, with the reference.
func (e *e2e) checkBoards(entries []engine.Entry, pts map[int32]float64) {
	e.t.Helper()
	want := map[int64][]reference.Row{}
	for _, r := range reference.Rank(entries, pts) {
		want[r.ContestID] = append(want[r.ContestID], r)
	}
	for id, rows := range want {
		var got []row
		for off := 0; off < len(rows); off += 37 {
			var page struct {
				Total   json.Number `json:"total"`
				Entries []row       `json:"entries"`
			}
			if code := e.get(fmt.Sprintf("/v1/contests/%d/leaderboard?offset=%d&limit=37", id, off), &page); code != 200 {
				e.t.Fatalf("contest %d: status %d", id, code)
			}
			got = append(got, page.Entries...)
		}
		for j, r := range rows {
			if j >= len(got) || got[j] != fmtRow(r) {
				e.t.Fatalf("contest %d position %d: got %+v, want %+v", id, j, got[min(j, len(got)-1)], fmtRow(r))
			}
		}
		if len(got) != len(rows) {
			e.t.Fatalf("contest %d: %d rows, want %d", id, len(got), len(rows))
		}
		for _, r := range []reference.Row{rows[0], rows[len(rows)/2], rows[len(rows)-1]} {
			var one struct {
				Rank   json.Number `json:"rank"`
				Points json.Number `json:"points"`
				Total  json.Number `json:"total"`
			}
			if e.get(fmt.Sprintf("/v1/contests/%d/entries/%d", id, r.EntryID), &one) != 200 ||
				one.Rank.String() != strconv.Itoa(r.Rank) || one.Points.String() != fixedpoint.FormatUnits(r.Points/2) || one.Total.String() != strconv.Itoa(len(rows)) {
				e.t.Fatalf("entry %d: got %+v, want rank %d points %s", r.EntryID, one, r.Rank, fixedpoint.FormatUnits(r.Points/2))
			}
		}
	}
}

// checkAdmin: metrics and profiles on the admin listener, not on the API's port.
func (e *e2e) checkAdmin() {
	e.t.Helper()
	if code := e.get("/metrics", nil); code != 404 {
		e.t.Errorf("API port /metrics: status %d, want 404 (metrics are on the admin listener)", code)
	}
	resp, err := http.Get("http://" + e.node.admin + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "leaderboard_source_events_rejected_total") {
		e.t.Errorf("admin /metrics: %d, %.300s", resp.StatusCode, body)
	}
}

func toEvents(entries []engine.Entry) []kafkasource.EntryEvent {
	evs := make([]kafkasource.EntryEvent, len(entries))
	for i, x := range entries {
		evs[i] = kafkasource.EntryEvent{MatchID: 1, ContestID: x.ContestID, EntryID: x.EntryID, UserID: x.UserID, TeamID: x.TeamID, Players: x.Players, Captain: x.Captain, ViceCaptain: x.ViceCaptain}
	}
	return evs
}

func (e *e2e) publishPoints(pts map[int32]float64) {
	e.t.Helper()
	var evs []kafkasource.PointsEvent
	for id, v := range pts {
		c, _ := engine.Centipoints(v)
		evs = append(evs, kafkasource.PointsEvent{MatchID: 1, PlayerID: id, Centi: c, TS: time.Now().UnixMilli()})
	}
	if err := e.pub.PublishPoints(context.Background(), evs); err != nil {
		e.t.Fatal(err)
	}
	if err := e.pub.Flush(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// TestEndToEnd: entries and points over Kafka (franz-go and kcat), bad events dead-
// lettered while ranking goes on, API answers equal to the reference, a worker killed
// and restarted mid-match, and a completed match's standings surviving a restart; against
// the embedded broker and, when KAFKA_BROKERS names one, a real Kafka broker.
func TestEndToEnd(t *testing.T) {
	for _, b := range kafkatest.Brokers(t) {
		t.Run(b.Name, func(t *testing.T) { testEndToEnd(t, newE2EOn(t, b)) })
	}
}

func testEndToEnd(t *testing.T, e *e2e) {
	ctx := context.Background()
	entries, pts := reference.Random(11, reference.Shape{
		Contests: []int{1, 2, 5, 20, 21, 150, 900}, Players: 22, LineupSize: 11, Teams: 200, PointValues: 40, Negative: true,
	})
	for i := range entries { // the source rejects non-positive ids
		entries[i].ContestID = max(entries[i].ContestID, -entries[i].ContestID)
		entries[i].UserID++
	}
	viaKcat := 0
	if _, err := exec.LookPath("kcat"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("kcat not installed under CI=true: .ci/run installs it (apt-get install -y kcat)")
		}
		t.Log("kcat not installed (apt-get install -y kcat): publishing every entry with franz-go")
	} else {
		viaKcat = 50
	}
	e.start()
	if err := e.pub.PublishMatch(ctx, kafkasource.MatchEvent{MatchID: 1, State: "live"}); err != nil {
		t.Fatal(err)
	}
	if err := e.pub.PublishEntries(ctx, toEvents(entries[viaKcat:])); err != nil {
		t.Fatal(err)
	}
	if viaKcat > 0 {
		var lines bytes.Buffer
		for _, ev := range toEvents(entries[:viaKcat]) {
			fmt.Fprintf(&lines, "%d\t%s\n", ev.ContestID, kafkasource.EncodeEntry(ev))
		}
		// murmur2 is the Java client's key partitioner, which the engine's partitions follow.
		cmd := exec.Command("kcat", "-b", e.cfg.kafka.Brokers[0], "-t", e.cfg.kafka.EntriesTopic, "-P", "-K", "\t", "-X", "partitioner=murmur2_random")
		cmd.Stdin = &lines
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat: %v: %s", err, out)
		}
	}
	// Bad events: dead-lettered with their reasons, ranking goes on.
	raw, err := kgo.NewClient(kgo.SeedBrokers(e.cfg.kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	bad := []*kgo.Record{
		{Topic: e.cfg.kafka.EntriesTopic, Key: []byte("5"), Value: []byte(`{"match_id":1,"contest_id":5,`)},
		{Topic: e.cfg.kafka.EntriesTopic, Key: []byte("5"), Value: []byte(`{"match_id":1,"contest_id":5,"entry_id":999999,"user_id":1,"team_id":1,"players":[1,1,2,3,4,5,6,7,8,9,10],"captain":1,"vice_captain":2}`)},
		{Topic: e.cfg.kafka.PointsTopic, Key: []byte("1"), Value: []byte(`{"match_id":1,"player_id":101,"points":1.125,"ts":1}`)},
	}
	if err := raw.ProduceSync(ctx, bad...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	e.publishPoints(pts)
	cycle := e.caughtUp(len(entries), pts, "live")
	e.checkBoards(entries, pts)

	dlq, err := kgo.NewClient(kgo.SeedBrokers(e.cfg.kafka.Brokers...), kgo.ConsumeTopics(e.cfg.kafka.DLQTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer dlq.Close()
	var reasons []string
	eventually(t, "three dead letters", 10*time.Second, func() bool {
		fctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		dlq.PollFetches(fctx).EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == "reason_code" {
					reasons = append(reasons, string(h.Value))
				}
			}
		})
		return len(reasons) >= 3
	})
	slices.Sort(reasons)
	if strings.Join(reasons, ",") != "duplicate_player,malformed_json,points" {
		t.Fatalf("dead-letter reasons %v", reasons)
	}
	e.checkAdmin()

	// Kill the worker mid-match, move the points while it is down, restart: nothing lost
	// or duplicated, ranks right after the next cycle, cycle numbers go on.
	e.kill()
	for id := range pts {
		pts[id] += 2.5
		break
	}
	e.publishPoints(pts)
	e.start()
	if c := e.caughtUp(len(entries), pts, "live"); c <= cycle {
		t.Fatalf("cycle went from %d to %d across a restart", cycle, c)
	}
	e.checkBoards(entries, pts)
	// The restarted node replayed the three bad records: they are not dead-lettered again.
	fctx, cancel := context.WithTimeout(ctx, time.Second)
	more := dlq.PollFetches(fctx).Records()
	cancel()
	if len(more) > 0 {
		t.Fatalf("%d more dead letters after a restart (first from %s), want each bad record once", len(more), more[0].Value)
	}

	// Completion: final standings go to the complete namespace and survive a restart of
	// the node (whose live namespace starts empty).
	if err := e.pub.PublishMatch(ctx, kafkasource.MatchEvent{MatchID: 1, State: "completed"}); err != nil {
		t.Fatal(err)
	}
	e.pub.Flush(ctx)
	e.caughtUp(len(entries), pts, "completed")
	e.kill()
	// Lose the live namespace (as a crash would): the answers come from complete.
	if err := os.Remove(filepath.Join(e.cfg.dataDir, rankstore.LiveFileName)); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.caughtUp(len(entries), pts, "completed")
	e.checkBoards(entries, pts)
	e.kill()
}
