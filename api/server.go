package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server answers the HTTP API from a Store. It keeps no state between requests.
type Server struct {
	cfg     Config
	store   Store
	log     *slog.Logger
	ready   func() bool
	handler http.Handler

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

// alongside runs a read next to the caller's: in a goroutine when the store is remote
// (the round trips overlap), inline when it is in memory (a goroutine would cost more
// than the read).
func (s *Server) alongside(wg *sync.WaitGroup, read func()) {
	if s.local {
		read()
		return
	}
	wg.Go(read)
}

// New builds a server reading store. Its metrics are registered with reg (and /metrics
// serves reg); ready answers /readyz (nil: always ready). A nil logger discards.
func New(cfg Config, store Store, logger *slog.Logger, reg *prometheus.Registry, ready func() bool) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, store: store, log: logger, ready: ready}
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

	mux := http.NewServeMux()
	mux.Handle("GET /v1/matches", s.answer(s.matches))
	mux.Handle("GET /v1/matches/{match_id}", s.answer(s.match))
	mux.Handle("GET /v1/matches/{match_id}/contests", s.answer(s.contests))
	mux.Handle("GET /v1/contests/{contest_id}/leaderboard", s.answer(s.leaderboard))
	mux.Handle("GET /v1/contests/{contest_id}/entries/{entry_id}", s.answer(s.entry))
	mux.Handle("GET /v1/contests/{contest_id}/entries/{entry_id}/around", s.answer(s.around))
	mux.Handle("GET /v1/users/{user_id}/entries", s.answer(s.userEntries))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if s.ready != nil && !s.ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, &httpError{http.StatusMethodNotAllowed, "method " + quote(r.Method) + " is not allowed: the API is read-only"})
			return
		}
		writeError(w, &httpError{http.StatusNotFound, "no such endpoint: " + quote(r.URL.Path)})
	})
	s.handler = s.instrument(mux)
	return s
}

// Handler returns the server's routes, instrumented.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers on ln until ctx is cancelled, then stops accepting, waits for the
// requests in flight (at most Config.ShutdownTimeout) and returns nil. It returns the
// error that stops it otherwise.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	s.log.Info("api serving", "addr", ln.Addr().String())
	select {
	case err := <-done:
		return fmt.Errorf("api server on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	timeout := s.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = DefaultConfig().ShutdownTimeout
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		srv.Close()
		return fmt.Errorf("api server on %s: shutdown: %w", ln.Addr(), err)
	}
	s.log.Info("api stopped", "addr", ln.Addr().String())
	return nil
}

// answer turns an endpoint into a handler: it bounds the store reads in time, writes the
// answer as JSON or the error as {"error": ...}.
func (s *Server) answer(endpoint func(*http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.StoreTimeout > 0 && !s.local {
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.StoreTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		v, err := endpoint(r)
		if err != nil {
			var he *httpError
			if !errors.As(err, &he) {
				s.log.Error("BUG: endpoint returned an untyped error", "path", r.URL.Path, "err", err)
				he = internal("internal error")
			}
			writeError(w, he)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var body []byte
	var err error
	if m, ok := v.(json.Marshaler); ok {
		body, err = m.MarshalJSON() // our own encoders write compact JSON: skip json's re-compaction
	} else {
		body, err = json.Marshal(v)
	}
	if err != nil {
		panic(fmt.Sprintf("BUG: cannot encode answer %T: %v", v, err))
	}
	h := w.Header()
	h["Content-Type"] = contentTypeJSON // canonical keys: no per-answer canonicalising
	h["Cache-Control"] = cacheNoStore
	h["Content-Length"] = []string{strconv.Itoa(len(body) + 1)}
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, e *httpError) {
	writeJSON(w, e.status, errorAnswer{Error: e.msg})
}

var (
	contentTypeJSON = []string{"application/json"}
	cacheNoStore    = []string{"no-store"}
)

type errorAnswer struct {
	Error string `json:"error"`
}

// statusWriter remembers the status of an answer for the metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument times every request by route pattern and status, and turns a panic into a
// logged 500 so that one bad request never takes the server down.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("BUG: panic answering a request", "method", r.Method, "url", r.URL.String(), "panic", p)
				if !sw.wrote {
					writeError(sw, internal("internal error"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			s.observer(route, sw.status).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}
