package main

import (
	"flag"
	"fmt"
	"net"
)

// defaultAdminAddr is where a node serves /metrics, /debug/pprof/ and the probes by
// default: loopback, apart from the public API port (api.AdminHandler).
const defaultAdminAddr = "127.0.0.1:8081"

// registerAdminFlag registers --admin-http.
func registerAdminFlag(fs *flag.FlagSet, addr *string) {
	fs.StringVar(addr, "admin-http", defaultAdminAddr,
		"operator's listen address (host:port) for /metrics, /debug/pprof/, /healthz and /readyz; keep it off public networks; empty = off")
}

// listenAdmin opens the admin listener; an empty addr opens none (nil, nil).
func listenAdmin(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("%w: --admin-http %q: %v", errUsage, addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (is another server on it? pick another with --admin-http, or turn it off with --admin-http ''): %w", addr, err)
	}
	return ln, nil
}
