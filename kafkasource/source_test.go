package kafkasource

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startCluster starts an in-process broker on 127.0.0.1 with the default topics.
func startCluster(t testing.TB, entriesPartitions int) Config {
	t.Helper()
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.SeedTopics(int32(entriesPartitions), "lb.entries"),
		kfake.SeedTopics(1, "lb.points", "lb.matches", "lb.dlq"),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg := DefaultConfig()
	cfg.Brokers = c.ListenAddrs()
	return cfg
}

// logBuffer is a slog destination that outlives the test's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newSource(t testing.TB, cfg Config) (*Source, *prometheus.Registry, *logBuffer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	logs := new(logBuffer)
	s, err := New(cfg, slog.New(slog.NewTextHandler(logs, nil)), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, reg, logs
}

func allPartitions(n int, at int64) map[int32]int64 {
	m := make(map[int32]int64, n)
	for p := range n {
		m[int32(p)] = at
	}
	return m
}

// collected accumulates what successive Polls returned.
type collected struct {
	entries  []EntryRecord
	points   []PointsEvent
	matches  []MatchEvent
	next     map[string]map[int32]int64
	rejected int
}

func (c *collected) add(b Batch) {
	c.entries = append(c.entries, b.Entries...)
	c.points = append(c.points, b.Points...)
	c.matches = append(c.matches, b.Matches...)
	c.rejected += b.Rejected
	if c.next == nil {
		c.next = map[string]map[int32]int64{}
	}
	for topic, ps := range b.Next {
		if c.next[topic] == nil {
			c.next[topic] = map[int32]int64{}
		}
		for p, o := range ps {
			if prev, ok := c.next[topic][p]; ok && o <= prev {
				panic(fmt.Sprintf("next offset of %s/%d went from %d to %d", topic, p, prev, o))
			}
			c.next[topic][p] = o
		}
	}
}

// pollUntil polls until done holds, failing the test after 15 s.
func pollUntil(t testing.TB, s *Source, c *collected, done func(*collected) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !done(c) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %d entries, %d points, %d matches, %d rejected", len(c.entries), len(c.points), len(c.matches), c.rejected)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		b, err := s.Poll(ctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Poll: %v", err)
		}
		c.add(b)
	}
}

// producer is a plain client for writing test records, with Kafka's key partitioning.
func producer(t testing.TB, cfg Config) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produce writes records synchronously and returns them with partitions and offsets.
func produce(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) []*kgo.Record {
	t.Helper()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return recs
}

func testEntry(contest, id int64) EntryEvent {
	players := make([]int32, 11)
	for i := range players {
		players[i] = int32(1000 + (int(id)+i)%30)
	}
	return EntryEvent{MatchID: 1, ContestID: contest, EntryID: id, UserID: 1 + id%97, TeamID: id*3 + 1, Players: players, Captain: players[3], ViceCaptain: players[7]}
}

func publisher(t testing.TB, cfg Config) *Publisher {
	t.Helper()
	p, err := NewPublisher(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestPollReadsAllTopics(t *testing.T) {
	const parts = 4
	cfg := startCluster(t, parts)
	pub := publisher(t, cfg)
	ctx := context.Background()

	var want []EntryEvent
	for i := range 400 {
		want = append(want, testEntry(int64(1+i%37), int64(1000+i)))
	}
	want = append(want, EntryEvent{MatchID: 1, ContestID: 5, EntryID: 1004, Withdrawn: true})
	pts := []PointsEvent{{1, 101, 5250, 1795740000000}, {1, 102, -200, 1795740000001}, {2, 101, 25, 1795740000002}}
	if err := pub.PublishEntries(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishPoints(ctx, pts); err != nil {
		t.Fatal(err)
	}
	for _, m := range []MatchEvent{{1, MatchScheduled, 1}, {1, MatchLive, 2}, {1, MatchCompleted, 3}} {
		if err := pub.PublishMatch(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	s, reg, _ := newSource(t, cfg)
	if err := s.AssignEntries(allPartitions(parts, OffsetStart)); err != nil {
		t.Fatal(err)
	}
	var c collected
	pollUntil(t, s, &c, func(c *collected) bool {
		return len(c.entries) == len(want) && len(c.points) == len(pts) && len(c.matches) == 3
	})

	// Every entry once, in its murmur2 partition, offsets dense and in publish order.
	byPartition := map[int32][]EntryRecord{}
	for _, r := range c.entries {
		if got, want := r.Partition, EntryPartition(r.Event.ContestID, parts); got != want {
			t.Errorf("contest %d in partition %d, want %d", r.Event.ContestID, got, want)
		}
		if string(r.Key) != strconv.FormatInt(r.Event.ContestID, 10) {
			t.Errorf("entry %d: key %q", r.Event.EntryID, r.Key)
		}
		if ev, err := DecodeEntry(r.Value, 11); err != nil || !equalEntry(ev, r.Event) {
			t.Errorf("entry %d: Value does not decode to Event: %v", r.Event.EntryID, err)
		}
		byPartition[r.Partition] = append(byPartition[r.Partition], r)
	}
	if len(byPartition) != parts {
		t.Errorf("entries in %d partitions, want %d", len(byPartition), parts)
	}
	var wantByPartition = map[int32][]EntryEvent{}
	for _, e := range want {
		p := EntryPartition(e.ContestID, parts)
		wantByPartition[p] = append(wantByPartition[p], e)
	}
	for p, rs := range byPartition {
		for i, r := range rs {
			if r.Offset != int64(i) {
				t.Fatalf("partition %d: record %d has offset %d", p, i, r.Offset)
			}
			if !equalEntry(r.Event, wantByPartition[p][i]) {
				t.Fatalf("partition %d offset %d: got %+v, want %+v", p, i, r.Event, wantByPartition[p][i])
			}
		}
		if got := c.next["lb.entries"][p]; got != int64(len(rs)) {
			t.Errorf("next offset of partition %d = %d, want %d", p, got, len(rs))
		}
	}
	if !slices.Equal(c.points, pts) {
		t.Errorf("points = %+v, want %+v", c.points, pts)
	}
	if c.matches[2].State != MatchCompleted || c.next["lb.matches"][0] != 3 || c.next["lb.points"][0] != 3 {
		t.Errorf("matches %+v, next %v", c.matches, c.next)
	}
	if got := metricValue(t, reg, "leaderboard_source_events_total", "topic", "lb.entries"); got != float64(len(want)) {
		t.Errorf("leaderboard_source_events_total{topic=lb.entries} = %v, want %d", got, len(want))
	}
	if got := metricValue(t, reg, "leaderboard_source_events_total", "topic", "lb.points"); got != 3 {
		t.Errorf("leaderboard_source_events_total{topic=lb.points} = %v, want 3", got)
	}
}

func equalEntry(a, b EntryEvent) bool {
	return a.MatchID == b.MatchID && a.ContestID == b.ContestID && a.EntryID == b.EntryID && a.UserID == b.UserID &&
		a.TeamID == b.TeamID && slices.Equal(a.Players, b.Players) && a.Captain == b.Captain && a.ViceCaptain == b.ViceCaptain &&
		a.Withdrawn == b.Withdrawn
}

// metricValue reads one counter from reg; labels are name/value pairs.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}
				if !found {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// badRecord is a record that must be dead-lettered with code.
type badRecord struct {
	topic string
	key   string // "-" for no key
	value []byte
	code  string
}

var badRecords = []badRecord{
	{"lb.entries", "10", []byte(`{"match_id":1,`), ReasonMalformedJSON},
	{"lb.entries", "10", entry("contest_id", "10", "user_id", ""), ReasonMissingField},
	{"lb.entries", "10", entry("contest_id", `"10"`), ReasonBadType},
	{"lb.entries", "10", entry("contest_id", "10", "entry_id", "1.5"), ReasonBadID},
	{"lb.entries", "10", entry("contest_id", "10", "players", "[101,102,103,104,105,106,107,108,109,110]"), ReasonLineupSize},
	{"lb.entries", "10", entry("contest_id", "10", "players", "[101,102,103,104,105,106,107,108,109,110,110]"), ReasonDuplicatePlayer},
	{"lb.entries", "10", entry("contest_id", "10", "vice_captain", "101"), ReasonCaptain},
	{"lb.entries", "11", entry("contest_id", "10"), ReasonKeyMismatch},
	{"lb.entries", "-", entry("contest_id", "10"), ReasonKeyMismatch},
	{"lb.points", "1", points("points", "0.125"), ReasonPoints},
	{"lb.points", "1", points("points", "1e400"), ReasonPoints},
	{"lb.points", "2", points(), ReasonKeyMismatch},
	{"lb.points", "1", points("ts", ""), ReasonMissingField},
	{"lb.matches", "1", match("state", `"paused"`), ReasonState},
	{"lb.matches", "1", match("ts", "-1"), ReasonTimestamp},
	{"lb.matches", "1", []byte(`[]`), ReasonMalformedJSON},
}

func (b badRecord) record() *kgo.Record {
	r := &kgo.Record{Topic: b.topic, Value: b.value, Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("t-1")}}}
	if b.key != "-" {
		r.Key = []byte(b.key)
	}
	return r
}

// readDLQ reads n records from the DLQ topic.
func readDLQ(t testing.TB, cfg Config, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumeTopics(cfg.DLQTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d DLQ records: %v", len(out), n, err)
		}
		out = append(out, fs.Records()...)
	}
	// Nothing more arrives.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if extra := cl.PollFetches(ctx2).Records(); len(extra) > 0 {
		t.Fatalf("%d DLQ records more than the %d expected, first %s", len(extra), n, extra[0].Value)
	}
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestBadEventsGoToDLQ(t *testing.T) {
	const parts = 4
	cfg := startCluster(t, parts)
	cl := producer(t, cfg)
	s, reg, logs := newSource(t, cfg)
	if err := s.AssignEntries(allPartitions(parts, OffsetStart)); err != nil {
		t.Fatal(err)
	}

	// Good, bad, good, bad, ... in every topic.
	var recs []*kgo.Record
	goodEntries, goodPoints, goodMatches := 0, 0, 0
	for i, b := range badRecords {
		switch b.topic {
		case "lb.entries":
			e := testEntry(10, int64(i+1))
			recs = append(recs, &kgo.Record{Topic: "lb.entries", Key: []byte("10"), Value: EncodeEntry(e)})
			goodEntries++
		case "lb.points":
			recs = append(recs, &kgo.Record{Topic: "lb.points", Key: []byte("1"), Value: EncodePoints(PointsEvent{1, int32(100 + i), 100, 5})})
			goodPoints++
		case "lb.matches":
			recs = append(recs, &kgo.Record{Topic: "lb.matches", Key: []byte("1"), Value: EncodeMatch(MatchEvent{1, MatchLive, 5})})
			goodMatches++
		}
		recs = append(recs, b.record())
	}
	produce(t, cl, recs...)

	var c collected
	pollUntil(t, s, &c, func(c *collected) bool {
		return len(c.entries) == goodEntries && len(c.points) == goodPoints && len(c.matches) == goodMatches && c.rejected == len(badRecords)
	})
	dead := readDLQ(t, cfg, len(badRecords))

	byOrigin := map[string]*kgo.Record{}
	for _, d := range dead {
		byOrigin[header(d, HeaderSourceTopic)+"/"+header(d, HeaderSourcePartition)+"@"+header(d, HeaderSourceOffset)] = d
	}
	for i, b := range badRecords {
		src := recs[2*i+1]
		origin := fmt.Sprintf("%s/%d@%d", src.Topic, src.Partition, src.Offset)
		d := byOrigin[origin]
		if d == nil {
			t.Errorf("%s (%s) not in the DLQ", origin, b.code)
			continue
		}
		if got := header(d, HeaderReasonCode); got != b.code {
			t.Errorf("%s: reason_code %q, want %q (reason %q)", origin, got, b.code, header(d, HeaderReason))
		}
		if header(d, HeaderReason) == "" {
			t.Errorf("%s: no reason header", origin)
		}
		if !bytes.Equal(d.Key, src.Key) || (d.Key == nil) != (src.Key == nil) || !bytes.Equal(d.Value, src.Value) {
			t.Errorf("%s: DLQ record %q=%q, want the original %q=%q", origin, d.Key, d.Value, src.Key, src.Value)
		}
		if header(d, "trace") != "t-1" {
			t.Errorf("%s: original header lost: %v", origin, d.Headers)
		}
		if got := metricValue(t, reg, "leaderboard_source_events_rejected_total", "topic", b.topic, "reason", b.code); got < 1 {
			t.Errorf("leaderboard_source_events_rejected_total{topic=%s,reason=%s} = %v", b.topic, b.code, got)
		}
	}
	if got := metricValue(t, reg, "leaderboard_source_events_rejected_total", "topic", "lb.entries", "reason", ReasonKeyMismatch); got != 2 {
		t.Errorf("key_mismatch count %v, want 2", got)
	}
	// The partition with the bad entries is read to its end.
	p := EntryPartition(10, parts)
	var want int64
	for _, r := range recs {
		if r.Topic == "lb.entries" && r.Partition == p {
			want = max(want, r.Offset+1)
		}
	}
	if got := c.next["lb.entries"][p]; got != want {
		t.Errorf("next offset of entries partition %d = %d, want %d", p, got, want)
	}
	if !strings.Contains(logs.String(), "event rejected") || !strings.Contains(logs.String(), "reason=") {
		t.Errorf("no rejection logged:\n%s", logs)
	}
}

func TestRestartResumesExactly(t *testing.T) {
	const parts = 4
	cfg := startCluster(t, parts)
	cl := producer(t, cfg)

	var produced []*kgo.Record
	bad := 0
	writeRound := func(from, n int) {
		var recs []*kgo.Record
		for i := from; i < from+n; i++ {
			e := testEntry(int64(1+i%23), int64(i+1))
			value := EncodeEntry(e)
			if i%50 == 7 {
				value = []byte(`{"broken":`) // dead-lettered, never delivered
				bad++
			}
			recs = append(recs, &kgo.Record{Topic: "lb.entries", Key: []byte(strconv.FormatInt(e.ContestID, 10)), Value: value})
		}
		produced = append(produced, produce(t, cl, recs...)...)
	}
	writeRound(0, 300)

	// First life: read what one Poll brings, keep its offsets, die.
	s1, _, _ := newSource(t, cfg)
	if err := s1.AssignEntries(allPartitions(parts, OffsetStart)); err != nil {
		t.Fatal(err)
	}
	var first collected
	pollUntil(t, s1, &first, func(c *collected) bool { return len(c.next) > 0 })
	s1.Close()
	saved := allPartitions(parts, OffsetStart)
	for p, o := range first.next["lb.entries"] {
		saved[p] = o
	}
	writeRound(300, 200)

	// Second life: resume from the saved offsets.
	s2, _, _ := newSource(t, cfg)
	if err := s2.AssignEntries(saved); err != nil {
		t.Fatal(err)
	}
	var second collected
	wantTotal := len(produced) - bad
	pollUntil(t, s2, &second, func(c *collected) bool { return len(first.entries)+len(c.entries) >= wantTotal })

	seen := map[string]int{}
	for _, r := range append(first.entries, second.entries...) {
		seen[fmt.Sprintf("%d@%d", r.Partition, r.Offset)]++
	}
	for _, r := range second.entries {
		if r.Offset < saved[r.Partition] {
			t.Errorf("second life read %d@%d, before its start %d", r.Partition, r.Offset, saved[r.Partition])
		}
	}
	for _, r := range produced {
		id := fmt.Sprintf("%d@%d", r.Partition, r.Offset)
		n := seen[id]
		if bytes.HasPrefix(r.Value, []byte(`{"broken"`)) {
			if n != 0 {
				t.Errorf("bad record %s delivered", id)
			}
			continue
		}
		if n != 1 {
			t.Errorf("record %s delivered %d times", id, n)
		}
	}
	// Each bad record is dead-lettered exactly once across both lives.
	if got := first.rejected + second.rejected; got != bad {
		t.Errorf("rejected %d, want %d", got, bad)
	}
	readDLQ(t, cfg, bad)
}

func TestAssignRevoke(t *testing.T) {
	const parts = 3
	cfg := startCluster(t, parts)
	pub := publisher(t, cfg)
	ctx := context.Background()
	// Contests spread over all partitions.
	var contests [parts]int64
	for c := int64(1); contests[0] == 0 || contests[1] == 0 || contests[2] == 0; c++ {
		contests[EntryPartition(c, parts)] = c
	}
	publishRound := func(round int) {
		var evs []EntryEvent
		for p, c := range contests {
			for i := range 5 {
				evs = append(evs, testEntry(c, int64(round*100+p*10+i+1)))
			}
		}
		if err := pub.PublishEntries(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if err := pub.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	publishRound(0)

	s, _, _ := newSource(t, cfg)
	if err := s.AssignEntries(map[int32]int64{0: OffsetStart, 1: OffsetStart}); err != nil {
		t.Fatal(err)
	}
	if err := s.AssignEntries(map[int32]int64{1: 0}); err == nil {
		t.Error("assigning an assigned partition: no error")
	}
	if err := s.AssignEntries(map[int32]int64{2: -3}); err == nil {
		t.Error("offset -3: no error")
	}
	var c collected
	pollUntil(t, s, &c, func(c *collected) bool { return len(c.entries) == 10 })
	for _, r := range c.entries {
		if r.Partition == 2 {
			t.Fatalf("read unassigned partition 2")
		}
	}
	if got := s.AssignedEntries(); !slices.Equal(got, []int32{0, 1}) {
		t.Errorf("AssignedEntries = %v", got)
	}

	s.RevokeEntries([]int32{1, 7})
	publishRound(1)
	var c2 collected
	pollUntil(t, s, &c2, func(c *collected) bool { return len(c.entries) == 5 })
	ctxShort, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	b, err := s.Poll(ctxShort)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || len(b.Entries) != 0 {
		t.Fatalf("extra poll: %d entries, %v", len(b.Entries), err)
	}
	for _, r := range c2.entries {
		if r.Partition != 0 || r.Offset < 5 {
			t.Fatalf("after revoke read %d@%d", r.Partition, r.Offset)
		}
	}

	// Re-assign partition 1 where it was left, and 2 from its end.
	if err := s.AssignEntries(map[int32]int64{1: c.next["lb.entries"][1], 2: OffsetEnd}); err != nil {
		t.Fatal(err)
	}
	var c3 collected
	pollUntil(t, s, &c3, func(c *collected) bool { return len(c.entries) == 5 })
	for i, r := range c3.entries {
		if r.Partition != 1 || r.Offset != int64(5+i) {
			t.Fatalf("after re-assign read %d@%d, want 1@%d", r.Partition, r.Offset, 5+i)
		}
	}
	end, err := s.EndOffsets(ctx, "lb.entries")
	if err != nil || len(end) != parts || end[2] != 10 {
		t.Fatalf("EndOffsets = %v, %v", end, err)
	}
}

func TestRejectByWorker(t *testing.T) {
	cfg := startCluster(t, 2)
	s, reg, _ := newSource(t, cfg)
	key, value := []byte("10"), EncodeEntry(testEntry(10, 1))
	err := s.Reject(context.Background(), "lb.entries", 1, 17, key, value,
		&RejectError{Code: ReasonContestMove, Msg: "entry 1 moved from contest 9 to contest 10"})
	if err != nil {
		t.Fatal(err)
	}
	d := readDLQ(t, cfg, 1)[0]
	for h, want := range map[string]string{
		HeaderReason: "entry 1 moved from contest 9 to contest 10", HeaderReasonCode: ReasonContestMove,
		HeaderSourceTopic: "lb.entries", HeaderSourcePartition: "1", HeaderSourceOffset: "17",
	} {
		if got := header(d, h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if !bytes.Equal(d.Key, key) || !bytes.Equal(d.Value, value) {
		t.Errorf("DLQ record %q=%q", d.Key, d.Value)
	}
	if got := metricValue(t, reg, "leaderboard_source_events_rejected_total", "topic", "lb.entries", "reason", ReasonContestMove); got != 1 {
		t.Errorf("contest_move count %v", got)
	}
}

func TestPollAfterClose(t *testing.T) {
	cfg := startCluster(t, 1)
	s, _, _ := newSource(t, cfg)
	s.Close()
	if _, err := s.Poll(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Poll after Close = %v, want ErrClosed", err)
	}
}

func TestEnsureTopics(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := DefaultConfig()
	cfg.EntriesTopic = "x.entries"
	ctx := context.Background()
	for range 2 { // the second call finds them all
		if err := EnsureTopics(ctx, c.ListenAddrs(), cfg, 6); err != nil {
			t.Fatal(err)
		}
	}
	cl, _ := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]int{"x.entries": 6, "lb.points": 1, "lb.matches": 1, "lb.dlq": 1} {
		if got := len(details[topic].Partitions); got != want {
			t.Errorf("%s has %d partitions, want %d", topic, got, want)
		}
	}
	cfg.Brokers = c.ListenAddrs()
	if ps, err := Partitions(ctx, cfg); err != nil || !slices.Equal(ps, []int32{0, 1, 2, 3, 4, 5}) {
		t.Errorf("Partitions = %v, %v", ps, err)
	}
	cfg.EntriesTopic = "absent"
	if ps, err := Partitions(ctx, cfg); err == nil {
		t.Errorf("Partitions of a missing topic = %v", ps)
	}
	if err := EnsureTopics(ctx, c.ListenAddrs(), cfg, 0); err == nil {
		t.Error("0 partitions: no error")
	}
}

func TestConfig(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs, "in.")
	if err := fs.Parse([]string{"-in.kafka", " a:1, b:2 ", "-in.entries-topic", "e", "-in.lineup-size", "5"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Brokers, []string{"a:1", "b:2"}) || cfg.EntriesTopic != "e" || cfg.LineupSize != 5 || cfg.PointsTopic != "lb.points" {
		t.Fatalf("parsed %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if def := DefaultConfig(); !slices.Equal(def.Brokers, []string{"127.0.0.1:9092"}) || def.DLQTopic != "lb.dlq" || def.LineupSize != 11 {
		t.Fatalf("defaults %+v", def)
	}
	for _, tc := range []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Brokers = nil }, "no Kafka brokers"},
		{func(c *Config) { c.Brokers = []string{"localhost"} }, "not host:port"},
		{func(c *Config) { c.DLQTopic = "" }, "dlq-topic"},
		{func(c *Config) { c.PointsTopic = "a b" }, "letters, digits"},
		{func(c *Config) { c.MatchesTopic = c.PointsTopic }, "both"},
		{func(c *Config) { c.LineupSize = 1 }, "lineup size"},
		{func(c *Config) { c.LineupSize = 65 }, "lineup size"},
	} {
		c := DefaultConfig()
		tc.mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
	}
	if err := fs.Parse([]string{"-in.kafka", " , "}); err == nil {
		t.Error("empty broker list accepted")
	}
}

// A DLQ that cannot be written stops Poll with an error; no record is lost: the next
// Poll writes the dead letters and only then returns the batch.
func TestDLQFailureKeepsBatch(t *testing.T) {
	cfg := startCluster(t, 1)
	cfg.DLQTopic = "lb.dlq.missing" // no auto-creation on this broker
	s, reg, _ := newSource(t, cfg)
	s.dlqTimeout = 300 * time.Millisecond
	if err := s.AssignEntries(allPartitions(1, OffsetStart)); err != nil {
		t.Fatal(err)
	}
	cl := producer(t, cfg)
	produce(t, cl,
		&kgo.Record{Topic: "lb.entries", Key: []byte("10"), Value: EncodeEntry(testEntry(10, 1))},
		&kgo.Record{Topic: "lb.entries", Key: []byte("10"), Value: []byte("{")},
		&kgo.Record{Topic: "lb.entries", Key: []byte("10"), Value: EncodeEntry(testEntry(10, 2))},
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := s.Poll(ctx)
	if err == nil || !strings.Contains(err.Error(), "cannot write 1 rejected records to lb.dlq.missing") {
		t.Fatalf("Poll with no DLQ topic = %d entries, %v; want a DLQ error", len(b.Entries), err)
	}
	if got := metricValue(t, reg, "leaderboard_source_dlq_write_errors_total"); got < 1 {
		t.Errorf("leaderboard_source_dlq_write_errors_total = %v", got)
	}
	if got := metricValue(t, reg, "leaderboard_source_events_total", "topic", "lb.entries"); got != 0 {
		t.Errorf("accepted %v events of an undelivered batch", got)
	}
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, cfg.DLQTopic); err != nil {
		t.Fatal(err)
	}
	b, err = s.Poll(ctx)
	if err != nil {
		t.Fatalf("Poll after creating the DLQ: %v", err)
	}
	if len(b.Entries) != 2 || b.Rejected != 1 || b.Next["lb.entries"][0] != 3 {
		t.Fatalf("batch after retry: %d entries, %d rejected, next %v", len(b.Entries), b.Rejected, b.Next)
	}
	if d := readDLQ(t, cfg, 1)[0]; header(d, HeaderSourceOffset) != "1" || header(d, HeaderReasonCode) != ReasonMalformedJSON {
		t.Fatalf("dead letter headers %v", d.Headers)
	}
}
