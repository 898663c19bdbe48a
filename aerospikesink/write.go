package aerospikesink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/aerospike/aerospike-client-go/v7/types"

	"github.com/fantasy/leaderboard/records"
)

// Aerospike's limits that the sink checks before anything reaches the server.
const (
	MaxBinName = 15 // characters in a bin name
	MaxSetName = 63 // characters in a set name
)

// item is one record of a batch call: a write or a delete.
type item struct {
	key     *as.Key
	ops     []*as.Operation
	policy  *as.BatchWritePolicy
	del     bool
	set     string
	userKey string
	size    int // approximate bytes of the record's bins
	fence   records.Fence
}

func (it *item) batchRecord(s *Sink) as.BatchRecordIfc {
	if it.del {
		return as.NewBatchDelete(s.deletePol, it.key)
	}
	return as.NewBatchWrite(it.policy, it.key, it.ops...)
}

// checkSet reports a set name Aerospike would refuse.
func checkSet(set string) error {
	if set == "" || len(set) > MaxSetName || strings.ContainsAny(set, ":;\x00") {
		return fmt.Errorf("aerospike: set name %q: must be 1..%d characters without ':' or ';'", set, MaxSetName)
	}
	return nil
}

// writeItem prepares the write of r: its bins as put operations (plus the fence bins of
// a fenced record), the namespace's expiration, REPLACE semantics, the user key.
func (s *Sink) writeItem(it *item, n nsInfo, r *records.Record) error {
	if err := checkSet(r.Set); err != nil {
		return err
	}
	if r.Key == "" {
		return fmt.Errorf("aerospike: record of set %s has an empty key", r.Set)
	}
	key, aerr := as.NewKey(n.name, r.Set, r.Key)
	if aerr != nil {
		return fmt.Errorf("aerospike: key %s/%q: %w", r.Set, r.Key, aerr)
	}
	bins, err := r.BinMap() // a record built packed (records.Record.Packed) is unpacked once
	if err != nil {
		return fmt.Errorf("aerospike: %w", err)
	}
	ops := make([]*as.Operation, 0, len(bins)+7)
	size := 0
	if r.KeepPrev {
		// The stored version's bins move to their p_ names first, then the new bins are
		// put (records/versions.go); a bin the record does not have yet (a first write)
		// is skipped (EvalNoFail).
		ops = append(ops, prevOps(r.Set)...)
	}
	for name, v := range bins {
		if len(name) > MaxBinName {
			return fmt.Errorf("aerospike: record %s/%s: bin name %q has %d characters; Aerospike allows at most %d", r.Set, r.Key, name, len(name), MaxBinName)
		}
		if name == "" {
			return fmt.Errorf("aerospike: record %s/%s: empty bin name", r.Set, r.Key)
		}
		if !r.Fence.IsZero() && (name == records.FenceEpochBin || name == records.FenceCycleBin) {
			return fmt.Errorf("aerospike: record %s/%s: bin %q is reserved for the write's fence", r.Set, r.Key, name)
		}
		var val as.Value
		switch x := v.(type) {
		case int64:
			val, size = as.NewLongValue(x), size+len(name)+9
		case string:
			val, size = as.NewStringValue(x), size+len(name)+len(x)+5
		case []byte:
			val, size = as.NewBytesValue(x), size+len(name)+len(x)+5
		default:
			return fmt.Errorf("aerospike: record %s/%s: bin %q holds %T; bins hold int64, string or []byte", r.Set, r.Key, name, v)
		}
		ops = append(ops, as.PutOp(&as.Bin{Name: name, Value: val}))
	}
	if !r.Fence.IsZero() {
		ops = append(ops,
			as.PutOp(&as.Bin{Name: records.FenceEpochBin, Value: as.NewLongValue(r.Fence.Epoch)}),
			as.PutOp(&as.Bin{Name: records.FenceCycleBin, Value: as.NewLongValue(r.Fence.Cycle)}))
		size += 2 * (len(records.FenceEpochBin) + 9)
	}
	*it = item{key: key, ops: ops, policy: s.writePolicy(n, r.Fence, r.KeepPrev), set: r.Set, userKey: r.Key, size: size, fence: r.Fence}
	return nil
}

// prevOps copies a versioned set's bins to their previous-version names, server side.
func prevOps(set string) []*as.Operation {
	bins := records.PrevBins(set)
	ops := make([]*as.Operation, len(bins))
	for i, b := range bins {
		read := as.ExpBlobBin(b)
		if records.PrevIsInt(b) {
			read = as.ExpIntBin(b)
		}
		ops[i] = as.ExpWriteOp(records.PrevName(b), read, as.ExpWriteFlagEvalNoFail)
	}
	return ops
}

type policyKey struct {
	ns       string
	fence    records.Fence
	keepPrev bool
}

// writePolicy is the batch write policy of a namespace and fence, shared by every record
// that carries them. A versioned write (keepPrev) UPDATEs: its expression operations
// read the stored bins, which REPLACE does not allow; it writes the same bins every time,
// so the record's bins are still exactly the new ones plus the previous version.
func (s *Sink) writePolicy(n nsInfo, f records.Fence, keepPrev bool) *as.BatchWritePolicy {
	k := policyKey{n.name, f, keepPrev}
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	if p, ok := s.policies[k]; ok {
		return p
	}
	p := as.NewBatchWritePolicy()
	p.RecordExistsAction = as.REPLACE
	if keepPrev {
		p.RecordExistsAction = as.UPDATE
	}
	p.SendKey = true
	p.Expiration = n.ttl
	if !f.IsZero() {
		p.FilterExpression = FenceExpression(f)
	}
	if len(s.policies) > 64 { // fences move on every cycle: keep the cache small
		clear(s.policies)
	}
	s.policies[k] = p
	return p
}

// outcome is what one batch (all its tries) came to.
type outcome struct {
	written     map[string]int // by set
	fenced      *records.FencedError
	rejected    error // a record the server refused for good (too big, bad parameter)
	unavailable error // a transient failure that outlived the retries
}

// run splits items into batches of BatchSize and runs them, up to Concurrency batches at
// once across every call of the sink (s.slots): callers running at once share them.
func (s *Sink) run(ctx context.Context, ns, op string, items []item) error {
	if err := s.allow(fmt.Sprintf("aerospike %s of %d records to %s", op, len(items), ns)); err != nil {
		return err
	}
	nb := (len(items) + s.cfg.BatchSize - 1) / s.cfg.BatchSize
	outs := make([]outcome, nb)
	var wg sync.WaitGroup
	for b := range nb {
		lo, hi := b*s.cfg.BatchSize, min((b+1)*s.cfg.BatchSize, len(items))
		s.slots <- struct{}{}
		wg.Go(func() {
			defer func() { s.inflight.Add(-1); <-s.slots }()
			for n, p := s.inflight.Add(1), s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
			}
			outs[b] = s.batch(ctx, ns, op, items[lo:hi])
		})
	}
	wg.Wait()
	var fenced *records.FencedError
	var errs []error
	var unavailable error
	for _, o := range outs {
		for set, c := range o.written {
			s.m.written.WithLabelValues(ns, set).Add(float64(c))
		}
		if o.fenced != nil {
			if fenced == nil {
				fenced = o.fenced
			} else {
				fenced.Count += o.fenced.Count
			}
		}
		if o.rejected != nil {
			errs = append(errs, o.rejected)
		}
		if o.unavailable != nil && unavailable == nil {
			unavailable = o.unavailable
		}
	}
	if unavailable != nil {
		errs = append([]error{unavailable}, errs...)
	}
	if fenced != nil {
		errs = append(errs, fenced)
	}
	if err := ctx.Err(); err != nil && len(errs) > 0 {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// batch writes or deletes one batch, retrying the records that failed on a transient
// result code with exponential backoff.
func (s *Sink) batch(ctx context.Context, ns, op string, items []item) (o outcome) {
	pending := make([]int, len(items))
	for i := range pending {
		pending[i] = i
	}
	brs := make([]as.BatchRecordIfc, 0, len(items))
	for try := 0; ; try++ {
		if try > 0 {
			if err := sleep(ctx, s.cfg.RetryBackoff<<(try-1)); err != nil {
				o.unavailable = fmt.Errorf("aerospike %s to %s: %w: %d records not written: %w", op, ns, ErrUnavailable, len(pending), err)
				return o
			}
			if s.br.current() == breakerOpen { // other batches found the server gone
				o.unavailable = fmt.Errorf("aerospike %s to %s: %w: the circuit breaker opened; %d records not written", op, ns, ErrUnavailable, len(pending))
				return o
			}
		}
		brs = brs[:0]
		for _, i := range pending {
			brs = append(brs, items[i].batchRecord(s))
		}
		start := time.Now()
		aerr := s.client.BatchOperate(s.writeBatch, brs)
		s.m.latency.WithLabelValues(op).Observe(time.Since(start).Seconds())
		batchCode := types.OK
		if aerr != nil {
			batchCode = codeOf(aerr)
			s.m.errors.WithLabelValues(batchCode.String()).Inc()
		}
		var retry []int
		var firstRetry as.Error
		for j, br := range brs {
			it := &items[pending[j]]
			r := br.BatchRec()
			code := r.ResultCode
			if code == types.NO_RESPONSE && aerr != nil {
				code = batchCode
			}
			switch {
			case code == types.OK || (it.del && code == types.KEY_NOT_FOUND_ERROR):
				if o.written == nil {
					o.written = map[string]int{}
				}
				o.written[it.set]++
			case code == types.FILTERED_OUT:
				s.m.errors.WithLabelValues(code.String()).Inc()
				if o.fenced == nil {
					o.fenced = &records.FencedError{Namespace: ns, Set: it.set, Key: it.userKey, Fence: it.fence}
				}
				o.fenced.Count++
			case retryable(code):
				if aerr == nil || r.ResultCode != types.NO_RESPONSE {
					s.m.errors.WithLabelValues(code.String()).Inc()
				}
				retry = append(retry, pending[j])
				if firstRetry == nil {
					firstRetry = r.Err
					if firstRetry == nil {
						firstRetry = aerr
					}
				}
			default:
				if aerr == nil || r.ResultCode != types.NO_RESPONSE {
					s.m.errors.WithLabelValues(code.String()).Inc()
				}
				if o.rejected == nil {
					o.rejected = rejectedError(ns, op, it, code, r.Err, aerr)
				}
			}
		}
		if len(retry) == 0 {
			s.br.success()
			return o
		}
		if try == s.cfg.Retries {
			s.br.failure()
			it := &items[retry[0]]
			o.unavailable = fmt.Errorf("aerospike %s to %s: %w: %d records not written after %d tries, first %s/%s: %v",
				op, ns, ErrUnavailable, len(retry), try+1, it.set, it.userKey, firstRetry)
			return o
		}
		pending = retry
	}
}

// rejectedError names a record the server refused for good, with its size.
func rejectedError(ns, op string, it *item, code types.ResultCode, recErr, batchErr as.Error) error {
	detail := recErr
	if detail == nil {
		detail = batchErr
	}
	hint := ""
	switch code {
	case types.RECORD_TOO_BIG:
		hint = " (raise the namespace's max-record-size, or the records need splitting: see docs/STORAGE.md)"
	case types.BIN_NAME_TOO_LONG:
		hint = fmt.Sprintf(" (bin names are at most %d characters)", MaxBinName)
	}
	if detail != nil {
		return fmt.Errorf("aerospike %s to %s refused record %s/%s (~%d bytes of bins): %v%s: %w", op, ns, it.set, it.userKey, it.size, code, hint, detail)
	}
	return fmt.Errorf("aerospike %s to %s refused record %s/%s (~%d bytes of bins): %v%s", op, ns, it.set, it.userKey, it.size, code, hint)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
