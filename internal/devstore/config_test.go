package devstore

import (
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/rankstore"
)

func TestConfig(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.RegisterFlags(fs, "store.")
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if c.NodeName != "BB9000000000001" || c.MaxRecordSize != 1<<20 || c.ClusterName != "" {
		t.Fatalf("defaults %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{NodeName: "", MaxRecordSize: 1}, "node name"},
		{Config{NodeName: "a b", MaxRecordSize: 1}, "node name"},
		{Config{NodeName: "A", ClusterName: "x\ty", MaxRecordSize: 1}, "cluster name"},
		{Config{NodeName: "A", MaxRecordSize: 0}, "max record size"},
		{Config{NodeName: "A", MaxRecordSize: 1 << 30}, "max record size"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
	st, err := rankstore.Open(rankstore.Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{}, st, slog.New(slog.DiscardHandler), prometheus.NewRegistry()); err == nil {
		t.Fatal("New accepted an invalid config")
	}
	if _, err := New(c, nil, slog.New(slog.DiscardHandler), prometheus.NewRegistry()); err == nil {
		t.Fatal("New accepted no store")
	}
}
