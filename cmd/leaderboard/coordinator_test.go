package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/coordinator"
	"github.com/fantasy/leaderboard/internal/devbroker"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// `leaderboard coordinator` against the development broker, read by `leaderboard status`;
// bad flags stop it with a usage error naming the flag.
func TestCoordinatorAndStatusCommands(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"coordinator", "--interval", "0s"}, "interval 0s"},
		{[]string{"coordinator", "--bind", "nope"}, `bind address "nope"`},
		{[]string{"coordinator", "--http", "nope"}, `--http "nope"`},
		{[]string{"coordinator", "--load-factor", "0.5"}, "load factor 0.5"},
		{[]string{"status", "--coordinator", ""}, "coordinator address: empty"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), tc.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errb.String(), tc.want)
		}
	}

	b, err := devbroker.Start(devbroker.Config{Addr: "127.0.0.1:0", EntriesPartitions: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuf
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"coordinator", "--kafka", strings.Join(b.Addrs(), ","), "--bind", "127.0.0.1:0", "--http", httpAddr,
			"--interval", "100ms", "--data-dir", t.TempDir(), "--node-name", "c1", "--settle", "0s", "--store", "none"}, &out, &errb)
	}()
	var st coordinator.Status
	deadline := time.Now().Add(20 * time.Second)
	for st.Cycle < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no status with cycle 3 within 20 s; coordinator stdout %q stderr:\n%s", out.String(), errb.String())
		}
		select {
		case code := <-done:
			t.Fatalf("coordinator exited %d: %s", code, errb.String())
		case <-time.After(100 * time.Millisecond):
		}
		var js, e bytes.Buffer
		if run(ctx, []string{"status", "--coordinator", httpAddr, "--json"}, &js, &e) == 0 {
			if err := json.Unmarshal(js.Bytes(), &st); err != nil {
				t.Fatalf("status --json: %v: %s", err, js.String())
			}
		}
	}
	if st.Partitions != 8 || st.Node != "c1" || len(st.Members) != 1 || st.Members[0].Role != "coordinator" || len(st.Unassigned) != 8 {
		t.Errorf("status: %+v", st)
	}
	var table, e bytes.Buffer
	if code := run(ctx, []string{"status", "--coordinator", httpAddr}, &table, &e); code != 0 {
		t.Fatalf("status: exit %d: %s", code, e.String())
	}
	for _, want := range []string{"coordinator c1: epoch 0", "8 partitions", "unassigned partitions (no worker yet): 0,1,2,3,4,5,6,7", "MEMBER", "c1      coordinator", "CYCLE", "0/8"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("status table lacks %q:\n%s", want, table.String())
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("coordinator exited %d on shutdown: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("coordinator did not stop within 15 s of its context ending")
	}
}
