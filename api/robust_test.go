package api

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fantasy/leaderboard/records"
)

// TestNotRankedYet: an entry whose contest has no standings yet, and a match record not
// written yet (its first cycle is being written).
func TestNotRankedYet(t *testing.T) {
	f := newFixtureCopy()
	md := f.matches[liveMatch]
	ranked := md.ranked[md.contests[0]][0]
	e := md.entries[ranked.EntryID]
	lineup := records.Lineup{Players: e.Players, Captain: e.Captain, Vice: e.ViceCaptain}
	part := md.part[e.ContestID]
	fresh := records.Entry{ID: 1 << 40, Contest: 424242, Match: liveMatch, User: 5555, Team: 1, Part: part, Lineup: lineup}
	old := records.Entry{ID: e.EntryID, Contest: e.ContestID, Match: liveMatch, User: 5555, Team: e.TeamID, Part: part, Lineup: lineup}
	f.store.put(records.Live, fresh.Record(), records.User{Match: liveMatch, User: 5555, Part: part, Entries: []records.Entry{old, fresh}}.Record())
	srv, _ := newTestServer(t, f.store, nil)

	var got struct{ Error string }
	fetch(t, srv, fmt.Sprintf("/v1/contests/424242/entries/%d", fresh.ID), 404, &got)
	if !strings.Contains(got.Error, "no standings yet") {
		t.Fatalf("%q", got.Error)
	}
	var u tUser
	fetch(t, srv, "/v1/users/5555/entries?match_id=1", 200, &u)
	if len(u.Entries) != 2 || u.Entries[0].Rank == nil || *u.Entries[0].Rank != int64(ranked.Rank) ||
		u.Entries[1].Rank != nil || u.Entries[1].Points != nil || u.Entries[1].ContestID != 424242 {
		t.Fatalf("%+v", u)
	}
	if u.Cycle != md.cycle[md.contests[0]] {
		t.Fatalf("cycle %d", u.Cycle)
	}

	// A partition's share of the match is written before its contests: contests without
	// it are mid-write.
	mpKey := records.MatchPartKey(liveMatch, part)
	mpBins, _, _ := f.store.Get(t.Context(), records.Live, records.SetMatchPart, mpKey)
	f.store.del(records.Live, records.SetMatchPart, mpKey)
	fetch(t, srv, fmt.Sprintf("/v1/contests/%d/entries/%d", e.ContestID, e.EntryID), 503, &got)
	if !strings.Contains(got.Error, fmt.Sprintf("partition %d of match 1 is not written yet", part)) {
		t.Fatalf("%q", got.Error)
	}
	fetch(t, srv, "/v1/users/5555/entries?match_id=1", 503, &got)
	if !strings.Contains(got.Error, "not written yet") {
		t.Fatalf("%q", got.Error)
	}
	f.store.put(records.Live, records.Record{Set: records.SetMatchPart, Key: mpKey, Bins: mpBins})

	// The match's commit is written last in a cycle: a match never committed has no
	// standings visible (strict visibility: its contests are not ranked yet), and the
	// user answer cannot know its partitions.
	f.store.del(records.Live, records.SetMatch, records.IDKey(liveMatch))
	fetch(t, srv, fmt.Sprintf("/v1/contests/%d/entries/%d", e.ContestID, e.EntryID), 404, &got)
	if !strings.Contains(got.Error, "no standings yet") {
		t.Fatalf("%q", got.Error)
	}
	fetch(t, srv, fmt.Sprintf("/v1/contests/%d/leaderboard", e.ContestID), 404, &got)
	if !strings.Contains(got.Error, "no standings of it committed yet") {
		t.Fatalf("%q", got.Error)
	}
	fetch(t, srv, "/v1/users/5555/entries?match_id=1", 404, &got)
	if !strings.Contains(got.Error, "no such match") {
		t.Fatalf("%q", got.Error)
	}
	fetch(t, srv, "/v1/matches/1", 404, nil)
}

// syncBuffer is a log sink for concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCorruptRecords: records whose packed bins are cut short or flipped, or whose
// numbers are wrong, give 500 (logged) or another error, never a panic.
func TestCorruptRecords(t *testing.T) {
	f := newFixtureCopy()
	md := f.matches[liveMatch]
	big := md.bigContest()
	w := md.ranked[big][1234]
	paths := []string{
		"/v1/matches", "/v1/matches/1", "/v1/matches/1/contests", "/v1/matches/2/contests?offset=1500",
		fmt.Sprintf("/v1/contests/%d/leaderboard?offset=1150&limit=300", big),
		fmt.Sprintf("/v1/contests/%d/entries/%d", big, w.EntryID),
		fmt.Sprintf("/v1/contests/%d/entries/%d/around?before=100&after=100", big, w.EntryID),
		fmt.Sprintf("/v1/users/%d/entries?match_id=1", w.UserID),
	}
	for _, st := range []Store{f.store, binsOnly{f.store}} {
		t.Run(fmt.Sprintf("%T", st), func(t *testing.T) { corruptRecords(t, f, st, paths) })
	}
}

func corruptRecords(t *testing.T, f *fixture, st Store, paths []string) {
	var logs syncBuffer
	s := New(DefaultConfig(), st, slog.New(slog.NewTextHandler(&logs, nil)), nil, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	mangle := func(b records.Bins) {
		mu.Lock()
		defer mu.Unlock()
		for name, v := range b {
			switch v := v.(type) {
			case []byte:
				switch rng.IntN(4) {
				case 0:
					b[name] = v[:rng.IntN(len(v)+1)]
				case 1:
					if len(v) > 0 {
						v[rng.IntN(len(v))] ^= byte(1 << rng.IntN(8))
					}
				}
			case int64:
				switch rng.IntN(6) {
				case 0:
					b[name] = -v
				case 1:
					b[name] = v + int64(rng.IntN(3)) - 1
				case 2:
					b[name] = 1<<63 - 1
				}
			}
		}
	}
	f.store.setHook(func(ns, set, key string, b records.Bins, ok bool) (records.Bins, bool, error) {
		if ok {
			mangle(b)
		}
		return b, ok, nil
	})
	codes := map[int]int{}
	for range 60 {
		for _, p := range paths {
			rec := serveOnce(s, "GET", p)
			codes[rec.Code]++
			if rec.Code != 200 && !strings.HasPrefix(rec.Body.String(), `{"error":`) {
				t.Fatalf("%s: %d %s", p, rec.Code, rec.Body)
			}
		}
	}
	if strings.Contains(logs.String(), "panic") {
		t.Fatalf("a corrupt record panicked a handler:\n%s", logs.String())
	}
	if codes[500] == 0 {
		t.Fatalf("no corrupt record was detected: %v", codes)
	}
	t.Logf("answers by status: %v", codes)
}

// shortStore answers batches with the wrong number of records.
type shortStore struct{ *fakeStore }

func (s shortStore) GetMany(ctx context.Context, ns, set string, keys []string) ([]records.Bins, error) {
	bs, err := s.fakeStore.GetMany(ctx, ns, set, keys)
	if len(bs) > 0 {
		bs = bs[1:]
	}
	return bs, err
}

func TestShortBatch(t *testing.T) {
	f := testFixture()
	srv, _ := newTestServer(t, binsOnly{shortStore{f.store}}, nil) // binsOnly: its GetMany answers
	big := f.matches[liveMatch].bigContest()
	fetch(t, srv, fmt.Sprintf("/v1/contests/%d/leaderboard?offset=300", big), 503, nil)
	fetch(t, srv, "/v1/matches", 503, nil)
}

// TestPackedAndBinsAgree: the API answers the same, byte for byte, whether it reads the
// records in place (the embedded store) or as maps (a remote store).
func TestPackedAndBinsAgree(t *testing.T) {
	f := testFixture()
	packed, _ := newTestServer(t, embedded(t, f.store), nil)
	bins, _ := newTestServer(t, binsOnly{f.store}, nil)
	paths := []string{"/v1/matches", "/v1/matches/1", "/v1/matches/2", "/v1/matches/3", "/v1/matches/1/contests",
		"/v1/matches/2/contests?offset=1500&limit=20", "/v1/matches/99", "/v1/contests/99/leaderboard",
		"/v1/users/1/entries?match_id=2", "/v1/contests/1/entries/x"}
	for _, id := range []int64{liveMatch, doneMatch} {
		md := f.matches[id]
		for k, cid := range md.contests {
			paths = append(paths, fmt.Sprintf("/v1/contests/%d/leaderboard?offset=%d&limit=120", cid, k%3*60))
			for j, r := range md.ranked[cid] {
				if j%41 == 0 {
					paths = append(paths, fmt.Sprintf("/v1/contests/%d/entries/%d", cid, r.EntryID),
						fmt.Sprintf("/v1/contests/%d/entries/%d/around?before=3&after=70", cid, r.EntryID),
						fmt.Sprintf("/v1/users/%d/entries?match_id=%d", r.UserID, id))
				}
			}
		}
	}
	for _, p := range paths {
		a, aResp := get(t, packed, p)
		b, bResp := get(t, bins, p)
		aCode, bCode := aResp.StatusCode, bResp.StatusCode
		if aCode != bCode || !bytes.Equal(a, b) {
			t.Fatalf("GET %s:\n in place: %d %s\n as maps:  %d %s", p, aCode, a, bCode, b)
		}
	}
	t.Logf("%d answers agree", len(paths))
}

// get GETs path: the body and the response (its body read and closed), whatever the status.
func get(t testing.TB, srv *testServer, path string) ([]byte, *http.Response) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading: %v", path, err)
	}
	return body, resp
}

// TestMalformedRequestKeepsSecrets: fasthttp quotes the raw request in the error for a
// request it cannot parse; neither the 400 answer nor the log may repeat it, since it
// holds the client's credentials.
func TestMalformedRequestKeepsSecrets(t *testing.T) {
	const secret = "s3cr3t-T0KEN"
	auth := "Authorization: Bearer " + secret + "\r\n"
	for _, tc := range []struct {
		name, raw string
		status    int
		body      string
	}{
		{"whitespace in request line", "GET  /v1/matches?token=" + secret + " HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 400, `{"error":"malformed request: `},
		{"no method", " /v1/matches HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 400, `{"error":"malformed request: `},
		{"bad content length", "GET /v1/matches HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 1x\r\n\r\n", 400, `{"error":"malformed request: `},
		{"duplicate content length", "GET /v1/matches HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, `{"error":"malformed request: `},
		{"header too large", "GET /v1/matches HTTP/1.1\r\nHost: x\r\n" + auth + "X-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n", 431, `{"error":"request header too large"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			s := New(DefaultConfig(), testFixture().store, slog.New(slog.NewTextHandler(&logs, nil)), nil, nil)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Serve(ctx, ln) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Serve: %v", err)
				}
			}()
			conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
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
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
				t.Fatalf("%d %s; want %d and %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if strings.Contains(string(body), secret) || strings.Contains(string(body), "Authorization") {
				t.Errorf("the answer repeats the request: %s", body)
			}
			// fasthttp logs a parse error once the answer is written: the line says what
			// went wrong, without the request.
			conn.Close()
			if tc.status == 400 {
				deadline := time.Now().Add(2 * time.Second)
				for !strings.Contains(logs.String(), "api connection") && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if !strings.Contains(logs.String(), "api connection") {
					t.Errorf("the connection's error is not logged:\n%s", logs.String())
				}
			}
			if l := logs.String(); strings.Contains(l, secret) || strings.Contains(l, "Authorization") {
				t.Errorf("the log repeats the request:\n%s", l)
			}
		})
	}
}

// TestAdminListener: metrics, profiles and probes on the admin handler; neither metrics
// nor profiles on the public API port.
func TestAdminListener(t *testing.T) {
	f := testFixture()
	var ready atomic.Bool
	srv, reg := newTestServer(t, f.store, ready.Load)
	fetch(t, srv, "/v1/matches/1", 200, nil)
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/goroutine?debug=1"} {
		fetch(t, srv, path, 404, nil)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeAdmin(ctx, ln, AdminHandler(reg, ready.Load), nil) }()
	get := func(path string, status int, want string) {
		t.Helper()
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status || !strings.Contains(string(body), want) {
			t.Fatalf("admin GET %s: %d %.200s; want %d and %q", path, resp.StatusCode, body, status, want)
		}
	}
	get("/metrics", 200, `leaderboard_api_request_duration_seconds_count{code="200",route="GET /v1/matches/{match_id}"} 1`)
	get("/debug/pprof/", 200, "goroutine")
	get("/debug/pprof/goroutine?debug=1", 200, "goroutine profile")
	get("/healthz", 200, "ok")
	get("/readyz", 503, "not ready")
	ready.Store(true)
	get("/readyz", 200, "ready")
	get("/v1/matches/1", 404, "")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ServeAdmin: %v", err)
	}
}
