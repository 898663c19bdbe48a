// Package kafkatest gives tests the Kafka brokers to run against: an embedded development
// broker (franz-go's kfake, started for the test and closed at its cleanup) always, and a
// real Apache Kafka broker when KAFKA_BROKERS names one (.ci/run starts one; docs/KAFKA.md
// says how to start it by hand). Each test gets topic names of its own, so tests sharing
// a real broker, in one run or across runs, never read each other's records.
//
//	for _, b := range kafkatest.Brokers(t) {
//		t.Run(b.Name, func(t *testing.T) {
//			cfg := kafkatest.Config(t, b) // unique topics, created
//			...
//		})
//	}
//
// With CI=true and KAFKA_BROKERS unset, Brokers fails the test: CI must not silently run
// without the real broker. A package's internal tests cannot import kafkatest if it
// imports them (kafkasource): use an external test package (package kafkasource_test).
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fantasy/leaderboard/internal/devbroker"
	"github.com/fantasy/leaderboard/kafkasource"
)

// EnvBrokers names the environment variable holding the real broker's bootstrap
// addresses (comma-separated host:port).
const EnvBrokers = "KAFKA_BROKERS"

// Names of the brokers Brokers returns.
const (
	Embedded = "embedded" // the development broker (kfake)
	Real     = "kafka"    // the broker named by KAFKA_BROKERS
)

// DefaultPartitions is the entries topic's partition count that Config creates.
const DefaultPartitions = 4

// Broker is one broker a test can run against.
type Broker struct {
	Name  string   // Embedded or Real: use it as the subtest's name
	Addrs []string // bootstrap addresses
}

// Real reports whether b is a real Kafka broker (not the embedded one).
func (b Broker) Real() bool { return b.Name == Real }

// Brokers returns the brokers to run against: a fresh embedded broker (closed at t's
// cleanup), then the real one when KAFKA_BROKERS is set. It fails t when CI=true and
// KAFKA_BROKERS is unset, or when the real broker does not accept connections.
func Brokers(t testing.TB) []Broker {
	t.Helper()
	dev, err := devbroker.Start(devbroker.Config{Addr: "127.0.0.1:0", EntriesPartitions: DefaultPartitions})
	if err != nil {
		t.Fatalf("cannot start the embedded Kafka broker: %v", err)
	}
	t.Cleanup(dev.Close)
	out := []Broker{{Name: Embedded, Addrs: dev.Addrs()}}
	real := RealBrokers()
	switch {
	case len(real) > 0:
		for _, a := range real {
			c, err := net.DialTimeout("tcp", a, 5*time.Second)
			if err != nil {
				t.Fatalf("%s=%s: cannot connect to %s: %v (start a broker with .ci/kafka.sh, see docs/KAFKA.md, or unset %s)",
					EnvBrokers, os.Getenv(EnvBrokers), a, err, EnvBrokers)
			}
			c.Close()
		}
		out = append(out, Broker{Name: Real, Addrs: real})
	case os.Getenv("CI") == "true":
		t.Fatalf("CI=true but %s is not set: CI must run the Kafka tests against a real broker too (.ci/run starts one)", EnvBrokers)
	default:
		t.Logf("%s not set: running against the embedded broker only (a real one: .ci/kafka.sh start DIR, see docs/KAFKA.md)", EnvBrokers)
	}
	return out
}

// RealBrokers returns the addresses in KAFKA_BROKERS (nil when unset).
func RealBrokers() []string {
	var out []string
	for _, a := range strings.Split(os.Getenv(EnvBrokers), ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Config returns the kafkasource flag defaults for b with topic names unique to t, and
// creates the topics (the entries topic with DefaultPartitions partitions). On a real
// broker the topics are deleted at t's cleanup.
func Config(t testing.TB, b Broker) kafkasource.Config {
	t.Helper()
	cfg := Names(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkasource.EnsureTopics(ctx, cfg.Brokers, cfg, DefaultPartitions); err != nil {
		t.Fatalf("cannot create the test's topics on the %s broker: %v", b.Name, err)
	}
	if err := kafkasource.WaitTopics(ctx, cfg); err != nil {
		t.Fatalf("the test's topics on the %s broker: %v", b.Name, err)
	}
	return cfg
}

// Names returns what Config does without creating the topics (for tests of code that
// creates them); on a real broker, whatever exists of them at t's cleanup is deleted.
func Names(t testing.TB, b Broker) kafkasource.Config {
	t.Helper()
	cfg := kafkasource.DefaultConfig()
	cfg.Brokers = append([]string(nil), b.Addrs...)
	prefix := topicPrefix(t.Name())
	cfg.EntriesTopic = prefix + ".entries"
	cfg.PointsTopic = prefix + ".points"
	cfg.MatchesTopic = prefix + ".matches"
	cfg.DLQTopic = prefix + ".dlq"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("BUG: kafkatest made an invalid config: %v", err)
	}
	if b.Real() {
		t.Cleanup(func() { deleteTopics(t, cfg) })
	}
	return cfg
}

// topicPrefix makes a topic-name prefix from a test name and 8 random hex digits.
func topicPrefix(name string) string {
	var sb strings.Builder
	sb.WriteString("t.")
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			sb.WriteRune(r)
		case r == '/':
			sb.WriteByte('.')
		default:
			sb.WriteByte('_')
		}
	}
	p := sb.String()
	if len(p) > 200 {
		p = p[:200]
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	return p + "." + hex.EncodeToString(rnd[:])
}

func deleteTopics(t testing.TB, cfg kafkasource.Config) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	if err != nil {
		return
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Best effort: the embedded broker may be closed already, and a topic never created
	// is not an error worth a test failure.
	if _, err := kadm.NewClient(cl).DeleteTopics(ctx, cfg.EntriesTopic, cfg.PointsTopic, cfg.MatchesTopic, cfg.DLQTopic); err != nil {
		t.Logf("could not delete the test's topics: %v", err)
	}
}
