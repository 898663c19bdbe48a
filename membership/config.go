package membership

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Config configures a node's membership in the gossip cluster.
type Config struct {
	NodeName  string   // unique and stable across restarts (a restarted worker gets its partitions back); default: the host name
	Bind      string   // host:port for gossip, UDP and TCP; port 0 picks a free one (tests)
	Advertise string   // host:port others reach this node at; "" = the bind address (or a private IP when bound to 0.0.0.0)
	Join      []string // host:port of members to join; retried with backoff until one answers
	Label     string   // cluster label: members with another label never merge with this cluster

	// KeyFile holds gossip encryption keys, one base64 key (16, 24 or 32 bytes: AES-128/192/256)
	// per line: the first encrypts, all decrypt. Keys holds the same in code (tests);
	// at most one of the two is set. Neither: gossip is not encrypted.
	KeyFile string
	Keys    [][]byte

	// Failure detection (memberlist's SWIM): every ProbeInterval a node probes one peer,
	// which must answer within ProbeTimeout (else it is probed indirectly, then suspected);
	// a suspect that does not refute within SuspicionMult × ProbeInterval (× up to
	// SuspicionMaxTimeoutMult without confirmations from other members) is declared dead.
	ProbeInterval           time.Duration
	ProbeTimeout            time.Duration
	SuspicionMult           int
	SuspicionMaxTimeoutMult int
	GossipInterval          time.Duration // how often state changes are gossiped to GossipNodes (3) peers
	PushPullInterval        time.Duration // full state sync with one random peer

	JoinMinBackoff time.Duration
	JoinMaxBackoff time.Duration
	RejoinInterval time.Duration // re-join the Join list this often, healing a split after a network cut; 0 = never
	LeaveTimeout   time.Duration // how long Stop waits for the leave message to go out
}

// joinList is a comma-separated flag value.
type joinList struct{ v *[]string }

func (j joinList) String() string {
	if j.v == nil {
		return ""
	}
	return strings.Join(*j.v, ",")
}

func (j joinList) Set(s string) error {
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			*j.v = append(*j.v, a)
		}
	}
	return nil
}

// RegisterFlags registers the membership flags: --bind, --advertise, --join, ...
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.StringVar(&c.NodeName, prefix+"node-name", "", "unique node name in the gossip cluster, stable across restarts (default: the host name)")
	fs.StringVar(&c.Bind, prefix+"bind", "0.0.0.0:7946", "gossip address to listen on (UDP and TCP), host:port")
	fs.StringVar(&c.Advertise, prefix+"advertise", "", "gossip address other members reach this node at, host:port (default: the bind address, or a private IP when bound to 0.0.0.0)")
	fs.Var(joinList{&c.Join}, prefix+"join", "gossip addresses of members to join, comma-separated host:port; retried with backoff, so start order does not matter")
	fs.StringVar(&c.Label, prefix+"cluster-label", "leaderboard", "cluster label: members with a different label never merge (use one per environment)")
	fs.StringVar(&c.KeyFile, prefix+"gossip-key-file", "", "file of gossip encryption keys, one base64 AES key (16, 24 or 32 bytes) per line: the first encrypts, all decrypt (rotation: docs/CLUSTER.md); empty: no encryption")
	fs.DurationVar(&c.ProbeInterval, prefix+"gossip-probe-interval", 500*time.Millisecond, "failure detection: probe one peer this often")
	fs.DurationVar(&c.ProbeTimeout, prefix+"gossip-probe-timeout", 200*time.Millisecond, "failure detection: a probe's answer must come within this (a LAN round trip, with room)")
	fs.IntVar(&c.SuspicionMult, prefix+"gossip-suspicion-mult", 4, "failure detection: a suspect is dead after this many probe intervals (scaled by log10 of the cluster size)")
	fs.IntVar(&c.SuspicionMaxTimeoutMult, prefix+"gossip-suspicion-max-timeout-mult", 2, "failure detection: without confirmations from other members, suspicion lasts up to this multiple of the above")
	fs.DurationVar(&c.GossipInterval, prefix+"gossip-interval", 100*time.Millisecond, "how often membership changes are gossiped")
	fs.DurationVar(&c.PushPullInterval, prefix+"gossip-push-pull-interval", 15*time.Second, "how often a full state sync with one random member runs")
	fs.DurationVar(&c.JoinMinBackoff, prefix+"join-min-backoff", 200*time.Millisecond, "first wait before retrying a failed join")
	fs.DurationVar(&c.JoinMaxBackoff, prefix+"join-max-backoff", 5*time.Second, "longest wait between join attempts")
	fs.DurationVar(&c.RejoinInterval, prefix+"rejoin-interval", 30*time.Second, "re-join the --join members this often, healing a split left by a network cut; 0 = never")
	fs.DurationVar(&c.LeaveTimeout, prefix+"leave-timeout", 5*time.Second, "on shutdown, how long to wait for the leave message to reach a member")
}

// Validate reports a setting that cannot work. It reads nothing from disk.
func (c *Config) Validate() error {
	if _, _, err := splitHostPort("bind", c.Bind); err != nil {
		return err
	}
	if c.Advertise != "" {
		if _, _, err := splitHostPort("advertise", c.Advertise); err != nil {
			return err
		}
	}
	for _, j := range c.Join {
		if _, _, err := net.SplitHostPort(j); err != nil {
			return fmt.Errorf("join address %q: %w", j, err)
		}
	}
	switch {
	case c.Label == "":
		return errors.New("cluster label: empty; every cluster needs one, so two clusters never merge")
	case len(c.Label) > memberlist.LabelMaxSize:
		return fmt.Errorf("cluster label: %d bytes, at most %d", len(c.Label), memberlist.LabelMaxSize)
	case c.KeyFile != "" && len(c.Keys) != 0:
		return errors.New("gossip keys: both a key file and keys in code")
	case c.ProbeInterval < time.Millisecond || c.ProbeTimeout < time.Millisecond:
		return fmt.Errorf("probe interval %v, timeout %v: must be at least 1ms", c.ProbeInterval, c.ProbeTimeout)
	case c.ProbeTimeout >= c.ProbeInterval:
		return fmt.Errorf("probe timeout %v: must be shorter than the probe interval %v", c.ProbeTimeout, c.ProbeInterval)
	case c.SuspicionMult < 1 || c.SuspicionMaxTimeoutMult < 1:
		return fmt.Errorf("suspicion multipliers %d, %d: must be >= 1", c.SuspicionMult, c.SuspicionMaxTimeoutMult)
	case c.GossipInterval < time.Millisecond || c.PushPullInterval < time.Millisecond:
		return fmt.Errorf("gossip interval %v, push/pull interval %v: must be at least 1ms", c.GossipInterval, c.PushPullInterval)
	case c.JoinMinBackoff <= 0 || c.JoinMaxBackoff < c.JoinMinBackoff:
		return fmt.Errorf("join backoff %v..%v: need 0 < min <= max", c.JoinMinBackoff, c.JoinMaxBackoff)
	case c.RejoinInterval < 0 || c.LeaveTimeout < 0:
		return fmt.Errorf("rejoin interval %v, leave timeout %v: must not be negative", c.RejoinInterval, c.LeaveTimeout)
	}
	for i, k := range c.Keys {
		if err := memberlist.ValidateKey(k); err != nil {
			return fmt.Errorf("gossip key %d: %d bytes: %w", i+1, len(k), err)
		}
	}
	return nil
}

// DetectionTime is how long, by the settings alone, a member that dies without leaving
// stays alive in the others' view in a cluster of n members: about one probe interval
// until some member probes it, the probe timeout, then the suspicion timeout
// (SuspicionMult × max(1, log10 n) probe intervals, memberlist's rule, up to
// SuspicionMaxTimeoutMult times that until SuspicionMult-2 other members confirm the
// suspicion). It returns the typical and the worst case (every survivor probing the others
// first); gossip then spreads the verdict within a few gossip intervals.
func (c *Config) DetectionTime(n int) (typical, worst time.Duration) {
	scale := math.Max(1, math.Log10(float64(max(n, 1))))
	min := time.Duration(float64(time.Duration(c.SuspicionMult)*c.ProbeInterval) * scale)
	max := time.Duration(c.SuspicionMaxTimeoutMult) * min
	if n-2 < c.SuspicionMult-2 { // memberlist expects no confirmations: the minimum applies
		max = min
	}
	probe := c.ProbeInterval + c.ProbeTimeout
	return probe + min, time.Duration(n-1)*c.ProbeInterval + c.ProbeTimeout + max + 3*c.GossipInterval
}

func splitHostPort(what, addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%s address %q: %w", what, addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("%s address %q: port must be 0..65535", what, addr)
	}
	return host, p, nil
}

// ReadKeyFile reads a gossip key file: one base64 key per line, blank lines and lines
// starting with # ignored; the first key encrypts.
func ReadKeyFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read gossip key file: %w", err)
	}
	var keys [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("gossip key file %s, line %d: not base64: %w", path, line, err)
		}
		if err := memberlist.ValidateKey(k); err != nil {
			return nil, fmt.Errorf("gossip key file %s, line %d: %d bytes: %w", path, line, len(k), err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("gossip key file %s: no key", path)
	}
	return keys, nil
}
