package api

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// recorded is the answer to a request served in process, without sockets.
type recorded struct {
	Code   int
	Body   *bytes.Buffer
	Header *fasthttp.ResponseHeader
}

// serveOnce passes one request (target: path and query) to the server's handler.
func serveOnce(s *Server, method, target string) recorded {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(target)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	s.ServeFastHTTP(&ctx)
	var h fasthttp.ResponseHeader
	ctx.Response.Header.CopyTo(&h)
	return recorded{Code: ctx.Response.StatusCode(), Body: bytes.NewBuffer(append([]byte(nil), ctx.Response.Body()...)), Header: &h}
}

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"42", 42, true}, {"-1005", -1005, true}, {"007", 7, true},
		{"9223372036854775807", 1<<63 - 1, true}, {"-9223372036854775808", -1 << 63, true},
		{"9223372036854775808", 0, false}, {"", 0, false}, {"+1", 0, false}, {"1.0", 0, false},
		{"0x10", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"١", 0, false}, {"-", 0, false},
	} {
		got, err := parseID("id", tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseID(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func TestPageParams(t *testing.T) {
	for _, tc := range []struct {
		q   string
		off int64
		lim int64
		err string
	}{
		{"", 0, 50, ""},
		{"offset=10&limit=1000", 10, 1000, ""},
		{"limit=1", 0, 1, ""},
		{"other=x", 0, 50, ""},
		{"offset=-1", 0, 0, "offset -1 is out of range: must be >= 0"},
		{"limit=0", 0, 0, "limit 0 is out of range [1, 1000]"},
		{"limit=1001", 0, 0, "limit 1001 is out of range [1, 1000]"},
		{"limit=", 0, 0, `limit "" is not an integer`},
		{"limit=ten", 0, 0, `limit "ten" is not an integer`},
		{"offset=1&offset=2", 0, 0, "offset is given 2 times"},
		{"limit=" + strings.Repeat("9", 100), 0, 0, "..."},
	} {
		q, _ := url.ParseQuery(tc.q)
		w, err := pageParams(q)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.(*httpError).msg, tc.err) {
				t.Errorf("%q: error %v, want %q", tc.q, err, tc.err)
			}
			continue
		}
		if err != nil || w.offset != tc.off || w.limit != tc.lim {
			t.Errorf("%q: %+v %v", tc.q, w, err)
		}
	}
}

// FuzzParams: the id and query parsers never panic, accept only what they document, and
// refuse with a 400.
func FuzzParams(f *testing.F) {
	for _, s := range []string{"0", "-5", "+5", "1e3", "99999999999999999999", "", "a%zz", "offset=1&limit=2", "limit=1001&before=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := parseID("id", s); err == nil {
			if back, perr := strconv.ParseInt(s, 10, 64); perr != nil || back != v || s[0] == '+' {
				t.Fatalf("parseID(%q) = %d", s, v)
			}
		} else if err.(*httpError).status != http.StatusBadRequest {
			t.Fatalf("parseID(%q): %v", s, err)
		}
		q, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		if w, err := pageParams(q); err == nil {
			if w.offset < 0 || w.limit < 1 || w.limit > maxLimit {
				t.Fatalf("pageParams(%q) = %+v", s, w)
			}
		} else if err.(*httpError).status != http.StatusBadRequest {
			t.Fatal(err)
		}
		if b, a, err := aroundParams(q); err == nil {
			if b < 0 || a < 0 || b > maxAround || a > maxAround {
				t.Fatalf("aroundParams(%q) = %d, %d", s, b, a)
			}
		} else if err.(*httpError).status != http.StatusBadRequest {
			t.Fatal(err)
		}
	})
}

// FuzzRequest sends arbitrary paths and queries through the whole handler: no answer is a
// 500 or a panic, and every error is JSON.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		"/v1/contests/1005/leaderboard?offset=99&limit=7", "/v1/contests/-1012/entries/5/around?before=1",
		"/v1/users/5/entries?match_id=1", "/v1/matches/1/contests?offset=999", "/v1/matches/3",
		"/v1/contests/%31/leaderboard", "/v1/contests/1/entries/-0", "/v1//matches", "/metrics/../v1/matches",
	} {
		f.Add(s)
	}
	fx := testFixture()
	s := New(DefaultConfig(), fx.store, nil, nil, nil)
	f.Fuzz(func(t *testing.T, target string) {
		r, err := http.NewRequest(http.MethodGet, "http://api.test"+target, nil)
		if err != nil || r.URL.Host != "api.test" {
			return
		}
		rec := serveOnce(s, http.MethodGet, target)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%q: %d %s", target, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !strings.HasPrefix(rec.Body.String(), `{"error":`) {
			t.Fatalf("%q: %d %s", target, rec.Code, rec.Body)
		}
	})
}
