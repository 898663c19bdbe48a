package aerospikesink

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/internal/devstore"
	"github.com/fantasy/leaderboard/rankstore"
)

// The servers the tests run against: `leaderboard store`'s protocol server in process
// (internal/devstore over a rankstore with a settable clock) always, and a real Aerospike
// cluster when AEROSPIKE_HOSTS is set (host:port,...; namespaces `live` and `complete`
// as deploy/aerospike/aerospike.conf configures them).

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

// server is one server under test.
type server struct {
	t     testing.TB
	name  string
	hosts string
	real  bool

	// devstore only:
	clock *clock
	store *rankstore.Store
	cfg   devstore.Config
	addr  string
	mu    sync.Mutex
	srv   *devstore.Server
	stopF func()
}

// startDev serves a fresh rankstore over the Aerospike protocol on a random port.
func startDev(t testing.TB, maxRecordSize int) *server {
	t.Helper()
	c := &clock{t: time.Now().Truncate(time.Second)}
	st, err := rankstore.Open(rankstore.Config{LiveTTL: time.Hour, CompleteTTL: 7 * 24 * time.Hour}, c.now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, name: "devstore", clock: c, store: st, cfg: devstore.Config{NodeName: "BB9000000000001", MaxRecordSize: maxRecordSize}}
	s.serve("127.0.0.1:0")
	t.Cleanup(s.stop)
	return s
}

// serve starts the protocol server on addr over s.store.
func (s *server) serve(addr string) {
	s.t.Helper()
	srv, err := devstore.New(s.cfg, s.store, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		s.t.Fatal(err)
	}
	var ln net.Listener
	for try := 0; ; try++ { // the old listener's port may take a moment to be free again
		if ln, err = net.Listen("tcp", addr); err == nil || try == 50 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	s.mu.Lock()
	s.srv, s.addr, s.hosts = srv, ln.Addr().String(), ln.Addr().String()
	s.stopF = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				s.t.Errorf("Serve: %v", err)
			}
		})
	}
	s.mu.Unlock()
}

// stop ends serving (connections close); restart serves the same store on the same
// address again, as a restarted server.
func (s *server) stop() {
	s.mu.Lock()
	f := s.stopF
	s.mu.Unlock()
	if f != nil {
		f()
	}
}

func (s *server) restart() { s.serve(s.addr) }

func (s *server) setDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.srv.SetDelay(d)
}

// advance lets d pass for the server's TTLs: the devstore's clock moves, a real server
// is waited for.
func (s *server) advance(d time.Duration) {
	if s.real {
		time.Sleep(d)
		return
	}
	s.clock.add(d)
}

// servers is every server the suite runs against: the devstore, and a real one when
// AEROSPIKE_HOSTS is set.
func servers(t *testing.T) []*server {
	out := []*server{startDev(t, 1<<20)}
	if h := os.Getenv("AEROSPIKE_HOSTS"); h != "" {
		out = append(out, &server{t: t, name: "aerospike", hosts: h, real: true})
	} else {
		t.Log("AEROSPIKE_HOSTS not set: running against leaderboard store's protocol server only (set AEROSPIKE_HOSTS=host:3000 with deploy/aerospike/aerospike.conf's namespaces to include a real server)")
	}
	return out
}

// newTestSink connects a sink to s with cfg's changes applied.
func newTestSink(t testing.TB, s *server, now func() time.Time, mod func(*Config)) (*Sink, *prometheus.Registry) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Hosts = s.hosts
	cfg.ConnectTimeout = 5 * time.Second
	if mod != nil {
		mod(&cfg)
	}
	if now == nil {
		now = time.Now
	}
	reg := prometheus.NewRegistry()
	sk, err := New(cfg, slog.New(slog.DiscardHandler), reg, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sk.Close() })
	return sk, reg
}

// runID makes keys unique per run, so runs against a shared real server never meet.
var runID = fmt.Sprintf("t%d", time.Now().UnixNano()%1e9)
