package kafkasource

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Every bad record reaches the DLQ once, however often it is replayed: a source started
// three times over the same topics (as after two restarts) rejects and counts the bad
// records every time, but the DLQ holds one dead letter per bad record, the worker's
// rejections included.
func TestDeadLettersOnceAcrossRestarts(t *testing.T) {
	const parts = 2
	cfg := startCluster(t, parts)
	cl := producer(t, cfg)
	var recs []*kgo.Record
	for i := range 6 {
		contest := int64(10 + i%2)
		recs = append(recs, &kgo.Record{Topic: "lb.entries", Key: []byte(strconv.FormatInt(contest, 10)), Value: EncodeEntry(testEntry(contest, int64(i+1)))})
	}
	bad := []*kgo.Record{
		{Topic: "lb.entries", Key: []byte("10"), Value: []byte(`{"match_id":1,`)},
		{Topic: "lb.entries", Key: []byte("11"), Value: []byte(`{"match_id":1,`)},
		{Topic: "lb.points", Key: []byte("1"), Value: points("points", "0.125")},
		{Topic: "lb.matches", Key: []byte("1"), Value: match("state", `"paused"`)},
	}
	produce(t, cl, append(recs, bad...)...)
	produce(t, cl, &kgo.Record{Topic: "lb.points", Key: []byte("1"), Value: EncodePoints(PointsEvent{1, 101, 100, 5})})

	for run := range 3 {
		s, reg, _ := newSource(t, cfg)
		if err := s.AssignEntries(allPartitions(parts, OffsetStart)); err != nil {
			t.Fatal(err)
		}
		var c collected
		pollUntil(t, s, &c, func(c *collected) bool { return len(c.entries) == 6 && len(c.points) == 1 && c.rejected == len(bad) })
		// The worker refuses one accepted entry (as for a contest move).
		r := recs[2]
		if err := s.Reject(context.Background(), "lb.entries", r.Partition, r.Offset, r.Key, r.Value, reject(ReasonContestMove, "moved")); err != nil {
			t.Fatal(err)
		}
		if got := metricValue(t, reg, "leaderboard_source_events_rejected_total", "topic", "lb.entries", "reason", ReasonMalformedJSON); got != 2 {
			t.Errorf("run %d: malformed entries counted %v times, want 2 (a replayed rejection still counts)", run, got)
		}
		// Dead letters written: each bad record once, by the first run only; a restart
		// that replays them leaves the counter where it was (at 0 in a new process).
		want := map[[2]string]float64{
			{"lb.entries", ReasonMalformedJSON}: 2, {"lb.points", ReasonPoints}: 1,
			{"lb.matches", ReasonState}: 1, {"lb.entries", ReasonContestMove}: 1,
		}
		for k, n := range want {
			if run > 0 {
				n = 0
			}
			if got := metricValue(t, reg, "leaderboard_source_dead_letters_written_total", "topic", k[0], "reason", k[1]); got != n {
				t.Errorf("run %d: dead letters written of %s for %s: %v, want %v", run, k[0], k[1], got, n)
			}
		}
		s.Close()
	}
	dead := readDLQ(t, cfg, len(bad)+1)
	var origins []string
	for _, d := range dead {
		origins = append(origins, header(d, HeaderSourceTopic)+"/"+header(d, HeaderSourcePartition)+"@"+header(d, HeaderSourceOffset)+" "+header(d, HeaderReasonCode))
	}
	sort.Strings(origins)
	var want []string
	for _, b := range bad {
		code := ReasonMalformedJSON
		switch b.Topic {
		case "lb.points":
			code = ReasonPoints
		case "lb.matches":
			code = ReasonState
		}
		want = append(want, fmt.Sprintf("%s/%d@%d %s", b.Topic, b.Partition, b.Offset, code))
	}
	want = append(want, fmt.Sprintf("lb.entries/%d@%d %s", recs[2].Partition, recs[2].Offset, ReasonContestMove))
	sort.Strings(want)
	if !slices.Equal(origins, want) {
		t.Errorf("DLQ holds %v, want %v", origins, want)
	}
}

// The set of dead letters read back is exact: a dead letter for a later offset does not
// hide an earlier bad record whose dead letter never made it (a crash between the two).
func TestDeadLetterReadBackIsExact(t *testing.T) {
	cfg := startCluster(t, 1)
	cl := producer(t, cfg)
	bad := produce(t, cl,
		&kgo.Record{Topic: "lb.entries", Key: []byte("10"), Value: []byte(`{`)},
		&kgo.Record{Topic: "lb.entries", Key: []byte("10"), Value: []byte(`[`)},
	)
	// Only the second one's dead letter is in the DLQ.
	produce(t, cl, &kgo.Record{Topic: "lb.dlq", Key: bad[1].Key, Value: bad[1].Value, Headers: []kgo.RecordHeader{
		{Key: HeaderReasonCode, Value: []byte(ReasonMalformedJSON)}, {Key: HeaderSourceTopic, Value: []byte("lb.entries")},
		{Key: HeaderSourcePartition, Value: []byte("0")}, {Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(bad[1].Offset, 10))},
	}})
	s, _, _ := newSource(t, cfg)
	if err := s.AssignEntries(allPartitions(1, OffsetStart)); err != nil {
		t.Fatal(err)
	}
	var c collected
	pollUntil(t, s, &c, func(c *collected) bool { return c.rejected == 2 })
	dead := readDLQ(t, cfg, 2)
	if got := header(dead[1], HeaderSourceOffset); got != strconv.FormatInt(bad[0].Offset, 10) {
		t.Fatalf("second dead letter is of offset %s, want the first bad record's %d", got, bad[0].Offset)
	}
}
