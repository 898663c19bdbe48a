package devstore

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/aerospike/aerospike-client-go/v7/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a store, a server on a random port and a client connected to it.
type env struct {
	clock  *clock
	store  *rankstore.Store
	srv    *Server
	client *as.Client
	addr   *net.TCPAddr
	stop   func()
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func start(t testing.TB, dir string, c *clock, cfg Config) *env {
	t.Helper()
	if c == nil {
		c = &clock{t: time.Now().Truncate(time.Second)}
	}
	st, err := rankstore.Open(rankstore.Config{LiveTTL: time.Hour, CompleteTTL: 7 * 24 * time.Hour, DataDir: dir}, c.now, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeName == "" {
		cfg.NodeName = "BB9000000000001"
	}
	if cfg.MaxRecordSize == 0 {
		cfg.MaxRecordSize = 1 << 20
	}
	srv, err := New(cfg, st, testLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	addr := ln.Addr().(*net.TCPAddr)
	e := &env{clock: c, store: st, srv: srv, addr: addr}
	e.client = connect(t, addr, cfg.ClusterName)
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			e.client.Close()
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(e.stop)
	return e
}

func connect(t testing.TB, addr *net.TCPAddr, cluster string) *as.Client {
	t.Helper()
	p := as.NewClientPolicy()
	p.Timeout = 5 * time.Second
	p.ClusterName = cluster
	cl, err := as.NewClientWithPolicyAndHost(p, as.NewHost(addr.IP.String(), addr.Port))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return cl
}

func key(t testing.TB, ns, set, k string) *as.Key {
	t.Helper()
	kk, err := as.NewKey(ns, set, k)
	if err != nil {
		t.Fatal(err)
	}
	return kk
}

func sendKey() *as.WritePolicy {
	p := as.NewWritePolicy(0, 0)
	p.SendKey = true
	return p
}

func resultCode(err error) types.ResultCode {
	var ae *as.AerospikeError
	if errors.As(err, &ae) {
		return ae.ResultCode
	}
	return -1000
}

func TestConnectPutGet(t *testing.T) {
	e := start(t, "", nil, Config{})
	if !e.client.IsConnected() {
		t.Fatal("not connected")
	}
	nodes := e.client.GetNodes()
	if len(nodes) != 1 || nodes[0].GetName() != "BB9000000000001" {
		t.Fatalf("nodes %v", nodes)
	}
	k := key(t, records.Live, "s", "k1")
	if err := e.client.Put(sendKey(), k, as.BinMap{"a": 1, "b": "x", "c": []byte{1, 2}}); err != nil {
		t.Fatal(err)
	}
	rec, err := e.client.Get(nil, k)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Bins["a"] != 1 || rec.Bins["b"] != "x" || string(rec.Bins["c"].([]byte)) != "\x01\x02" || rec.Generation != 1 {
		t.Fatalf("got %+v", rec)
	}
}
