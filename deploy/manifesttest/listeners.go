package manifesttest

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// listenerSpec is a flag that makes a subcommand listen, and what it serves there.
type listenerSpec struct {
	Flag  string
	UDP   bool     // TCP and UDP (gossip); TCP only otherwise
	Paths []string // HTTP paths served; one ending in "/" is a prefix
	Admin bool     // the operator's listener: /healthz (liveness) and /readyz (readiness)
}

var adminPaths = []string{"/healthz", "/readyz", "/metrics", "/debug/pprof/"}

// listenerSpecs lists, per subcommand, the flags that open a listener (docs/CLUSTER.md,
// docs/OPERATIONS.md "Where the metrics are"). The coordinator serves its probes on its
// HTTP API.
var listenerSpecs = map[string][]listenerSpec{
	"coordinator": {
		{Flag: "http", Paths: []string{"/healthz", "/readyz", "/status", "/metrics", "/cluster/v1/", "/admin/drain"}},
		{Flag: "bind", UDP: true},
	},
	"worker": {
		{Flag: "admin-http", Paths: adminPaths, Admin: true},
		{Flag: "bind", UDP: true},
	},
	"api": {
		{Flag: "http", Paths: []string{"/"}},
		{Flag: "admin-http", Paths: adminPaths, Admin: true},
		{Flag: "bind", UDP: true}, // with --join: a gossip member, for its console
	},
	"store": {
		{Flag: "addr"},
		{Flag: "metrics", Paths: []string{"/metrics"}},
	},
}

// gossipCommands join the gossip cluster (--bind, --join, --cluster-label).
var gossipCommands = map[string]bool{"coordinator": true, "worker": true}

// listener is an open listener of one process.
type listener struct {
	listenerSpec
	Addr string
	Host string
	Port int
}

// Serves reports whether path is served on l.
func (l listener) Serves(path string) bool {
	for _, p := range l.Paths {
		if path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) {
			return true
		}
	}
	return false
}

// Reachable reports whether others (a kubelet, a Service, another container) can reach
// the listener: it is bound to every address, not to loopback.
func (l listener) Reachable() bool {
	switch l.Host {
	case "", "0.0.0.0", "::", "[::]":
		return true
	}
	ip := net.ParseIP(l.Host)
	return ip != nil && !ip.IsLoopback()
}

// listeners returns the listeners of a process with these flags; an empty address turns
// a listener off.
func listeners(flags *Flags, vals map[string]string) ([]listener, []error) {
	var out []listener
	var errs []error
	for _, s := range listenerSpecs[flags.Command] {
		addr := flags.Value(vals, s.Flag)
		if addr == "" {
			continue
		}
		host, port, err := splitHostPort(addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("flag --%s=%s: %w", s.Flag, addr, err))
			continue
		}
		out = append(out, listener{listenerSpec: s, Addr: addr, Host: host, Port: port})
	}
	return out, errs
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q: not a port number", p)
	}
	return host, port, nil
}

// hostPorts splits a comma-separated host:port list (--kafka, --join, ...).
func hostPorts(list string) ([]string, []int, error) {
	var hosts []string
	var ports []int
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		h, p, err := splitHostPort(a)
		if err != nil {
			return nil, nil, fmt.Errorf("%q: %w", a, err)
		}
		hosts = append(hosts, h)
		ports = append(ports, p)
	}
	return hosts, ports, nil
}

// loopbackDefaults lists the flags left at a default that names this host itself
// (127.0.0.1, localhost, ::1): in a pod or a container that is the process's own sandbox,
// so a flag that reaches another process (--kafka, --aerospike-hosts) or is reached by one
// (--http, --admin-http) must be set.
func loopbackDefaults(flags *Flags, vals map[string]string) []error {
	var errs []error
	names := make([]string, 0, len(flags.ByName))
	for n := range flags.ByName {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		def := flags.ByName[n].Default
		if _, set := vals[n]; set || def == "" {
			continue
		}
		for _, a := range strings.Split(def, ",") {
			host, _, err := net.SplitHostPort(strings.TrimSpace(a))
			if err != nil {
				continue
			}
			if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
				errs = append(errs, fmt.Errorf("--%s is not set: its default %s is the process's own sandbox here", n, def))
				break
			}
		}
	}
	return errs
}
