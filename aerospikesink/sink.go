package aerospikesink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/aerospike/aerospike-client-go/v7/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/fantasy/leaderboard/records"
)

// ErrUnavailable is wrapped by the error of a call the sink could not get answered: the
// breaker is open after consecutive failed batches (the call failed fast, without
// touching the network), or a batch failed on a transient result code through all its
// retries. The records of a failed Put may be partly written; the next successful Put
// of the same records replaces them.
var ErrUnavailable = errors.New("aerospike unavailable")

// Sink writes and reads the records/ layout in Aerospike. It satisfies the worker's and
// the API's Store interfaces. It is safe for concurrent use.
type Sink struct {
	cfg    Config
	client *as.Client
	log    *slog.Logger
	now    func() time.Time
	br     *breaker
	m      metrics

	ns         map[string]nsInfo // records.Live / records.Complete -> Aerospike
	writeBatch *as.BatchPolicy
	readBatch  *as.BatchPolicy
	read       *as.BasePolicy
	deletePol  *as.BatchDeletePolicy
	policyMu   sync.Mutex
	policies   map[policyKey]*as.BatchWritePolicy

	// slots bound the batches in flight across every Put and Delete of the sink to
	// Config.Concurrency: a worker's cycle calls Put from several goroutines at once.
	slots chan struct{}
	// inflight and peak count the batches in flight (peak: the most seen; tests).
	inflight, peak atomic.Int32
}

type nsInfo struct {
	name string
	ttl  uint32 // seconds
}

type metrics struct {
	written  *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	breaker  prometheus.Gauge
	fastFail prometheus.Counter
}

// New connects to the cluster and returns the sink. now is the clock (time.Now in
// production; the breaker's cool-down reads it). A cluster that cannot be reached is an
// error saying what to check.
func New(cfg Config, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hosts, _ := cfg.hosts()
	cp, err := cfg.clientPolicy()
	if err != nil {
		return nil, err
	}
	client, aerr := as.NewClientWithPolicyAndHost(cp, hosts...)
	if aerr != nil {
		return nil, fmt.Errorf("cannot reach Aerospike at %s (is the server, or `leaderboard store --addr %s`, running? are --aerospike-hosts, user/password and TLS settings right?): %w",
			cfg.Hosts, hosts[0], aerr)
	}
	return newSink(cfg, client, log, reg, now), nil
}

func newSink(cfg Config, client *as.Client, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) *Sink {
	f := promauto.With(reg)
	s := &Sink{cfg: cfg, client: client, log: log, now: now, policies: map[policyKey]*as.BatchWritePolicy{},
		slots: make(chan struct{}, cfg.Concurrency)}
	s.m = metrics{
		written: f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_aerospike_records_written_total",
			Help: "Records written to Aerospike, by logical namespace and set."}, []string{"namespace", "set"}),
		latency: f.NewHistogramVec(prometheus.HistogramOpts{Name: "leaderboard_aerospike_batch_seconds",
			Help: "Time of one batch call to Aerospike (one try), by operation.", Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16)}, []string{"op"}),
		errors: f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_aerospike_errors_total",
			Help: "Failed records and batches, by Aerospike result code (FILTERED_OUT: refused by the fence)."}, []string{"code"}),
		breaker: f.NewGauge(prometheus.GaugeOpts{Name: "leaderboard_aerospike_breaker_state",
			Help: "The sink's circuit breaker: 0 closed, 1 open (calls fail fast), 2 half open (probing)."}),
		fastFail: f.NewCounter(prometheus.CounterOpts{Name: "leaderboard_aerospike_fast_failures_total",
			Help: "Calls refused without touching the network because the breaker was open."}),
	}
	s.br = newBreaker(cfg.BreakerFailures, cfg.BreakerCooldown, now, func(st int) { s.m.breaker.Set(float64(st)) })
	s.ns = map[string]nsInfo{
		records.Live:     {cfg.LiveNamespace, uint32(cfg.LiveTTL / time.Second)},
		records.Complete: {cfg.CompleteNamespace, uint32(cfg.CompleteTTL / time.Second)},
	}
	s.writeBatch = as.NewWriteBatchPolicy()
	s.writeBatch.TotalTimeout, s.writeBatch.SocketTimeout = cfg.Timeout, cfg.Timeout
	s.writeBatch.MaxRetries = 0 // the sink retries by result code itself (retry.go)
	s.writeBatch.ConcurrentNodes = 0
	s.readBatch = as.NewReadBatchPolicy()
	s.readBatch.TotalTimeout, s.readBatch.SocketTimeout = cfg.Timeout, cfg.Timeout
	s.readBatch.MaxRetries, s.readBatch.SleepBetweenRetries = cfg.Retries, cfg.RetryBackoff
	s.readBatch.ConcurrentNodes = 0
	s.read = as.NewPolicy()
	s.read.TotalTimeout, s.read.SocketTimeout = cfg.Timeout, cfg.Timeout
	s.read.MaxRetries, s.read.SleepBetweenRetries = cfg.Retries, cfg.RetryBackoff
	s.deletePol = as.NewBatchDeletePolicy()
	return s
}

// Close closes the client's connections.
func (s *Sink) Close() error {
	s.client.Close()
	return nil
}

// Ping reports whether the cluster answers (the API's readiness).
func (s *Sink) Ping(ctx context.Context) error {
	_, _, err := s.Get(ctx, records.Live, records.SetMatches, records.MatchesKey)
	return err
}

func (s *Sink) namespace(ns string) (nsInfo, error) {
	n, ok := s.ns[ns]
	if !ok {
		return nsInfo{}, fmt.Errorf("aerospike: unknown namespace %q (want %q or %q)", ns, records.Live, records.Complete)
	}
	return n, nil
}

// allow fails fast while the breaker is open.
func (s *Sink) allow(what string) error {
	if ok, until := s.br.allow(); !ok {
		s.m.fastFail.Inc()
		return fmt.Errorf("%s: %w: the circuit breaker is open after %d consecutive failed batches; next try in %v",
			what, ErrUnavailable, s.cfg.BreakerFailures, until.Sub(s.now()).Round(time.Millisecond))
	}
	return nil
}

// Put writes records into a namespace with its TTL. Each record replaces the stored one
// whole (REPLACE: its bins are exactly the new ones). A fenced record is refused when the
// stored record carries a newer fence (see fence.go); the others are written, and the
// error wraps a *records.FencedError. A record the server rejects (too big, bad
// parameter) fails with an error naming it, after the rest were written. Put keeps
// neither a record's Packed bytes nor its Key once it returns, retries included, so a
// writer may reuse their memory (worker.Store's contract); a FencedError it returns
// names the refused record's Key as given.
func (s *Sink) Put(ctx context.Context, ns string, recs []records.Record) error {
	n, err := s.namespace(ns)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	items := make([]item, len(recs))
	for i := range recs {
		if err := s.writeItem(&items[i], n, &recs[i]); err != nil {
			return err
		}
	}
	return s.run(ctx, ns, "write", items)
}

// Delete removes records by key from a set (absent ones are no error).
func (s *Sink) Delete(ctx context.Context, ns, set string, keys []string) error {
	n, err := s.namespace(ns)
	if err != nil {
		return err
	}
	if err := checkSet(set); err != nil {
		return err
	}
	items := make([]item, len(keys))
	for i, k := range keys {
		key, aerr := as.NewKey(n.name, set, k)
		if aerr != nil {
			return fmt.Errorf("aerospike: key %s/%q: %w", set, k, aerr)
		}
		items[i] = item{key: key, set: set, userKey: k, del: true}
	}
	return s.run(ctx, ns, "delete", items)
}

// Get reads one record; ok is false when it is absent (or expired).
func (s *Sink) Get(ctx context.Context, ns, set, key string) (records.Bins, bool, error) {
	n, err := s.namespace(ns)
	if err != nil {
		return nil, false, err
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	k, aerr := as.NewKey(n.name, set, key)
	if aerr != nil {
		return nil, false, fmt.Errorf("aerospike: key %s/%q: %w", set, key, aerr)
	}
	if err := s.allow("aerospike get " + set + "/" + key); err != nil {
		return nil, false, err
	}
	start := time.Now()
	rec, aerr := s.client.Get(s.read, k)
	s.m.latency.WithLabelValues("get").Observe(time.Since(start).Seconds())
	if aerr != nil {
		if aerr.Matches(types.KEY_NOT_FOUND_ERROR) {
			s.br.success()
			return nil, false, nil
		}
		return nil, false, s.readFailed(fmt.Sprintf("%s %s/%s", n.name, set, key), aerr)
	}
	s.br.success()
	b, err := fromAerospike(rec.Bins)
	if err != nil {
		return nil, false, fmt.Errorf("aerospike: record %s %s/%s: %w", n.name, set, key, err)
	}
	return b, true, nil
}

// GetMany reads records of one set with batch reads of at most BatchSize keys; an
// absent record is a nil element.
func (s *Sink) GetMany(ctx context.Context, ns, set string, keys []string) ([]records.Bins, error) {
	n, err := s.namespace(ns)
	if err != nil {
		return nil, err
	}
	out := make([]records.Bins, len(keys))
	for lo := 0; lo < len(keys); lo += s.cfg.BatchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+s.cfg.BatchSize, len(keys))
		ks := make([]*as.Key, hi-lo)
		for i := range ks {
			var aerr as.Error
			if ks[i], aerr = as.NewKey(n.name, set, keys[lo+i]); aerr != nil {
				return nil, fmt.Errorf("aerospike: key %s/%q: %w", set, keys[lo+i], aerr)
			}
		}
		if err := s.allow("aerospike batch read " + set); err != nil {
			return nil, err
		}
		start := time.Now()
		recs, aerr := s.client.BatchGet(s.readBatch, ks)
		s.m.latency.WithLabelValues("read").Observe(time.Since(start).Seconds())
		if aerr != nil && !aerr.Matches(types.KEY_NOT_FOUND_ERROR) {
			return nil, s.readFailed(fmt.Sprintf("%s %s, %d keys from %q", n.name, set, len(ks), keys[lo]), aerr)
		}
		s.br.success()
		for i, r := range recs {
			if r == nil {
				continue
			}
			if out[lo+i], err = fromAerospike(r.Bins); err != nil {
				return nil, fmt.Errorf("aerospike: record %s %s/%s: %w", n.name, set, keys[lo+i], err)
			}
		}
	}
	return out, nil
}

// readFailed counts a failed read, feeds the breaker with a transient one, and names
// what was read.
func (s *Sink) readFailed(what string, err as.Error) error {
	code := codeOf(err)
	s.m.errors.WithLabelValues(code.String()).Inc()
	if retryable(code) {
		s.br.failure()
		return fmt.Errorf("aerospike read %s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("aerospike read %s: %w", what, err)
}

// fromAerospike turns a record's bins into records.Bins: the client answers integers as
// int, which the layout holds as int64.
func fromAerospike(m as.BinMap) (records.Bins, error) {
	b := make(records.Bins, len(m))
	for name, v := range m {
		switch x := v.(type) {
		case int:
			b[name] = int64(x)
		case int64:
			b[name] = x
		case string:
			b[name] = x
		case []byte:
			b[name] = x
		default:
			return nil, fmt.Errorf("bin %q holds %T; the layout holds int64, string or []byte: %w", name, v, records.ErrCorrupt)
		}
	}
	return b, nil
}
