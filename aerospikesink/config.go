package aerospikesink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"
)

// Config configures the sink. Defaults are set once, in RegisterFlags.
type Config struct {
	Hosts string // "host:port,host:port"

	LiveNamespace     string // the Aerospike namespace that records.Live maps to
	CompleteNamespace string // the one records.Complete maps to
	LiveTTL           time.Duration
	CompleteTTL       time.Duration

	User, Password string

	TLSCAFile, TLSCertFile, TLSKeyFile, TLSServerName string

	ConnectTimeout time.Duration // the first connection to the cluster, and the log-in
	Timeout        time.Duration // one batch or single command, all its tries on the wire included

	BatchSize   int // records per BatchOperate
	Concurrency int // batches in flight at once, across every write of the sink

	Retries      int           // extra tries of a batch (or of its failed records) on a transient result code
	RetryBackoff time.Duration // pause before the first retry, doubled before each next

	BreakerFailures int           // consecutive failed batches that open the breaker
	BreakerCooldown time.Duration // how long it stays open before one batch may try again
}

// RegisterFlags registers the sink's flags with a prefix (e.g. "aerospike-").
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.StringVar(&c.Hosts, prefix+"hosts", "127.0.0.1:3000", "Aerospike seed hosts, host:port,host:port")
	fs.StringVar(&c.LiveNamespace, prefix+"live-namespace", "live", "Aerospike namespace holding matches being played (in memory)")
	fs.StringVar(&c.CompleteNamespace, prefix+"complete-namespace", "complete", "Aerospike namespace holding final standings (on disk)")
	fs.DurationVar(&c.LiveTTL, prefix+"live-ttl", time.Hour, "expiration sent with each write to the live namespace")
	fs.DurationVar(&c.CompleteTTL, prefix+"complete-ttl", 7*24*time.Hour, "expiration sent with each write to the complete namespace")
	fs.StringVar(&c.User, prefix+"user", "", "Aerospike user (empty = no authentication)")
	fs.StringVar(&c.Password, prefix+"password", "", "Aerospike password (or set it in AEROSPIKE_PASSWORD)")
	fs.StringVar(&c.TLSCAFile, prefix+"tls-ca", "", "PEM file of the CA that signed the servers' certificates; setting any tls flag turns TLS on")
	fs.StringVar(&c.TLSCertFile, prefix+"tls-cert", "", "PEM client certificate (mutual TLS)")
	fs.StringVar(&c.TLSKeyFile, prefix+"tls-key", "", "PEM key of the client certificate")
	fs.StringVar(&c.TLSServerName, prefix+"tls-name", "", "TLS name the servers' certificates carry (default: the host)")
	fs.DurationVar(&c.ConnectTimeout, prefix+"connect-timeout", 5*time.Second, "time to reach the cluster at start")
	fs.DurationVar(&c.Timeout, prefix+"timeout", time.Second, "time limit of one batch or single read")
	fs.IntVar(&c.BatchSize, prefix+"batch-size", 500, "records per batch write (chosen by BenchmarkSink)")
	fs.IntVar(&c.Concurrency, prefix+"concurrency", 4, "batches in flight at once, across every write of the sink (a cycle writes from several goroutines; chosen by BenchmarkSink)")
	fs.IntVar(&c.Retries, prefix+"retries", 2, "retries of a batch on TIMEOUT, DEVICE_OVERLOAD, KEY_BUSY, SERVER_NOT_AVAILABLE or a network error")
	fs.DurationVar(&c.RetryBackoff, prefix+"retry-backoff", 20*time.Millisecond, "pause before the first retry, doubled before each next")
	fs.IntVar(&c.BreakerFailures, prefix+"breaker-failures", 3, "consecutive failed batches after which writes fail fast for the cool-down")
	fs.DurationVar(&c.BreakerCooldown, prefix+"breaker-cooldown", 5*time.Second, "how long writes fail fast once the breaker opens")
}

// DefaultConfig is the flags' defaults.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError), "")
	return c
}

// Validate reports a setting that cannot work, naming it.
func (c *Config) Validate() error {
	if _, err := c.hosts(); err != nil {
		return err
	}
	switch {
	case c.LiveNamespace == "" || c.CompleteNamespace == "":
		return errors.New("aerospike: the live and complete namespace names must not be empty")
	case c.LiveNamespace == c.CompleteNamespace:
		return fmt.Errorf("aerospike: live and complete namespaces are both %q; they need different TTLs and media", c.LiveNamespace)
	case len(c.LiveNamespace) > 31 || len(c.CompleteNamespace) > 31:
		return fmt.Errorf("aerospike: namespace names are at most 31 characters (%q, %q)", c.LiveNamespace, c.CompleteNamespace)
	case c.LiveTTL < time.Second || c.CompleteTTL < time.Second:
		return fmt.Errorf("aerospike: TTLs must be at least 1s (live %v, complete %v)", c.LiveTTL, c.CompleteTTL)
	case c.LiveTTL > maxTTL || c.CompleteTTL > maxTTL:
		return fmt.Errorf("aerospike: TTLs must fit Aerospike's 32-bit seconds (live %v, complete %v)", c.LiveTTL, c.CompleteTTL)
	case c.ConnectTimeout <= 0 || c.Timeout <= 0:
		return fmt.Errorf("aerospike: timeouts must be positive (connect %v, command %v)", c.ConnectTimeout, c.Timeout)
	case c.BatchSize < 1 || c.BatchSize > 5000:
		return fmt.Errorf("aerospike: batch size %d: must be 1..5000", c.BatchSize)
	case c.Concurrency < 1 || c.Concurrency > 256:
		return fmt.Errorf("aerospike: concurrency %d: must be 1..256", c.Concurrency)
	case c.Retries < 0 || c.RetryBackoff < 0:
		return fmt.Errorf("aerospike: retries %d and retry backoff %v must not be negative", c.Retries, c.RetryBackoff)
	case c.BreakerFailures < 1 || c.BreakerCooldown <= 0:
		return fmt.Errorf("aerospike: breaker failures %d must be >= 1 and cool-down %v positive", c.BreakerFailures, c.BreakerCooldown)
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return errors.New("aerospike: --tls-cert and --tls-key go together")
	case c.User == "" && c.Password != "":
		return errors.New("aerospike: a password without a user")
	}
	return nil
}

const maxTTL = time.Duration(1<<32-2) * time.Second

// hosts parses Hosts.
func (c *Config) hosts() ([]*as.Host, error) {
	var out []*as.Host
	for _, h := range strings.Split(c.Hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		name, port, err := net.SplitHostPort(h)
		if err != nil {
			return nil, fmt.Errorf("aerospike: host %q: want host:port (e.g. 127.0.0.1:3000): %v", h, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 || name == "" {
			return nil, fmt.Errorf("aerospike: host %q: want host:port with a port 1..65535", h)
		}
		host := as.NewHost(name, p)
		if c.tls() {
			host.TLSName = c.TLSServerName
			if host.TLSName == "" {
				host.TLSName = name
			}
		}
		out = append(out, host)
	}
	if len(out) == 0 {
		return nil, errors.New("aerospike: no hosts; give --aerospike-hosts host:port[,host:port]")
	}
	return out, nil
}

func (c *Config) tls() bool {
	return c.TLSCAFile != "" || c.TLSCertFile != "" || c.TLSServerName != ""
}

// clientPolicy builds the client's policy: credentials, TLS, the connect timeout.
func (c *Config) clientPolicy() (*as.ClientPolicy, error) {
	p := as.NewClientPolicy()
	p.User, p.Password = c.User, c.Password
	if p.User != "" && p.Password == "" {
		p.Password = os.Getenv("AEROSPIKE_PASSWORD")
	}
	p.Timeout = c.ConnectTimeout
	p.LoginTimeout = c.ConnectTimeout
	p.ConnectionQueueSize = max(p.ConnectionQueueSize, 2*c.Concurrency)
	if !c.tls() {
		return p, nil
	}
	t := &tls.Config{ServerName: c.TLSServerName, MinVersion: tls.VersionTLS12}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("aerospike: TLS CA file: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("aerospike: TLS CA file %s holds no PEM certificate", c.TLSCAFile)
		}
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("aerospike: TLS client certificate %s / key %s: %w", c.TLSCertFile, c.TLSKeyFile, err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	p.TlsConfig = t
	return p, nil
}
