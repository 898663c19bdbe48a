package kafkasource

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// kcat drives kcat (librdkafka, a client independent of franz-go) against the broker.
func kcat(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kcat", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// TestKcat produces entry and points events with kcat, as an operator would, and reads
// the DLQ with it. kcat's murmur2_random partitioner is the Java client's, so its
// entries land in the partitions EntryPartition computes.
func TestKcat(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat not installed: apt-get install -y kcat")
	}
	const parts = 8
	cfg := startCluster(t, parts)
	broker := cfg.Brokers[0]

	var lines []string
	contests := []int64{10, 11, 12, 13, 14, 15, 16, 17, 1000001, 987654321}
	for i, c := range contests {
		lines = append(lines, strconv.FormatInt(c, 10)+"|"+string(EncodeEntry(testEntry(c, int64(i+1)))))
	}
	lines = append(lines,
		`10|{"match_id":1,"contest_id":10,"entry_id":`, // malformed
		`12|`+string(entry("contest_id", "11")),        // key mismatch
	)
	kcat(t, strings.Join(lines, "\n")+"\n", "-P", "-b", broker, "-t", cfg.EntriesTopic, "-K", "|",
		"-X", "topic.partitioner=murmur2_random")
	kcat(t, "1|"+string(points())+"\n1|"+string(points("player_id", "102", "points", "-2"))+"\n1|"+string(points("points", "0.001"))+"\n",
		"-P", "-b", broker, "-t", cfg.PointsTopic, "-K", "|")

	s, _, _ := newSource(t, cfg)
	if err := s.AssignEntries(allPartitions(parts, OffsetStart)); err != nil {
		t.Fatal(err)
	}
	var c collected
	pollUntil(t, s, &c, func(c *collected) bool {
		return len(c.entries) == len(contests) && len(c.points) == 2 && c.rejected == 3
	})
	for _, r := range c.entries {
		if want := EntryPartition(r.Event.ContestID, parts); r.Partition != want {
			t.Errorf("kcat put contest %d in partition %d, EntryPartition says %d", r.Event.ContestID, r.Partition, want)
		}
	}
	if c.points[0].Centi != 5250 || c.points[1].Centi != -200 {
		t.Errorf("points %+v", c.points)
	}

	out := kcat(t, "", "-C", "-b", broker, "-t", cfg.DLQTopic, "-o", "beginning", "-e", "-J")
	codes := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var msg struct {
			Key     string   `json:"key"`
			Payload string   `json:"payload"`
			Headers []string `json:"headers"`
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			t.Fatalf("kcat -J line %q: %v", sc.Text(), err)
		}
		h := map[string]string{}
		for i := 0; i+1 < len(msg.Headers); i += 2 {
			h[msg.Headers[i]] = msg.Headers[i+1]
		}
		codes[h[HeaderReasonCode]]++
		if h[HeaderReason] == "" || h[HeaderSourceTopic] == "" || h[HeaderSourcePartition] == "" || h[HeaderSourceOffset] == "" {
			t.Errorf("DLQ record %q lacks headers: %v", msg.Key, h)
		}
		if h[HeaderReasonCode] == ReasonKeyMismatch && (msg.Key != "12" || h[HeaderSourceTopic] != cfg.EntriesTopic) {
			t.Errorf("key mismatch record: key %q, headers %v", msg.Key, h)
		}
	}
	if codes[ReasonMalformedJSON] != 1 || codes[ReasonKeyMismatch] != 1 || codes[ReasonPoints] != 1 || len(codes) != 3 {
		t.Errorf("DLQ reason codes %v, want one each of malformed_json, key_mismatch, points", codes)
	}
}
