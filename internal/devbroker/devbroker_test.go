package devbroker

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func start(t *testing.T, cfg Config) *Broker {
	t.Helper()
	b, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func client(t *testing.T, b *Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addrs()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func partitions(t *testing.T, b *Broker) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	details, err := kadm.NewClient(client(t, b)).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for name, d := range details {
		out[name] = len(d.Partitions)
	}
	return out
}

func TestStartSeedsTopics(t *testing.T) {
	b := start(t, Config{Addr: "127.0.0.1:0", EntriesPartitions: 5, Topics: Topics{DLQ: "my.dlq"}})
	addrs := b.Addrs()
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "127.0.0.1:") || strings.HasSuffix(addrs[0], ":0") {
		t.Fatalf("Addrs = %v", addrs)
	}
	want := map[string]int{"lb.entries": 5, "lb.points": 1, "lb.matches": 1, "my.dlq": 1}
	if got := partitions(t, b); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("topics %v, want %v", got, want)
	}
	if b.EntriesPartitions() != 5 || b.Topics().Entries != "lb.entries" {
		t.Fatalf("EntriesPartitions %d, Topics %+v", b.EntriesPartitions(), b.Topics())
	}
}

func TestDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	b1, err := Start(Config{Addr: "127.0.0.1:0", DataDir: dir, EntriesPartitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	prod := client(t, b1, kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	var recs []*kgo.Record
	for i := range 200 {
		topic := "lb.entries"
		if i%10 == 0 {
			topic = "lb.points"
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "%d", i%17), Value: fmt.Appendf(nil, `{"n":%d}`, i)})
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	prod.Close()
	b1.Close()

	// Same directory, another port, another partition count asked for.
	b2 := start(t, Config{Addr: "127.0.0.1:0", DataDir: dir, EntriesPartitions: 7})
	if got := b2.EntriesPartitions(); got != 3 {
		t.Errorf("restarted EntriesPartitions = %d, want the stored 3", got)
	}
	cons := client(t, b2, kgo.ConsumeTopics("lb.entries", "lb.points"))
	got := map[string]bool{}
	for len(got) < len(recs) {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of %d records after restart", len(got), len(recs))
		}
		fs.EachRecord(func(r *kgo.Record) {
			got[fmt.Sprintf("%s/%d@%d=%s", r.Topic, r.Partition, r.Offset, r.Value)] = true
		})
	}
	for _, r := range recs {
		if k := fmt.Sprintf("%s/%d@%d=%s", r.Topic, r.Partition, r.Offset, r.Value); !got[k] {
			t.Errorf("record %s lost in the restart", k)
		}
	}
	// A topic the old directory lacks is created.
	b2.Close()
	b3 := start(t, Config{Addr: "127.0.0.1:0", DataDir: dir, Topics: Topics{DLQ: "other.dlq"}})
	if p := partitions(t, b3); p["other.dlq"] != 1 || p["lb.dlq"] != 1 || p["lb.entries"] != 3 {
		t.Errorf("topics after adding one: %v", p)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Addr: "localhost"}, "not host:port"},
		{Config{Addr: ":9092"}, "has no host"},
		{Config{Addr: "127.0.0.1:x"}, "bad port"},
		{Config{EntriesPartitions: -1}, "entries partitions"},
		{Config{Topics: Topics{Points: "lb.entries"}}, "named twice"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if b, err := Start(Config{Addr: ln.Addr().String()}); err == nil {
		b.Close()
		t.Fatal("Start on a port in use: no error")
	} else if !strings.Contains(err.Error(), "cannot start Kafka broker on "+ln.Addr().String()) {
		t.Errorf("port in use: %v", err)
	}
}

// TestKcat checks that a client outside franz-go (kcat, librdkafka) can use the broker.
func TestKcat(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat not installed: apt-get install -y kcat")
	}
	b := start(t, Config{Addr: "127.0.0.1:0", EntriesPartitions: 4})
	run := func(stdin string, args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "kcat", append([]string{"-b", b.Addrs()[0]}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kcat %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if meta := run("", "-L"); !strings.Contains(meta, `topic "lb.entries" with 4 partitions`) {
		t.Fatalf("kcat -L:\n%s", meta)
	}
	run("1|one\n2|two\n", "-P", "-t", "lb.points", "-K", "|")
	if got := run("", "-C", "-t", "lb.points", "-o", "beginning", "-e", "-q", "-f", "%k=%s\n"); got != "1=one\n2=two\n" {
		t.Fatalf("kcat read back %q", got)
	}
}
