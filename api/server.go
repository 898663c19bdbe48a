package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
)

// Server answers the HTTP API from a Store. It keeps no state between requests.
type Server struct {
	cfg    Config
	store  Store
	rd     PackedStore // store, read in place
	log    *slog.Logger
	ready  func() bool
	routes []*route

	duration *prometheus.HistogramVec
	rereads  prometheus.Counter
	lastLog  atomic.Int64 // unix ns of the last rate-limited log line
	logs     pointsCache
	hists    histCache
	local    bool // the store is in this process: reads neither overlap nor time out

	obsMu sync.RWMutex
	obs   map[routeCode]prometheus.Observer
}

type routeCode struct {
	route string
	code  int
}

// observer returns the duration histogram of a route and status, resolving the labels
// once per pair rather than once per request.
func (s *Server) observer(route string, code int) prometheus.Observer {
	k := routeCode{route, code}
	s.obsMu.RLock()
	o, ok := s.obs[k]
	s.obsMu.RUnlock()
	if ok {
		return o
	}
	o = s.duration.WithLabelValues(route, strconv.Itoa(code))
	s.obsMu.Lock()
	if s.obs == nil {
		s.obs = map[routeCode]prometheus.Observer{}
	}
	s.obs[k] = o
	s.obsMu.Unlock()
	return o
}

// New builds a server reading store. Its metrics are registered with reg; ready answers
// /readyz (nil: always ready). A nil logger discards. The public port serves no metrics
// or profiles: those are AdminHandler's, on a listener of their own.
func New(cfg Config, store Store, logger *slog.Logger, reg *prometheus.Registry, ready func() bool) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, store: store, log: logger, ready: ready}
	s.rd = packing{store}
	if p, ok := store.(PackedStore); ok {
		s.rd = p
	}
	if l, ok := store.(interface{ Local() bool }); ok {
		s.local = l.Local()
	}
	f := promauto.With(reg)
	s.duration = f.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "leaderboard_api_request_duration_seconds",
		Help:    "Time to answer an API request, by route pattern and HTTP status.",
		Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route", "code"})
	s.rereads = f.NewCounter(prometheus.CounterOpts{
		Name: "leaderboard_api_rereads_total",
		Help: "Reads repeated because the records of an answer were caught between two cycles.",
	})

	s.routes = []*route{
		s.jsonRoute("GET /v1/matches", s.matches),
		s.jsonRoute("GET /v1/matches/{match_id}", s.match),
		s.jsonRoute("GET /v1/matches/{match_id}/contests", s.contests),
		s.jsonRoute("GET /v1/contests/{contest_id}/leaderboard", s.leaderboard),
		newRoute("GET /v1/contests/{contest_id}/entries/{entry_id}", s.entry),
		s.jsonRoute("GET /v1/contests/{contest_id}/entries/{entry_id}/around", s.around),
		s.jsonRoute("GET /v1/users/{user_id}/entries", s.userEntries),
		plainRoute("GET /healthz", func(ctx *fasthttp.RequestCtx) { writeText(ctx, fasthttp.StatusOK, "ok") }),
		plainRoute("GET /readyz", func(ctx *fasthttp.RequestCtx) {
			if s.ready != nil && !s.ready() {
				writeText(ctx, fasthttp.StatusServiceUnavailable, "not ready")
				return
			}
			writeText(ctx, fasthttp.StatusOK, "ready")
		}),
	}
	s.routes = append(s.routes, s.webRoutes()...) // web.go: the web leaderboard and its entry history
	return s
}

// AdminHandler answers an operator's requests, for a listener apart from the API's (an
// address that is not public, e.g. loopback): /metrics (gather's, in Prometheus' text
// format), /debug/pprof/ (Go's profiles), and the probes /healthz and /readyz (ready nil:
// always ready) as on the API's port.
func AdminHandler(gather prometheus.Gatherer, ready func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gather, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready != nil && !ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "not ready\n")
			return
		}
		io.WriteString(w, "ready\n")
	})
	return mux
}

// ServeAdmin serves h (AdminHandler's) on ln until ctx is cancelled, then closes it and
// returns nil; it returns the error that stops it otherwise.
func ServeAdmin(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: a CPU profile or trace answers after its ?seconds=.
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	logger.Info("admin serving", "addr", ln.Addr().String(), "paths", "/metrics /debug/pprof/ /healthz /readyz")
	select {
	case err := <-done:
		return fmt.Errorf("admin server on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	srv.Close()
	<-done
	return nil
}

// Serve answers on ln until ctx is cancelled, then stops accepting, waits for the
// requests in flight (at most Config.ShutdownTimeout) and returns nil. It returns the
// error that stops it otherwise.
//
// The server is fasthttp's: on a loopback benchmark it answers with about a third less
// CPU per request than net/http, and allocates nothing of its own per request
// (docs/PERFORMANCE.md).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler:                      s.ServeFastHTTP,
		ErrorHandler:                 s.malformed,
		Logger:                       printfLogger{s},
		NoDefaultServerHeader:        true,
		ReadTimeout:                  5 * time.Second, // a request's header and (refused) body
		IdleTimeout:                  2 * time.Minute, // a keep-alive connection between requests
		WriteTimeout:                 10 * time.Second,
		MaxRequestBodySize:           4 << 10, // the API reads no bodies
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	s.log.Info("api serving", "addr", ln.Addr().String())
	select {
	case err := <-done:
		if err == nil {
			err = errors.New("stopped serving")
		}
		return fmt.Errorf("api server on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	timeout := s.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultConfig().ShutdownTimeout
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := srv.ShutdownWithContext(sctx)
	// fasthttp's Shutdown closes only the listeners Serve has taken: when ctx ended before
	// the goroutine above reached Serve, Serve would take ln afterwards and never return.
	// Closing ln ends Serve in both cases.
	ln.Close()
	if serr := <-done; serr != nil && err == nil && !errors.Is(serr, net.ErrClosed) {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("api server on %s: shutdown: %w", ln.Addr(), err)
	}
	s.log.Info("api stopped", "addr", ln.Addr().String())
	return nil
}

// printfLogger passes fasthttp's log lines (a connection that failed, e.g. on a request
// it could not parse) to the server's logger, at most one a second: a client sending
// garbage must not flood the log.
type printfLogger struct{ s *Server }

// fasthttp's errors for a request it could not parse quote the raw request (headers,
// tokens and all): an error argument is logged as safeError says it, never as is.
func (l printfLogger) Printf(format string, args ...any) {
	clean := make([]any, len(args))
	for i, a := range args {
		if err, ok := a.(error); ok {
			a = safeError(err)
		}
		clean[i] = a
	}
	l.s.logLimited(slog.LevelWarn, "api connection", "detail", fmt.Sprintf(format, clean...))
}

// requestErrors are fasthttp's parse errors, whose own text holds no request bytes;
// fasthttp wraps them in errors that quote the request.
var requestErrors = []error{
	fasthttp.ErrMissingRequestMethod, fasthttp.ErrUnsupportedRequestMethod, fasthttp.ErrExtraWhitespaceInRequestLine,
	fasthttp.ErrEmptyRequestURI, fasthttp.ErrDuplicateContentLength, fasthttp.ErrUnsupportedTransferEncoding,
	fasthttp.ErrNonNumericChars, fasthttp.ErrNeedMore, fasthttp.ErrSmallReadBuffer, fasthttp.ErrBadTrailer,
	fasthttp.ErrBodyTooLarge, io.EOF, io.ErrUnexpectedEOF,
}

// safeError describes err without any byte of the request it may quote: the request
// may carry credentials (an Authorization header, a token in the URI), and neither the
// log nor the answer to a client that sent garbage may repeat them.
func safeError(err error) string {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.As(err, &small):
		return "request header too large"
	case errors.As(err, &op):
		return op.Error() // addresses and a system call's error
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	for _, e := range requestErrors {
		if errors.Is(err, e) {
			return strings.TrimPrefix(e.Error(), "fasthttp: ")
		}
	}
	return "cannot parse the request"
}

// malformed answers a request fasthttp could not read: a header too large, a body too
// large, a timeout, or a request line it cannot parse.
func (s *Server) malformed(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		writeError(ctx, &httpError{fasthttp.StatusRequestHeaderFieldsTooLarge, "request header too large"})
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeError(ctx, &httpError{fasthttp.StatusRequestEntityTooLarge, "request body too large: the API reads none"})
	case errors.As(err, &ne) && ne.Timeout():
		writeError(ctx, &httpError{fasthttp.StatusRequestTimeout, "request not received in time"})
	default:
		writeError(ctx, badRequest("malformed request: %s", safeError(err)))
	}
}

// ServeFastHTTP answers one request: it times it by route and status, and turns a panic
// into a logged 500 so that one bad request never takes the server down.
func (s *Server) ServeFastHTTP(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	var rt *route
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("BUG: panic answering a request", "method", string(ctx.Method()), "uri", string(ctx.RequestURI()), "panic", p)
			ctx.Response.Reset()
			writeError(ctx, internal("internal error"))
		}
		label := "unmatched"
		if rt != nil {
			label = rt.pattern
		}
		s.observer(label, ctx.Response.StatusCode()).Observe(time.Since(start).Seconds())
	}()
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Response.Header.Set("Allow", "GET, HEAD")
		writeError(ctx, &httpError{fasthttp.StatusMethodNotAllowed, "method " + quote(string(ctx.Method())) + " is not allowed: the API is read-only"})
		return
	}
	r := getRequest()
	defer putRequest(r)
	if rt = s.route(ctx.Path(), r); rt == nil {
		writeError(ctx, &httpError{fasthttp.StatusNotFound, "no such endpoint: " + quote(string(ctx.Path()))})
		return
	}
	if rt.plain != nil {
		rt.plain(ctx)
		return
	}
	r.ctx, r.query = context.Background(), ctx.URI().QueryString()
	if s.cfg.StoreTimeout > 0 && !s.local {
		c, cancel := context.WithTimeout(r.ctx, s.cfg.StoreTimeout)
		defer cancel()
		r.ctx = c
	}
	buf := getBuf()
	defer putBuf(buf)
	b, err := rt.answer(r, (*buf)[:0])
	if err != nil {
		var he *httpError
		if !errors.As(err, &he) {
			s.log.Error("BUG: endpoint returned an untyped error", "path", string(ctx.Path()), "err", err)
			he = internal("internal error")
		}
		writeError(ctx, he)
		return
	}
	*buf = b
	writeBody(ctx, fasthttp.StatusOK, b)
}

// jsonRoute routes to an endpoint that returns its answer as a value to encode.
func (s *Server) jsonRoute(pattern string, endpoint func(*request) (any, error)) *route {
	return newRoute(pattern, func(r *request, b []byte) ([]byte, error) {
		v, err := endpoint(r)
		if err != nil {
			return b, err
		}
		return appendJSON(b, v), nil
	})
}

// bufs holds answer buffers: most answers fit the first one they get.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 { // a rare huge answer is not kept
		bufs.Put(b)
	}
}

// appendJSON appends v's JSON. Our own encoders (json.Marshaler) write compact JSON: it
// skips json's re-compaction of their output.
func appendJSON(b []byte, v any) []byte {
	var body []byte
	var err error
	if m, ok := v.(json.Marshaler); ok {
		body, err = m.MarshalJSON()
	} else {
		body, err = json.Marshal(v)
	}
	if err != nil {
		panic(fmt.Sprintf("BUG: cannot encode answer %T: %v", v, err))
	}
	return append(b, body...)
}

// writeJSON answers v as JSON.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	buf := getBuf()
	defer putBuf(buf)
	*buf = appendJSON((*buf)[:0], v)
	writeBody(ctx, status, *buf)
}

// writeBody answers body, a JSON document, and a newline.
func writeBody(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.Header.SetCanonical(cacheControl, noStore) // canonical: no per-answer normalising
	ctx.Response.AppendBody(body)
	ctx.Response.AppendBody(newline)
}

func writeError(ctx *fasthttp.RequestCtx, e *httpError) {
	writeJSON(ctx, e.status, errorAnswer{Error: e.msg})
}

// writeText answers a line of plain text (the health checks).
func writeText(ctx *fasthttp.RequestCtx, status int, line string) {
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(contentTypeText)
	ctx.Response.SetBodyString(line + "\n")
}

var (
	contentTypeJSON = []byte("application/json")
	contentTypeText = []byte("text/plain; charset=utf-8")
	cacheControl    = []byte("Cache-Control")
	noStore         = []byte("no-store")
	newline         = []byte("\n")
)

type errorAnswer struct {
	Error string `json:"error"`
}
