package kafkasource

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Headers of a DLQ record. The record keeps the rejected record's key, value and
// headers; these come first.
const (
	HeaderReason          = "reason"           // RejectError.Msg
	HeaderReasonCode      = "reason_code"      // RejectError.Code
	HeaderSourceTopic     = "source_topic"     // topic of the rejected record
	HeaderSourcePartition = "source_partition" // its partition, decimal
	HeaderSourceOffset    = "source_offset"    // its offset, decimal
)

// deadLetter builds the DLQ record of a rejected record, counts and logs the rejection.
func (s *Source) deadLetter(r *kgo.Record, rerr *RejectError) *kgo.Record {
	return s.newDeadLetter(r.Topic, r.Partition, r.Offset, r.Key, r.Value, r.Headers, rerr)
}

func (s *Source) newDeadLetter(topic string, partition int32, offset int64, key, value []byte, headers []kgo.RecordHeader, rerr *RejectError) *kgo.Record {
	s.metrics.rejected.WithLabelValues(topic, rerr.Code).Inc()
	s.limit.log(s, topic, partition, offset, rerr)
	hs := make([]kgo.RecordHeader, 0, 5+len(headers))
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(rerr.Msg)},
		kgo.RecordHeader{Key: HeaderReasonCode, Value: []byte(rerr.Code)},
		kgo.RecordHeader{Key: HeaderSourceTopic, Value: []byte(topic)},
		kgo.RecordHeader{Key: HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(partition), 10)},
		kgo.RecordHeader{Key: HeaderSourceOffset, Value: strconv.AppendInt(nil, offset, 10)},
	)
	hs = append(hs, headers...)
	return &kgo.Record{Topic: s.cfg.DLQTopic, Key: key, Value: value, Headers: hs}
}

// dlqTimeout bounds one attempt to write dead letters (Source.dlqTimeout).
const dlqTimeout = 30 * time.Second

// sendDead writes dead letters and waits until the broker acknowledges every one. The
// records were already fetched, so the attempt outlives the deadline of the caller's ctx
// (up to s.dlqTimeout); cancelling ctx (a shutdown) stops it.
func (s *Source) sendDead(ctx context.Context, recs []*kgo.Record) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.dlqTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) {
			cancel()
		}
	})
	defer stop()
	// A record that failed once keeps its context inside the client: send copies.
	fresh := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		fresh[i] = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers}
	}
	if err := s.cl.ProduceSync(dctx, fresh...).FirstErr(); err != nil {
		s.metrics.dlqErrs.Inc()
		return fmt.Errorf("cannot write %d rejected records to %s: %w", len(recs), s.cfg.DLQTopic, err)
	}
	return nil
}

// Reject sends a record the caller refuses after decoding (ReasonContestMove: an entry
// that moved between contests, which only the worker can see) to the DLQ, and waits for
// the broker's acknowledgement.
func (s *Source) Reject(ctx context.Context, topic string, partition int32, offset int64, key, value []byte, err *RejectError) error {
	if err == nil {
		panic(fmt.Sprintf("BUG: Reject of %s/%d@%d without a reason", topic, partition, offset))
	}
	return s.sendDead(ctx, []*kgo.Record{s.newDeadLetter(topic, partition, offset, key, value, nil, err)})
}

// logLimiter logs rejections at warning level, at most logBurst a second; the rest go to
// debug level and the next warning says how many were held back.
type logLimiter struct {
	mu         sync.Mutex
	second     int64
	n          int
	suppressed int
}

const logBurst = 10

func (l *logLimiter) log(s *Source, topic string, partition int32, offset int64, rerr *RejectError) {
	now := time.Now().Unix()
	l.mu.Lock()
	if now != l.second {
		l.second, l.n = now, 0
	}
	l.n++
	warn := l.n <= logBurst
	suppressed := 0
	if warn {
		suppressed, l.suppressed = l.suppressed, 0
	} else {
		l.suppressed++
	}
	l.mu.Unlock()
	args := []any{"topic", topic, "partition", partition, "offset", offset, "reason", rerr.Code, "msg", rerr.Msg, "dlq", s.cfg.DLQTopic}
	if !warn {
		s.log.Debug("event rejected", args...)
		return
	}
	if suppressed > 0 {
		args = append(args, "suppressed_since_last", suppressed)
	}
	s.log.Warn("event rejected", args...)
}
