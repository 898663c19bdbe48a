package api

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

func TestHealthReadyMetrics(t *testing.T) {
	f := testFixture()
	var ready atomic.Bool
	srv, reg := newTestServer(t, f.store, ready.Load)
	if body := fetch(t, srv, "/healthz", 200, nil); strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("healthz %q", body)
	}
	fetch(t, srv, "/readyz", 503, nil)
	ready.Store(true)
	fetch(t, srv, "/readyz", 200, nil)

	fetch(t, srv, "/v1/matches/1", 200, nil)
	fetch(t, srv, "/v1/matches/abc", 400, nil)
	fetch(t, srv, "/v1/matches/abc", 400, nil)
	// Metrics are served on the admin listener, not on the API's port.
	fetch(t, srv, "/metrics", 404, nil)
	rec := httptest.NewRecorder()
	AdminHandler(reg, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`leaderboard_api_request_duration_seconds_count{code="200",route="GET /v1/matches/{match_id}"} 1`,
		`leaderboard_api_request_duration_seconds_count{code="400",route="GET /v1/matches/{match_id}"} 2`,
		`leaderboard_api_request_duration_seconds_bucket{code="503",route="GET /readyz",le="+Inf"} 1`,
		`leaderboard_api_rereads_total 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 2 {
		t.Fatalf("registry holds %d families, %v; want the duration histogram and the reread counter", len(mfs), err)
	}

	// nil ready: always ready.
	srv2, _ := newTestServer(t, f.store, nil)
	fetch(t, srv2, "/readyz", 200, nil)
}

func TestServe(t *testing.T) {
	f := testFixture()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	slow := make(chan struct{})
	release := make(chan struct{})
	st := &slowStore{fakeStore: f.store, entered: slow, release: release}
	s := New(DefaultConfig(), binsOnly{st}, nil, nil, nil) // binsOnly: reads go through its Get
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()

	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// A request in flight when the context is cancelled completes.
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get(url + "/v1/matches/1")
		if err != nil {
			got <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	<-slow
	cancel()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if code := <-got; code != 200 {
		t.Fatalf("in-flight request: status %d", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}

// slowStore holds the first match read until released.
type slowStore struct {
	*fakeStore
	entered, release chan struct{}
	once             atomic.Bool
}

func (s *slowStore) Get(ctx context.Context, ns, set, key string) (records.Bins, bool, error) {
	if set == "match" && s.once.CompareAndSwap(false, true) {
		close(s.entered)
		<-s.release
	}
	return s.fakeStore.Get(ctx, ns, set, key)
}

func TestConfig(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.RegisterFlags(fs, "api.")
	if err := fs.Parse([]string{"-api.http=:9090"}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9090" || c.StoreTimeout != 2*time.Second || c.ShutdownTimeout != 10*time.Second {
		t.Fatalf("%+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if d.Addr != "127.0.0.1:8080" || d.Validate() != nil {
		t.Fatalf("%+v", d)
	}
	for _, bad := range []Config{
		{Addr: "", ShutdownTimeout: time.Second},
		{Addr: "localhost", ShutdownTimeout: time.Second},
		{Addr: ":1", StoreTimeout: -1, ShutdownTimeout: time.Second},
		{Addr: ":1"},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestStoreTimeout: a store slower than Config.StoreTimeout makes a 503.
func TestStoreTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StoreTimeout = 20 * time.Millisecond
	s := New(cfg, blockingStore{}, nil, nil, nil)
	rec := serveOnce(s, "GET", "/v1/matches/1")
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "in time") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

type blockingStore struct{}

func (blockingStore) Get(ctx context.Context, _, _, _ string) (records.Bins, bool, error) {
	<-ctx.Done()
	return nil, false, fmt.Errorf("get: %w", ctx.Err())
}

func (blockingStore) GetMany(ctx context.Context, _, _ string, _ []string) ([]records.Bins, error) {
	<-ctx.Done()
	return nil, errors.New("canceled")
}

// TestMalformedRequests: requests that never reach an endpoint still get a JSON error with
// the right status, over a real connection (what fasthttp parses is what is tested).
func TestMalformedRequests(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, f.store, nil)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name, raw string
		status    int
		body      string // in the answer's body
	}{
		{"garbage request line", "HELLO\r\n\r\n", 400, `{"error":"malformed request`},
		{"header too large", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n", 431, `{"error":"request header too large"}`},
		{"body too large", "POST /v1/matches HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n" + strings.Repeat("a", 10000), 413, `{"error":"request body too large`},
		{"method", "DELETE /v1/matches HTTP/1.1\r\nHost: x\r\n\r\n", 405, `is not allowed`},
		{"trailing slash", "GET /v1/matches/ HTTP/1.1\r\nHost: x\r\n\r\n", 404, `no such endpoint`},
		{"double slash", "GET /v1//matches HTTP/1.1\r\nHost: x\r\n\r\n", 200, `{"matches":[`},
		{"dot segments", "GET /v1/matches/9/../1 HTTP/1.1\r\nHost: x\r\n\r\n", 200, `"match_id":1,`},
		{"escaped id", "GET /v1/matches/%31 HTTP/1.1\r\nHost: x\r\n\r\n", 200, `"match_id":1,`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(conn, tc.raw); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
				t.Fatalf("%d %s; want %d and %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if tc.status != 200 && resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("error answer of type %q", resp.Header.Get("Content-Type"))
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Fatalf("405 without Allow: %v", resp.Header)
			}
		})
	}

	// HEAD: the GET's status and length, no body.
	resp, err := srv.Client().Head(srv.URL + "/v1/matches/1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	get := fetch(t, srv, "/v1/matches/1", 200, nil)
	if resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(get)) {
		t.Fatalf("HEAD: %d, %d bytes, length %d; GET has %d bytes", resp.StatusCode, len(body), resp.ContentLength, len(get))
	}
}

// A server whose context has ended before it starts serving returns, and frees its
// listener (a node stopped right after start used to hang in Serve).
func TestServeStoppedBeforeStart(t *testing.T) {
	for range 20 { // the race is between Serve's goroutine and the shutdown
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan error, 1)
		go func() { done <- New(DefaultConfig(), testFixture().store, nil, nil, nil).Serve(ctx, ln) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Serve after its context ended: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after its context ended before it started")
		}
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
			t.Fatal("the listener still accepts connections after Serve returned")
		}
	}
}
