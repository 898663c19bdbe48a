package coordinator

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/fantasy/leaderboard/partition"
)

// Config configures a Coordinator.
type Config struct {
	// Interval between cycle ticks.
	Interval time.Duration
	// DataDir keeps the coordinator's state file (cycle high-water mark, epoch, table),
	// fsynced before a number or an epoch it covers is handed out.
	DataDir string
	// CycleReserve is how many cycle numbers one write of the state file reserves: a
	// restart skips at most this many numbers, and the file is written once per
	// CycleReserve ticks.
	CycleReserve int64
	// AdminToken guards the admin calls (drain); AdminTokenFile holds it (trimmed). At most
	// one is set; neither: admin calls are refused.
	AdminToken     string
	AdminTokenFile string
	// History is how many recent cycles /status keeps timings for.
	History int
	// Settle is how long a starting coordinator waits for the gossip view to settle before
	// its first rebalance: a worker it has not heard of yet would otherwise look dead and
	// lose its partitions. Ticks and reports run meanwhile, under the stored table.
	Settle time.Duration
	// RebalanceDelay holds a rebalance after a membership change in which no writer or
	// loader was lost (joins, metadata), until the membership has been still this long: a
	// burst of starting workers makes one rebalance. A lost writer is handled at once.
	RebalanceDelay time.Duration
	// LongPoll is the longest a worker's long-poll waits before an empty answer.
	LongPoll time.Duration

	Assign partition.Config
}

// RegisterFlags registers the coordinator's flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.DurationVar(&c.Interval, prefix+"interval", 10*time.Second, "time between ranking cycles (ticks sent to every worker)")
	fs.StringVar(&c.DataDir, prefix+"data-dir", "coordinator-data", "directory of the coordinator's state file (cycle high-water mark, epoch, assignment table): keep it across restarts, so cycle numbers and epochs never go back")
	fs.Int64Var(&c.CycleReserve, prefix+"cycle-reserve", 100, "cycle numbers reserved per fsynced write of the state file (a restart skips at most this many)")
	fs.StringVar(&c.AdminTokenFile, prefix+"admin-token-file", "", "file holding the token of the admin calls (POST /admin/drain); without it (or --admin-token) admin calls are refused")
	fs.StringVar(&c.AdminToken, prefix+"admin-token", "", "the admin token itself (visible in the process list: prefer --admin-token-file)")
	fs.IntVar(&c.History, prefix+"status-cycles", 16, "recent cycles whose per-stage timings /status shows")
	fs.DurationVar(&c.Settle, prefix+"settle", 3*time.Second, "after start, wait this long for the gossip view to settle before the first rebalance (about one failure detection time), so that a restarted coordinator does not take partitions from workers it has not heard of yet")
	fs.DurationVar(&c.RebalanceDelay, prefix+"rebalance-delay", 2*time.Second, "after a join (no writer lost), wait until the membership has been still this long before rebalancing, so a burst of starting workers makes one rebalance; a lost writer is handled at once")
	fs.DurationVar(&c.LongPoll, prefix+"long-poll", 30*time.Second, "longest a worker's long-poll (next tick, next assignment) waits before an empty answer")
	c.Assign.RegisterFlags(fs, prefix)
}

// Validate reports a setting that cannot work. It reads nothing from disk.
func (c *Config) Validate() error {
	switch {
	case c.Interval < time.Millisecond:
		return fmt.Errorf("interval %v: must be at least 1ms", c.Interval)
	case c.DataDir == "":
		return errors.New("data dir: empty; the coordinator keeps its cycle high-water mark and epoch there, so that they never go back across restarts")
	case c.CycleReserve < 1:
		return fmt.Errorf("cycle reserve %d: must be >= 1", c.CycleReserve)
	case c.AdminToken != "" && c.AdminTokenFile != "":
		return errors.New("admin token: both a token and a token file given; use one")
	case c.History < 1 || c.History > 10000:
		return fmt.Errorf("status cycles %d: must be 1..10000", c.History)
	case c.Settle < 0 || c.RebalanceDelay < 0:
		return fmt.Errorf("settle %v, rebalance delay %v: must not be negative", c.Settle, c.RebalanceDelay)
	case c.LongPoll < time.Millisecond:
		return fmt.Errorf("long poll %v: must be at least 1ms", c.LongPoll)
	}
	return c.Assign.Validate()
}

// adminToken reads the admin token: "" when none is configured.
func (c *Config) adminToken() (string, error) {
	if c.AdminTokenFile == "" {
		return c.AdminToken, nil
	}
	b, err := os.ReadFile(c.AdminTokenFile)
	if err != nil {
		return "", fmt.Errorf("cannot read the admin token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("admin token file %s is empty", c.AdminTokenFile)
	}
	return tok, nil
}
