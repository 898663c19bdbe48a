package kafkasource

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Offsets with a special meaning for AssignEntries, as in Kafka's ListOffsets.
const (
	// OffsetStart starts a partition at its first retained record.
	OffsetStart int64 = -2
	// OffsetEnd starts a partition after its last record: only new records are read.
	OffsetEnd int64 = -1
)

// ErrClosed is returned by Poll once the Source is closed.
var ErrClosed = errors.New("kafkasource: source is closed")

// Config names the brokers and topics. Defaults live in RegisterFlags (DefaultConfig
// returns them).
type Config struct {
	Brokers      []string // bootstrap brokers, host:port
	EntriesTopic string
	PointsTopic  string
	MatchesTopic string
	DLQTopic     string
	LineupSize   int // players per lineup (the sport's); entries of another size are rejected
	ClientID     string
	// DLQScan is how many records, at most, of each DLQ partition a Source reads back at
	// its first rejection, so that replayed bad records are not dead-lettered twice (dlq.go).
	DLQScan int
	// Security is TLS and SASL for every client built from this config (security.go).
	Security Security
	// SharedRejectsElsewhere (not a flag: a cluster worker sets it) leaves the points and
	// matches records that fail to decode to another process to dead-letter: every worker
	// of a cluster reads those whole topics, and the coordinator's source dead-letters
	// them, once. They are skipped here.
	SharedRejectsElsewhere bool
}

// RegisterFlags registers the config's flags, each name prefixed with prefix, and sets
// the defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix string) {
	c.Brokers = []string{"127.0.0.1:9092"}
	fs.Var((*brokerList)(&c.Brokers), prefix+"kafka", "comma-separated Kafka bootstrap brokers (host:port)")
	fs.StringVar(&c.EntriesTopic, prefix+"entries-topic", "lb.entries", "Kafka topic of entry events (key: contest_id)")
	fs.StringVar(&c.PointsTopic, prefix+"points-topic", "lb.points", "Kafka topic of player points totals (key: match_id)")
	fs.StringVar(&c.MatchesTopic, prefix+"matches-topic", "lb.matches", "Kafka topic of match lifecycle events (key: match_id)")
	fs.StringVar(&c.DLQTopic, prefix+"dlq-topic", "lb.dlq", "Kafka topic that receives rejected events")
	fs.IntVar(&c.LineupSize, prefix+"lineup-size", 11, "players per lineup (11 for cricket)")
	fs.StringVar(&c.ClientID, prefix+"kafka-client-id", "leaderboard", "Kafka client id")
	fs.IntVar(&c.DLQScan, prefix+"dlq-scan", 100000, "records of each DLQ partition read back at the first rejection, so that a replay does not dead-letter a record twice (0: none)")
	c.Security.registerFlags(fs, prefix)
}

// DefaultConfig returns the flag defaults.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("defaults", flag.ContinueOnError), "")
	return c
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("no Kafka brokers given")
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			return fmt.Errorf("kafka broker %q is not host:port", b)
		}
	}
	topics := map[string]string{}
	for _, t := range []struct{ flag, name string }{
		{"entries-topic", c.EntriesTopic}, {"points-topic", c.PointsTopic},
		{"matches-topic", c.MatchesTopic}, {"dlq-topic", c.DLQTopic},
	} {
		if err := validTopic(t.name); err != nil {
			return fmt.Errorf("%s: %w", t.flag, err)
		}
		if other, dup := topics[t.name]; dup {
			return fmt.Errorf("%s and %s are both %q", other, t.flag, t.name)
		}
		topics[t.name] = t.flag
	}
	if c.LineupSize < 2 || c.LineupSize > MaxLineupSize {
		return fmt.Errorf("lineup size %d is not within 2..%d", c.LineupSize, MaxLineupSize)
	}
	if c.DLQScan < 0 {
		return fmt.Errorf("dlq-scan %d: want ≥ 0", c.DLQScan)
	}
	return c.Security.validate()
}

func validTopic(t string) error {
	if t == "" || len(t) > 249 || t == "." || t == ".." {
		return fmt.Errorf("topic name %q is empty, too long or reserved", t)
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic name %q has %q; Kafka allows only letters, digits, '.', '_' and '-'", t, r)
		}
	}
	return nil
}

// brokerList is a comma-separated flag value.
type brokerList []string

func (l *brokerList) String() string { return strings.Join(*l, ",") }

func (l *brokerList) Set(s string) error {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return errors.New("no brokers in the list")
	}
	*l = out
	return nil
}

// Batch is what one Poll read: the valid events, in partition order, and for every
// partition the batch touched the next offset to read after it. Rejected records are
// already in the DLQ (and counted in Next).
type Batch struct {
	Entries []EntryRecord
	Points  []PointsEvent
	Matches []MatchEvent
	// PointsAt and MatchesAt say where each of Points and Matches came from (same
	// index), so a consumer can hold points back past a snapshot and dead-letter an
	// event its state refuses.
	PointsAt, MatchesAt []Position
	// Next is topic → partition → offset of the next record after this batch.
	Next map[string]map[int32]int64
	// Rejected counts this batch's records sent to the DLQ.
	Rejected int
}

// EntryRecord is an accepted entry event and where it came from. Key and Value alias the
// fetched record; they are kept for Source.Reject (an entry the worker refuses later).
type EntryRecord struct {
	Event      EntryEvent
	Partition  int32
	Offset     int64
	Time       int64 // the record's Kafka timestamp, ms since the Unix epoch
	Key, Value []byte
}

// Position is where a record came from, with its raw key and value (aliasing the
// fetched record).
type Position struct {
	Partition  int32
	Offset     int64
	Key, Value []byte
}

// Source reads the three input topics: the entries partitions it is assigned (direct
// assignment, no consumer group: offsets are the caller's to keep), and every partition
// of the points and matches topics from the beginning. Poll may not be called
// concurrently with itself; the other methods may be called at any time.
type Source struct {
	cfg     Config
	log     *slog.Logger
	cl      *kgo.Client
	metrics *metrics
	limit   logLimiter
	dlq     dlqIndex // dead letters already in the DLQ (dlq.go)

	dlqTimeout time.Duration

	mu       sync.Mutex
	assigned map[int32]bool // entries partitions

	pollMu  sync.Mutex
	pending *pendingBatch // a batch whose dead letters were not acknowledged yet
	slab    []int32       // lineup arena for decodeEntry
}

type pendingBatch struct {
	batch Batch
	dead  []*kgo.Record
}

// New connects a Source. It starts reading the points and matches topics at once; entries
// partitions are read once assigned.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cl, err := newClient(cfg.Brokers, cfg, logger,
		kgo.ConsumeTopics(cfg.PointsTopic, cfg.MatchesTopic),
		// No entries partition yet, but the entries topic's metadata is loaded from the
		// start: a partition assigned before it is known would list its offsets on the
		// wrong connection, fail and retry a second later.
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{cfg.EntriesTopic: {}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// A newly assigned partition joins the next fetch request; the broker holds a
		// request open up to this long when there is nothing new (default 5 s).
		kgo.FetchMaxWait(500*time.Millisecond),
		// No incremental fetch sessions (KIP-227): with a few dozen partitions a full
		// fetch request costs nothing, and franz-go v1.22.3's Close races with itself
		// when it kills a session (Close starts a fetch loop that reads the session
		// killSessionOnClose writes; seen by -race in our restart tests).
		kgo.DisableFetchSessions(),
		// Dead letters are rare and Poll waits for them: send at once.
		kgo.ProducerLinger(0),
	)
	if err != nil {
		return nil, err
	}
	return &Source{
		cfg:      cfg,
		log:      logger,
		cl:       cl,
		metrics:  newMetrics(reg, cfg),
		assigned: make(map[int32]bool),

		dlqTimeout: dlqTimeout,
	}, nil
}

// Config returns the source's configuration.
func (s *Source) Config() Config { return s.cfg }

// AssignEntries starts reading entries partitions, each at the offset given: the next
// offset to read (a Batch.Next value saved earlier), OffsetStart or OffsetEnd. A
// partition already assigned is an error: revoke it first to move its offset.
func (s *Source) AssignEntries(start map[int32]int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	offsets := make(map[int32]kgo.Offset, len(start))
	for p, o := range start {
		switch {
		case p < 0:
			return fmt.Errorf("cannot assign %s partition %d: negative partition", s.cfg.EntriesTopic, p)
		case s.assigned[p]:
			return fmt.Errorf("cannot assign %s partition %d: already assigned", s.cfg.EntriesTopic, p)
		case o == OffsetStart:
			offsets[p] = kgo.NewOffset().AtStart()
		case o == OffsetEnd:
			offsets[p] = kgo.NewOffset().AtEnd()
		case o >= 0:
			offsets[p] = kgo.NewOffset().At(o)
		default:
			return fmt.Errorf("cannot assign %s partition %d at offset %d: want ≥ 0, OffsetStart or OffsetEnd", s.cfg.EntriesTopic, p, o)
		}
	}
	if len(offsets) == 0 {
		return nil
	}
	s.cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{s.cfg.EntriesTopic: offsets})
	for p := range offsets {
		s.assigned[p] = true
	}
	s.log.Info("entries partitions assigned", "topic", s.cfg.EntriesTopic, "start", start)
	return nil
}

// RevokeEntries stops reading entries partitions; records of them not yet returned by
// Poll are dropped. Revoking a partition that is not assigned does nothing.
func (s *Source) RevokeEntries(partitions []int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var drop []int32
	for _, p := range partitions {
		if s.assigned[p] {
			drop = append(drop, p)
			delete(s.assigned, p)
		}
	}
	if len(drop) == 0 {
		return
	}
	s.cl.RemoveConsumePartitions(map[string][]int32{s.cfg.EntriesTopic: drop})
	s.log.Info("entries partitions revoked", "topic", s.cfg.EntriesTopic, "partitions", drop)
}

// AssignedEntries returns the assigned entries partitions, ascending.
func (s *Source) AssignedEntries() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.assigned))
}

func (s *Source) isAssigned(p int32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.assigned[p]
}

// Poll waits until records arrive or ctx ends, and returns them decoded and validated.
// Every rejected record is written to the DLQ and acknowledged by the broker before Poll
// returns, so offsets saved from Batch.Next never skip a record that is neither in a
// batch nor in the DLQ. If the DLQ write fails, Poll returns the error and the next Poll
// retries it before returning the same batch. When ctx ends before any record arrives,
// Poll returns ctx.Err(); after Close it returns ErrClosed.
func (s *Source) Poll(ctx context.Context) (Batch, error) {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	if p := s.pending; p != nil {
		if err := s.sendDead(ctx, p.dead); err != nil {
			return Batch{}, err
		}
		s.pending = nil
		return s.deliver(s.dropRevoked(p.batch)), nil
	}

	fetches := s.cl.PollFetches(ctx)
	if fetches.IsClientClosed() {
		return Batch{}, ErrClosed
	}
	var ctxErr error
	fetches.EachError(func(topic string, p int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			ctxErr = err
			return
		}
		// The client retries these itself; the operator should know.
		s.log.Warn("kafka fetch error", "topic", topic, "partition", p, "err", err)
	})

	b := Batch{Next: make(map[string]map[int32]int64, 3)}
	var dead, elsewhere []*kgo.Record
	shared := &dead
	if s.cfg.SharedRejectsElsewhere {
		shared = &elsewhere
	}
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) == 0 {
			return
		}
		switch fp.Topic {
		case s.cfg.EntriesTopic:
			if !s.isAssigned(fp.Partition) {
				return // revoked while fetched
			}
			if b.Entries == nil {
				b.Entries = make([]EntryRecord, 0, fetches.NumRecords())
			}
			for _, r := range fp.Records {
				// Each event is read straight into the batch's next record (its room
				// was made for every record fetched): no copy of the event.
				n := len(b.Entries)
				if n == cap(b.Entries) {
					b.Entries = append(b.Entries, EntryRecord{})
				}
				b.Entries = b.Entries[:n+1]
				rec := &b.Entries[n]
				rerr := decodeEntryInto(&rec.Event, r.Value, s.cfg.LineupSize, &s.slab)
				if rerr == nil {
					rerr = checkKey(r.Key, "contest_id", rec.Event.ContestID)
				}
				if rerr != nil {
					*rec = EntryRecord{}
					b.Entries = b.Entries[:n]
					dead = append(dead, s.deadLetter(r, rerr))
					continue
				}
				rec.Partition, rec.Offset, rec.Time, rec.Key, rec.Value = r.Partition, r.Offset, r.Timestamp.UnixMilli(), r.Key, r.Value
			}
		case s.cfg.PointsTopic:
			b.Points = decodeKeyed(s, fp.Records, decodePoints, func(e PointsEvent) int64 { return e.MatchID }, b.Points, &b.PointsAt, shared)
		case s.cfg.MatchesTopic:
			b.Matches = decodeKeyed(s, fp.Records, decodeMatch, func(e MatchEvent) int64 { return e.MatchID }, b.Matches, &b.MatchesAt, shared)
		default:
			panic(fmt.Sprintf("BUG: fetched %d records of topic %q, which the source does not consume", len(fp.Records), fp.Topic))
		}
		next := b.Next[fp.Topic]
		if next == nil {
			next = make(map[int32]int64)
			b.Next[fp.Topic] = next
		}
		next[fp.Partition] = fp.Records[len(fp.Records)-1].Offset + 1
	})
	b.Rejected = len(dead)

	if len(dead) > 0 {
		if err := s.sendDead(ctx, dead); err != nil {
			s.pending = &pendingBatch{batch: b, dead: dead}
			return Batch{}, err
		}
	}
	if len(b.Next) == 0 && ctxErr != nil {
		return Batch{}, ctxErr
	}
	return s.deliver(b), nil
}

// deliver counts a batch's accepted events.
func (s *Source) deliver(b Batch) Batch {
	s.metrics.accepted(s.cfg.EntriesTopic, len(b.Entries))
	s.metrics.accepted(s.cfg.PointsTopic, len(b.Points))
	s.metrics.accepted(s.cfg.MatchesTopic, len(b.Matches))
	return b
}

// dropRevoked removes entries of partitions revoked since the batch was read.
func (s *Source) dropRevoked(b Batch) Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	b.Entries = slices.DeleteFunc(b.Entries, func(r EntryRecord) bool { return !s.assigned[r.Partition] })
	for p := range b.Next[s.cfg.EntriesTopic] {
		if !s.assigned[p] {
			delete(b.Next[s.cfg.EntriesTopic], p)
		}
	}
	return b
}

// checkKey checks a record key against the id it must carry, as a decimal string.
// decodeKeyed decodes records keyed by match_id (points, lifecycle) and appends them to
// out; a record that does not decode, or whose key is not its match_id, is dead-lettered.
func decodeKeyed[E any](s *Source, recs []*kgo.Record, decode func([]byte) (E, *RejectError), matchID func(E) int64, out []E, at *[]Position, dead *[]*kgo.Record) []E {
	for _, r := range recs {
		e, rerr := decode(r.Value)
		if rerr == nil {
			rerr = checkKey(r.Key, "match_id", matchID(e))
		}
		if rerr != nil {
			*dead = append(*dead, s.deadLetter(r, rerr))
			continue
		}
		out = append(out, e)
		*at = append(*at, Position{Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value})
	}
	return out
}

func checkKey(key []byte, field string, id int64) *RejectError {
	if keyIs(key, id) {
		return nil
	}
	if key == nil {
		return reject(ReasonKeyMismatch, "record has no key; the key must be the decimal %s %d", field, id)
	}
	return reject(ReasonKeyMismatch, "record key %q does not match %s %d; the key must be the decimal %s", clip(key), field, id, field)
}

// keyIs reports whether key is the decimal of id as strconv writes it. Keys of 1 to 18
// bytes (every id below 10^18) are read as digits, without formatting id (a
// strconv.AppendInt per record was ~5% of a replay's decoding); longer ones, and ids
// of 0 or below, are compared with id formatted.
func keyIs(key []byte, id int64) bool {
	if n := len(key); n > 0 && n <= 18 && id > 0 {
		if key[0] == '0' {
			return false
		}
		var v int64
		for _, c := range key {
			if c-'0' > 9 {
				return false
			}
			v = v*10 + int64(c-'0')
		}
		return v == id
	}
	var buf [20]byte
	return string(key) == string(strconv.AppendInt(buf[:0], id, 10))
}

// EndOffsets returns, for every partition of topic, the offset after its last record.
// Its length is the topic's partition count.
func (s *Source) EndOffsets(ctx context.Context, topic string) (map[int32]int64, error) {
	listed, err := kadm.NewClient(s.cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("cannot list end offsets of %s: %w", topic, err)
	}
	if err := listed.Error(); err != nil {
		return nil, fmt.Errorf("cannot list end offsets of %s: %w", topic, err)
	}
	out := make(map[int32]int64)
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	if len(out) == 0 {
		return nil, fmt.Errorf("topic %s has no partitions (does it exist?)", topic)
	}
	return out, nil
}

// Close stops fetching and closes the connections.
func (s *Source) Close() { s.cl.Close() }

// EnsureTopics creates the four topics of cfg if they are missing: the entries topic
// with entriesPartitions partitions, the others with one; replication is the broker's
// default. An existing topic is left as it is. It returns once every topic answers
// (WaitTopics), at most 30 s after creating them.
func EnsureTopics(ctx context.Context, brokers []string, cfg Config, entriesPartitions int) error {
	if entriesPartitions < 1 {
		return fmt.Errorf("entries partitions %d: want at least 1", entriesPartitions)
	}
	cl, err := newClient(brokers, cfg, nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, t := range []struct {
		partitions int32
		names      []string
	}{
		{int32(entriesPartitions), []string{cfg.EntriesTopic}},
		{1, []string{cfg.PointsTopic, cfg.MatchesTopic, cfg.DLQTopic}},
	} {
		resp, err := adm.CreateTopics(ctx, t.partitions, -1, nil, t.names...)
		if err != nil {
			return fmt.Errorf("cannot create topics %v: %w", t.names, err)
		}
		for _, r := range resp.Sorted() {
			if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
				return fmt.Errorf("cannot create topic %s: %w %s", r.Topic, r.Err, r.ErrMessage)
			}
		}
	}
	// A real cluster acknowledges CreateTopics before every broker serves the topics.
	return waitTopics(ctx, brokers, cfg)
}

// Partitions returns the partitions of cfg's entries topic, ascending: the partitions a
// deployment's workers divide among themselves.
func Partitions(ctx context.Context, cfg Config) ([]int32, error) {
	cl, err := newClient(cfg.Brokers, cfg, nil)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(ctx, cfg.EntriesTopic)
	if err != nil {
		return nil, fmt.Errorf("cannot describe topic %s: %w", cfg.EntriesTopic, err)
	}
	d, ok := details[cfg.EntriesTopic]
	switch {
	case !ok:
		return nil, fmt.Errorf("topic %s not found", cfg.EntriesTopic)
	case d.Err != nil:
		return nil, fmt.Errorf("cannot describe topic %s: %w", cfg.EntriesTopic, d.Err)
	case len(d.Partitions) == 0:
		return nil, fmt.Errorf("topic %s has no partitions", cfg.EntriesTopic)
	}
	return slices.Sorted(maps.Keys(d.Partitions)), nil
}

// metrics are the source's Prometheus series.
type metrics struct {
	events   *prometheus.CounterVec
	rejected *prometheus.CounterVec
	written  *prometheus.CounterVec
	dlqErrs  prometheus.Counter
	byTopic  map[string]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, cfg Config) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		events: f.NewCounterVec(prometheus.CounterOpts{
			Name: "leaderboard_source_events_total",
			Help: "Events read from Kafka that passed validation, by topic.",
		}, []string{"topic"}),
		rejected: f.NewCounterVec(prometheus.CounterOpts{
			Name: "leaderboard_source_events_rejected_total",
			Help: "Events rejected, by source topic and reason code: a rejection replayed after a restart (its dead letter already in the DLQ) or retried counts again.",
		}, []string{"topic", "reason"}),
		written: f.NewCounterVec(prometheus.CounterOpts{
			Name: "leaderboard_source_dead_letters_written_total",
			Help: "Dead letters written to the DLQ and acknowledged, by source topic and reason code (each bad record once, across restarts).",
		}, []string{"topic", "reason"}),
		dlqErrs: f.NewCounter(prometheus.CounterOpts{
			Name: "leaderboard_source_dlq_write_errors_total",
			Help: "Failed attempts to write rejected events to the DLQ (each is retried).",
		}),
		byTopic: make(map[string]prometheus.Counter),
	}
	for _, t := range []string{cfg.EntriesTopic, cfg.PointsTopic, cfg.MatchesTopic} {
		m.byTopic[t] = m.events.WithLabelValues(t)
	}
	return m
}

func (m *metrics) accepted(topic string, n int) {
	if n > 0 {
		m.byTopic[topic].Add(float64(n))
	}
}

// newClient connects a franz-go client to brokers under cfg's client id, with opts;
// logger (nil: none) receives the client's warnings and errors.
func newClient(brokers []string, cfg Config, logger *slog.Logger, opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ClientID(cfg.ClientID)}
	sec, err := cfg.Security.clientOpts()
	if err != nil {
		return nil, err
	}
	base = append(base, sec...)
	if logger != nil {
		base = append(base, kgo.WithLogger(kgoLogger{logger}))
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("cannot create Kafka client for %v: %w", brokers, err)
	}
	return cl, nil
}

// kgoLogger sends the Kafka client's warnings and errors to slog.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel {
	if k.l.Enabled(context.Background(), slog.LevelDebug) {
		return kgo.LogLevelInfo
	}
	return kgo.LogLevelWarn
}

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var l slog.Level
	switch level {
	case kgo.LogLevelError:
		l = slog.LevelError
	case kgo.LogLevelWarn:
		l = slog.LevelWarn
	case kgo.LogLevelInfo:
		l = slog.LevelDebug // the client's info is chatty
	default:
		return
	}
	k.l.Log(context.Background(), l, "kafka client: "+msg, keyvals...)
}
