package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"

	"github.com/fantasy/leaderboard/records"
)

// lockedBuffer is an io.Writer safe for the command's goroutines and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// runStore runs `leaderboard store` on a free port until the returned stop is called.
func runStore(t *testing.T, dir string) (addr string, stop func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"store", "--addr", addr, "--data-dir", dir}, &out, &errs) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "listening on "+addr) {
		if time.Now().After(deadline) {
			t.Fatalf("store did not start: %s %s", out.String(), errs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return addr, func() int { cancel(); return <-done }
}

func dialStore(t *testing.T, addr string) *as.Client {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	policy := as.NewClientPolicy()
	policy.Timeout = 5 * time.Second
	cl, err := as.NewClientWithPolicyAndHost(policy, as.NewHost(host, p))
	if err != nil {
		t.Fatal(err)
	}
	cl.DefaultPolicy.TotalTimeout = 20 * time.Second // not the 1 s default, on a busy machine
	cl.DefaultWritePolicy.TotalTimeout = 20 * time.Second
	return cl
}

func TestStoreCommand(t *testing.T) {
	dir := t.TempDir()
	addr, stop := runStore(t, dir)

	// A second store on the same port says what to do.
	var errs bytes.Buffer
	if code := run(context.Background(), []string{"store", "--addr", addr}, &bytes.Buffer{}, &errs); code != 1 || !strings.Contains(errs.String(), "port is taken") {
		t.Fatalf("taken port: exit %d, %q", code, errs.String())
	}
	cl := dialStore(t, addr)
	k, _ := as.NewKey(records.Complete, "contest", "1")
	wp := as.NewWritePolicy(0, 0)
	wp.SendKey = true
	wp.TotalTimeout = 20 * time.Second
	if err := cl.Put(wp, k, as.BinMap{"final": 1}); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "complete.arrow")); err != nil {
		t.Fatalf("complete not saved on stop: %v", err)
	}

	// Restarted on the same directory, it serves the record.
	addr, stop = runStore(t, dir)
	defer stop()
	cl = dialStore(t, addr)
	defer cl.Close()
	rec, err := cl.Get(nil, k)
	if err != nil || rec.Bins["final"] != 1 {
		t.Fatalf("after restart: %v %v", rec, err)
	}
	// Bad flags are a usage error.
	for _, args := range [][]string{{"--max-record-size", "0"}, {"--addr", "nonsense"}, {"--live-ttl", "0s"}} {
		if code := run(context.Background(), append([]string{"store"}, args...), &bytes.Buffer{}, &bytes.Buffer{}); code != 2 {
			t.Fatalf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestStoreMetrics: `leaderboard store --metrics` serves the development store's series
// and, like the other processes, the Go runtime's and the process's.
func TestStoreMetrics(t *testing.T) {
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	addr, maddr := free(), free()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"store", "--addr", addr, "--metrics", maddr}, &out, &errs) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("store exit %d: %s", code, errs.String())
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "listening on "+addr) {
		if time.Now().After(deadline) {
			t.Fatalf("store did not start: %s %s", out.String(), errs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cl := dialStore(t, addr) // a connection, so the devstore's series have a sample
	defer cl.Close()
	resp, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "process_start_time_seconds", "leaderboard_devstore_connections"} {
		if !strings.Contains(string(body), "\n"+name+" ") {
			t.Errorf("/metrics has no %s sample", name)
		}
	}
}
