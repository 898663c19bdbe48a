package aerospikesink

import (
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aerospike/aerospike-client-go/v7/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/records"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"no port", func(c *Config) { c.Hosts = "127.0.0.1" }, `host "127.0.0.1"`},
		{"bad port", func(c *Config) { c.Hosts = "a:1,b:99999" }, `host "b:99999"`},
		{"no hosts", func(c *Config) { c.Hosts = " , " }, "no hosts"},
		{"same namespaces", func(c *Config) { c.CompleteNamespace = c.LiveNamespace }, "both"},
		{"long namespace", func(c *Config) { c.LiveNamespace = strings.Repeat("n", 32) }, "31 characters"},
		{"ttl", func(c *Config) { c.LiveTTL = 0 }, "TTLs"},
		{"batch", func(c *Config) { c.BatchSize = 0 }, "batch size 0"},
		{"concurrency", func(c *Config) { c.Concurrency = 0 }, "concurrency 0"},
		{"cert without key", func(c *Config) { c.TLSCertFile = "c.pem" }, "--tls-cert and --tls-key"},
		{"password without user", func(c *Config) { c.Password = "x" }, "password without a user"},
		{"breaker", func(c *Config) { c.BreakerFailures = 0 }, "breaker failures 0"},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	// Flags with a prefix land in the config.
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.RegisterFlags(fs, "aerospike-")
	if err := fs.Parse([]string{"--aerospike-hosts", "h1:3000,h2:3001", "--aerospike-live-namespace", "lv", "--aerospike-tls-name", "tn"}); err != nil {
		t.Fatal(err)
	}
	hosts, err := c.hosts()
	if err != nil || len(hosts) != 2 || hosts[1].Name != "h2" || hosts[1].Port != 3001 || hosts[0].TLSName != "tn" || c.LiveNamespace != "lv" {
		t.Fatalf("parsed %+v %v, config %+v", hosts, err, c)
	}
}

func TestRetryableByResultCode(t *testing.T) {
	for _, code := range []types.ResultCode{types.TIMEOUT, types.DEVICE_OVERLOAD, types.KEY_BUSY, types.SERVER_NOT_AVAILABLE, types.NETWORK_ERROR} {
		if !retryable(code) {
			t.Errorf("%v: not retried", code)
		}
	}
	for _, code := range []types.ResultCode{types.RECORD_TOO_BIG, types.PARAMETER_ERROR, types.BIN_NAME_TOO_LONG, types.FILTERED_OUT, types.OK, types.KEY_NOT_FOUND_ERROR} {
		if retryable(code) {
			t.Errorf("%v: retried", code)
		}
	}
	if codeOf(errors.New("connection reset")) != types.NETWORK_ERROR {
		t.Error("a plain error is not a network error")
	}
}

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestBreaker(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	var states []int
	b := newBreaker(3, 5*time.Second, clk.now, func(s int) { states = append(states, s) })
	for i := range 2 {
		if b.failure() {
			t.Fatalf("opened after %d failures", i+1)
		}
	}
	b.success() // resets the run
	b.failure()
	b.failure()
	if ok, _ := b.allow(); !ok {
		t.Fatal("closed breaker refused")
	}
	if !b.failure() {
		t.Fatal("3 consecutive failures did not open it")
	}
	if ok, until := b.allow(); ok || !until.Equal(clk.t.Add(5*time.Second)) {
		t.Fatalf("open breaker: allow %v until %v", ok, until)
	}
	clk.t = clk.t.Add(4 * time.Second)
	if ok, _ := b.allow(); ok {
		t.Fatal("allowed before the cool-down ended")
	}
	clk.t = clk.t.Add(time.Second)
	if ok, _ := b.allow(); !ok || b.current() != breakerHalfOpen {
		t.Fatalf("after the cool-down: allow %v state %d", ok, b.current())
	}
	if !b.failure() { // a failed probe opens it again at once
		t.Fatal("failed probe did not reopen")
	}
	clk.t = clk.t.Add(5 * time.Second)
	b.allow()
	b.success()
	if b.current() != breakerClosed {
		t.Fatal("successful probe did not close it")
	}
	want := []int{breakerClosed, breakerOpen, breakerHalfOpen, breakerOpen, breakerHalfOpen, breakerClosed}
	if len(states) != len(want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("states %v, want %v", states, want)
		}
	}
}

// offlineSink is a sink without a client: enough for what happens before the network.
func offlineSink(t *testing.T) *Sink {
	return newSink(DefaultConfig(), nil, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), time.Now)
}

func TestBinNameLimits(t *testing.T) {
	s := offlineSink(t)
	n := s.ns[records.Live]
	var it item
	long := records.Record{Set: records.SetContest, Key: "7", Bins: records.Bins{"id": int64(7), "sixteen_chars_xx": int64(1)}}
	err := s.writeItem(&it, n, &long)
	if err == nil || !strings.Contains(err.Error(), `"sixteen_chars_xx"`) || !strings.Contains(err.Error(), "contest/7") {
		t.Fatalf("16-character bin: %v", err)
	}
	ok15 := records.Record{Set: records.SetContest, Key: "7", Bins: records.Bins{"fifteen_chars_x": int64(1)}}
	if err := s.writeItem(&it, n, &ok15); err != nil {
		t.Fatalf("15-character bin: %v", err)
	}
	bad := records.Record{Set: records.SetContest, Key: "7", Bins: records.Bins{"x": 1.5}}
	if err := s.writeItem(&it, n, &bad); err == nil || !strings.Contains(err.Error(), `bin "x" holds float64`) {
		t.Fatalf("float bin: %v", err)
	}
	if err := s.writeItem(&it, n, &records.Record{Set: strings.Repeat("s", 64), Key: "1"}); err == nil || !strings.Contains(err.Error(), "set name") {
		t.Fatalf("64-character set: %v", err)
	}
	fenced := records.Record{Set: records.SetPage, Key: "1/1", Bins: records.Bins{records.FenceCycleBin: int64(3)}, Fence: records.Fence{Epoch: 1, Cycle: 2}}
	if err := s.writeItem(&it, n, &fenced); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("fence bin in a fenced record's bins: %v", err)
	}
	// Every bin name of the layout fits.
	for _, r := range []records.Record{records.Match{}.Record(), records.Contest{}.Record(), records.Page{}.Record(), records.Entry{}.Record(),
		records.User{}.Record(), records.ContestChunk{}.Record(), records.Matches{}.Record()} {
		r.Fence = records.Fence{Epoch: 1, Cycle: 1}
		if err := s.writeItem(&it, n, &r); err != nil {
			t.Errorf("layout record %s: %v", r.Set, err)
		}
		if want := len(r.Bins) + 2; len(it.ops) != want || it.policy.FilterExpression == nil || !it.policy.SendKey || it.policy.Expiration != 3600 {
			t.Errorf("layout record %s: %d ops (want %d), policy %+v", r.Set, len(it.ops), want, it.policy)
		}
	}
}

func TestFromAerospike(t *testing.T) {
	b, err := fromAerospike(map[string]any{"a": 5, "b": "s", "c": []byte{1}})
	if err != nil || b.Int("a") != 5 || b.Str("b") != "s" || b.Bytes("c")[0] != 1 {
		t.Fatalf("%v %v", b, err)
	}
	if _, err := fromAerospike(map[string]any{"f": 1.5}); !errors.Is(err, records.ErrCorrupt) || !strings.Contains(err.Error(), `"f"`) {
		t.Fatalf("float bin: %v", err)
	}
}
