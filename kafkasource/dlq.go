package kafkasource

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
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

// A record already dead-lettered by an earlier run (one this run replays) is counted (as
// a rejection, leaderboard_source_events_rejected_total) and logged again, but not sent
// again: it is returned as nil, which sendDead skips, so it is not counted in
// leaderboard_source_dead_letters_written_total.
func (s *Source) newDeadLetter(topic string, partition int32, offset int64, key, value []byte, headers []kgo.RecordHeader, rerr *RejectError) *kgo.Record {
	s.metrics.rejected.WithLabelValues(topic, rerr.Code).Inc()
	s.limit.log(s, topic, partition, offset, rerr)
	if s.dlq.sent(s, deadKey{topic, partition, offset}) {
		s.log.Debug("rejected record already in the DLQ: not sent again", "topic", topic, "partition", partition, "offset", offset, "dlq", s.cfg.DLQTopic)
		return nil
	}
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
	// A record that failed once keeps its context inside the client: send copies. Nil
	// records were sent by an earlier run.
	fresh := make([]*kgo.Record, 0, len(recs))
	for _, r := range recs {
		if r != nil {
			fresh = append(fresh, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers})
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := s.cl.ProduceSync(dctx, fresh...).FirstErr(); err != nil {
		s.metrics.dlqErrs.Inc()
		return fmt.Errorf("cannot write %d rejected records to %s: %w", len(fresh), s.cfg.DLQTopic, err)
	}
	for _, r := range fresh {
		if k, ok := deadKeyOf(r); ok {
			s.dlq.add(k)
		}
		s.metrics.written.WithLabelValues(headerValue(r, HeaderSourceTopic), headerValue(r, HeaderReasonCode)).Inc()
	}
	return nil
}

// headerValue returns the value of a dead letter's first header named key ("" if none).
func headerValue(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
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

// deadKey is where a rejected record came from: what makes a dead letter unique.
type deadKey struct {
	topic     string
	partition int32
	offset    int64
}

// deadKeyOf reads a dead letter's source headers.
func deadKeyOf(r *kgo.Record) (deadKey, bool) {
	var k deadKey
	var havePart, haveOff bool
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderSourceTopic:
			if k.topic == "" {
				k.topic = string(h.Value)
			}
		case HeaderSourcePartition:
			if p, err := strconv.ParseInt(string(h.Value), 10, 32); err == nil && !havePart {
				k.partition, havePart = int32(p), true
			}
		case HeaderSourceOffset:
			if o, err := strconv.ParseInt(string(h.Value), 10, 64); err == nil && !haveOff {
				k.offset, haveOff = o, true
			}
		}
		if k.topic != "" && havePart && haveOff {
			return k, true
		}
	}
	return k, false
}

// dlqIndex remembers which records are in the DLQ already, so that a replay (every
// restart reads the points and matches topics, and entries partitions, from earlier
// offsets) does not dead-letter a bad record twice. At the first rejection of a run it
// reads back the last Config.DLQScan records of every DLQ partition; after that it adds
// every dead letter this run sends. It is an exact set, not a high-water mark, so the
// order in which dead letters reached the DLQ does not matter: a record is skipped only
// if its own dead letter was read back. A dead letter older than the scanned tail is
// sent again (a duplicate, never a loss).
type dlqIndex struct {
	mu     sync.Mutex
	loaded bool
	keys   map[deadKey]struct{}
}

// dlqScanTimeout bounds the read-back of the DLQ's tail.
const dlqScanTimeout = 30 * time.Second

// sent reports whether k's dead letter is in the DLQ, reading the DLQ's tail first if
// this run has not yet done so. If the read fails, it says no (the record is sent again)
// and tries again at the next rejection.
func (d *dlqIndex) sent(s *Source, k deadKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.loaded {
		keys, err := scanDLQ(s)
		if err != nil {
			s.log.Warn("cannot read back the DLQ: rejected records replayed now may be dead-lettered twice", "dlq", s.cfg.DLQTopic, "err", err)
		} else {
			d.loaded = true
			if d.keys == nil {
				d.keys = keys
			} else {
				for k := range keys {
					d.keys[k] = struct{}{}
				}
			}
		}
	}
	_, ok := d.keys[k]
	return ok
}

func (d *dlqIndex) add(k deadKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.keys == nil {
		d.keys = make(map[deadKey]struct{})
	}
	d.keys[k] = struct{}{}
}

// scanDLQ reads the last cfg.DLQScan records of every partition of the DLQ topic and
// returns the sources of the dead letters among them.
func scanDLQ(s *Source) (map[deadKey]struct{}, error) {
	keys := make(map[deadKey]struct{})
	if s.cfg.DLQScan == 0 {
		return keys, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), dlqScanTimeout)
	defer cancel()
	topic := s.cfg.DLQTopic
	adm := kadm.NewClient(s.cl)
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list end offsets of %s: %w", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list start offsets of %s: %w", topic, err)
	}
	from := make(map[int32]kgo.Offset)
	last := make(map[int32]int64) // partition → offset of its last record
	ends.Each(func(o kadm.ListedOffset) {
		start := int64(0)
		if so, ok := starts.Lookup(topic, o.Partition); ok {
			start = so.Offset
		}
		begin := max(start, o.Offset-int64(s.cfg.DLQScan))
		if begin < o.Offset {
			from[o.Partition] = kgo.NewOffset().At(begin)
			last[o.Partition] = o.Offset - 1
		}
	})
	if len(from) == 0 {
		return keys, nil
	}
	cl, err := newClient(s.cfg.Brokers, s.cfg, s.log,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.DisableFetchSessions()) // as the Source: Close races when it kills a session
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	read := 0
	for len(last) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %d records of %s, %d partitions unfinished: %w", read, topic, len(last), err)
		}
		fs.EachError(func(t string, p int32, ferr error) { err = fmt.Errorf("cannot read %s/%d: %w", t, p, ferr) })
		if err != nil {
			return nil, err
		}
		fs.EachPartition(func(fp kgo.FetchTopicPartition) {
			for _, r := range fp.Records {
				read++
				if k, ok := deadKeyOf(r); ok {
					keys[k] = struct{}{}
				}
			}
			if l, ok := last[fp.Partition]; ok && lastFetched(fp) >= l {
				delete(last, fp.Partition)
			}
		})
	}
	s.log.Info("read back the DLQ's tail", "dlq", topic, "records", read, "dead_letters", len(keys))
	return keys, nil
}

// lastFetched is the offset of fp's last record, or -1.
func lastFetched(fp kgo.FetchTopicPartition) int64 {
	if n := len(fp.Records); n > 0 {
		return fp.Records[n-1].Offset
	}
	return -1
}
