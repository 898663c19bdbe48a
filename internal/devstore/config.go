package devstore

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// Config configures the protocol server.
type Config struct {
	NodeName      string // answered to the `node` info command
	ClusterName   string // "" = none; answered to the `cluster-name` info command
	MaxRecordSize int    // bytes; a larger record is refused with RECORD_TOO_BIG, like the server's max-record-size
}

// RegisterFlags registers the server's flags with a prefix.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	fs.StringVar(&c.NodeName, prefix+"node-name", "BB9000000000001", "node id the store answers to the node info command")
	fs.StringVar(&c.ClusterName, prefix+"cluster-name", "", "cluster name the store answers to the cluster-name info command (clients that set ClientPolicy.ClusterName must match it); empty = none")
	fs.IntVar(&c.MaxRecordSize, prefix+"max-record-size", 1<<20, "largest record in bytes; a larger write fails with RECORD_TOO_BIG, like Aerospike's max-record-size")
}

// Validate reports a setting that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if c.NodeName == "" || strings.ContainsAny(c.NodeName, " \t\n;:,") {
		errs = append(errs, fmt.Errorf("node name %q must be non-empty, without spaces or any of ;:,", c.NodeName))
	}
	if strings.ContainsAny(c.ClusterName, "\t\n") {
		errs = append(errs, fmt.Errorf("cluster name %q must not hold a tab or newline", c.ClusterName))
	}
	if c.MaxRecordSize <= 0 || c.MaxRecordSize > maxMessage/2 {
		errs = append(errs, fmt.Errorf("max record size %d must be between 1 and %d bytes", c.MaxRecordSize, maxMessage/2))
	}
	return errors.Join(errs...)
}
