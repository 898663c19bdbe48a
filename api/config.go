package api

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"time"
)

// Config configures the API server. Defaults are set in RegisterFlags and DefaultConfig.
type Config struct {
	// Addr is the listen address (host:port) the command opens and passes to Serve.
	Addr string
	// StoreTimeout bounds the store reads of one request; 0 means no deadline beyond the
	// client's.
	StoreTimeout time.Duration
	// ShutdownTimeout bounds how long Serve waits for requests in flight once its context
	// is cancelled.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the defaults RegisterFlags registers.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:8080", StoreTimeout: 2 * time.Second, ShutdownTimeout: 10 * time.Second}
}

// RegisterFlags registers the API flags with the given prefix.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	d := DefaultConfig()
	fs.StringVar(&c.Addr, prefix+"http", d.Addr, "API listen address (host:port)")
	fs.DurationVar(&c.StoreTimeout, prefix+"store-timeout", d.StoreTimeout, "deadline for the store reads of one API request (0 = none)")
	fs.DurationVar(&c.ShutdownTimeout, prefix+"shutdown-timeout", d.ShutdownTimeout, "how long a stopping API server waits for requests in flight")
}

// Validate reports a setting that cannot work.
func (c *Config) Validate() error {
	if c.Addr == "" {
		return errors.New("http address: must not be empty")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("http address %q: %w", c.Addr, err)
	}
	switch {
	case c.StoreTimeout < 0:
		return fmt.Errorf("store timeout %v: must be >= 0", c.StoreTimeout)
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("shutdown timeout %v: must be > 0", c.ShutdownTimeout)
	}
	return nil
}
