package worker

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fantasy/leaderboard/kafkasource"
)

// BenchmarkReplay applies a match's entry events, in batches shaped as Poll returns them
// (replayBatches, made once before the clock starts), to a fresh worker per iteration (Apply only: no Kafka, no decoding, no cycle): the
// replay rate by wall and by CPU time (user+system of the process, steadier on a shared
// machine), and the Go heap the worker holds after the replay, per entry.
//
// LB_BENCH_ORDER=join replays a match day's stream (replayBatches);
// LB_BENCH_CONTEST_ENTRIES=28 cuts the contests to gen's mean size (splitContests), and
// LB_BENCH_TEAM_SHARE=1 gives every entry its own team (gen --teams-per-entry 1): the
// shape of bench/fullscale.sh's join-order run.
//
//	LB_BENCH_ENTRIES=1000000 go test -run '^$' -bench Replay -benchtime 1x ./worker
//	LB_BENCH_ENTRIES=1000000 LB_BENCH_ORDER=join go test -run '^$' -bench 'Replay$' -benchtime 3x ./worker
//	LB_BENCH_ENTRIES=1000000 LB_BENCH_ORDER=join LB_BENCH_CONTEST_ENTRIES=28 LB_BENCH_TEAM_SHARE=1 go test -run '^$' -bench 'Replay$' ./worker
func BenchmarkReplay(b *testing.B) {
	n := benchEntries(b)
	// Every iteration counts: the rates over all of them, the heap their mean (metrics
	// reported inside the loop would be the last iteration's alone, against ns/op's mean).
	// The batches are made once (Apply reads them, never changes them): the iterations
	// are mostly replay, so that a whole run's CPU moves with Apply's.
	b.StopTimer()
	batches, end := replayBatches(b, n)
	var wallAll, cpuAll time.Duration
	var heapAll float64
	for range b.N {
		b.StopTimer()
		before := heapInUse()
		w := replayWorker(b, end)
		ctx := context.Background()
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		for _, batch := range batches {
			if err := w.Apply(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		wall, cpu := time.Since(t0), cpuTime()-c0
		b.StopTimer()
		after := heapInUse()
		wallAll += wall
		cpuAll += cpu
		heapAll += float64(after) - float64(before)
		if got := w.matches[1].count; got != n {
			b.Fatalf("the worker holds %d entries, want %d", got, n)
		}
		runtime.KeepAlive(w)
	}
	events := float64(n) * float64(b.N)
	b.ReportMetric(events/wallAll.Seconds(), "replay_entries/s")
	b.ReportMetric(events/cpuAll.Seconds(), "replay_entries/cpu_s")
	b.ReportMetric(heapAll/float64(b.N), "heap_B")
	b.ReportMetric(heapAll/events, "heap_B/entry")
}

// replayBatches makes a match's n entry events (synth's) as Poll returns them, with
// offsets dense per partition as Kafka's (each partition is assigned with its end offset,
// so its entry table is sized at its first record), and returns the end offsets. A batch
// is what one poll of a replay fetches: a run of up to pollRun records of each partition
// in turn (the records of one partition come in a run, as Source.Poll hands them on;
// kgo fetches up to 1 MB, ~4.5k entry events, per partition). LB_BENCH_ORDER picks the
// log's order:
//   - "contest" (the default): each contest's entries together, as a bulk load writes them;
//   - "join": a match day's stream, as `gen --order join` writes it: the events in a
//     seeded random order (contests interleaved over the whole log), entry ids renumbered
//     so that they ascend in it.
func replayBatches(b *testing.B, n int) ([]kafkasource.Batch, map[int32]int64) {
	s := newSynth(n)
	recs := make([]kafkasource.EntryRecord, 0, n) // grown by append, its copies were most of the set-up
	for s.made < s.n {
		recs = append(recs, s.batch(10_000).Entries...)
	}
	splitContests(b, recs)
	switch order := os.Getenv("LB_BENCH_ORDER"); order {
	case "", "contest":
	case "join":
		rng := rand.New(rand.NewPCG(7, 11))
		rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
		for i := range recs {
			recs[i].Event.EntryID = int64(i + 1)
		}
	default:
		b.Fatalf("LB_BENCH_ORDER=%q: want contest or join", order)
	}
	return pollBatches(recs)
}

// splitContests cuts synth's contests (but the first, the mega contest) into contests of
// LB_BENCH_CONTEST_ENTRIES entries (unset: as synth makes them, ~90 entries a contest),
// each in the partition its id hashes to as synth's are. gen's match day has ~28 entries
// a contest (2M contests over 56M entries): 200k contests at 5.6M, ~12k per partition,
// whose contest tables no longer stay in cache as synth's ~650 per partition do.
func splitContests(b *testing.B, recs []kafkasource.EntryRecord) {
	v := os.Getenv("LB_BENCH_CONTEST_ENTRIES")
	if v == "" {
		return
	}
	size, err := strconv.Atoi(v)
	if err != nil || size < 1 {
		b.Fatalf("LB_BENCH_CONTEST_ENTRIES=%q: want a count >= 1", v)
	}
	var last int64
	k := 0 // the record's place in its contest
	for i := range recs {
		e := &recs[i].Event
		if e.ContestID != last {
			last, k = e.ContestID, 0
		}
		if e.ContestID != 1 {
			e.ContestID = e.ContestID<<16 | int64(k/size)
			recs[i].Partition = synthPartition(e.ContestID)
		}
		k++
	}
}

// pollBatches cuts a log's records (recs, in the order they were produced) into batches
// shaped as Poll returns them: a run of up to pollRun records of each partition in
// turn, each partition's in its log's order. It sets each record's offset in its
// partition and returns the batches and each partition's end offset. (Batches of
// records interleaved partition by partition, as a shuffle leaves them, let touchAhead
// load one event at a time: not the replay a node does.)
func pollBatches(recs []kafkasource.EntryRecord) ([]kafkasource.Batch, map[int32]int64) {
	end := map[int32]int64{}
	var parts [][]int32 // each partition's records, in log order
	for i := range recs {
		r := &recs[i]
		r.Offset = end[r.Partition]
		end[r.Partition]++
		for int(r.Partition) >= len(parts) {
			parts = append(parts, nil)
		}
		parts[r.Partition] = append(parts[r.Partition], int32(i))
	}
	polled := make([]kafkasource.EntryRecord, 0, len(recs))
	var batches []kafkasource.Batch
	for len(polled) < len(recs) {
		from := len(polled)
		for p := range parts {
			k := min(len(parts[p]), pollRun)
			for _, i := range parts[p][:k] {
				polled = append(polled, recs[i])
			}
			parts[p] = parts[p][k:]
		}
		batches = append(batches, kafkasource.Batch{Entries: polled[from:len(polled):len(polled)]})
	}
	return batches, end
}

// pollRun is the most records of one partition in a batch of replayBatches: about what
// a fetch of kgo's default 1 MB per partition holds of entry events.
const pollRun = 4096

// replayWorker is benchWorker with its partitions assigned at their end offsets: they
// replay.
func replayWorker(b *testing.B, end map[int32]int64) *Worker {
	cfg := DefaultConfig()
	w, err := New(cfg, &rejects{}, nullStore{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	for p := range int32(16) {
		if err := w.AddPartition(p, end[p]); err != nil {
			b.Fatal(err)
		}
	}
	return w
}

// produceEntries writes synth's n entry events to the broker: through the Publisher
// (uncompressed, as load writes them), or with LB_BENCH_CODEC set (gzip, snappy, lz4,
// zstd) through a producer of the same partitioning that compresses its batches, as a
// producer other than load may.
func produceEntries(b *testing.B, ctx context.Context, kcfg kafkasource.Config, n int) {
	codec := os.Getenv("LB_BENCH_CODEC")
	if codec == "" || codec == "none" {
		pub, err := kafkasource.NewPublisher(kcfg, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		s := newSynth(n)
		for s.made < s.n {
			batch := s.batch(10_000)
			evs := make([]kafkasource.EntryEvent, len(batch.Entries))
			for i := range batch.Entries {
				evs[i] = batch.Entries[i].Event
			}
			if err := pub.PublishEntries(ctx, evs); err != nil {
				b.Fatal(err)
			}
		}
		if err := pub.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		pub.Close()
		return
	}
	codecs := map[string]kgo.CompressionCodec{"gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression()}
	c, ok := codecs[codec]
	if !ok {
		b.Fatalf("LB_BENCH_CODEC=%q: want none, gzip, snappy, lz4 or zstd", codec)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(kcfg.Brokers...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.MaxBufferedRecords(1<<18), kgo.ProducerBatchCompression(c), kgo.DefaultProduceTopic(kcfg.EntriesTopic))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	var failed atomic.Pointer[error]
	s := newSynth(n)
	for s.made < s.n {
		for _, r := range s.batch(10_000).Entries {
			e := r.Event
			cl.Produce(ctx, &kgo.Record{Key: strconv.AppendInt(nil, e.ContestID, 10), Value: kafkasource.EncodeEntry(e)}, func(_ *kgo.Record, err error) {
				if err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			})
		}
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
}

// BenchmarkReplayKafka replays a match's entry events through the whole ingest path: an
// in-process broker (kfake) holding them over 16 partitions, a kafkasource.Source (the
// fetch, franz-go's record parsing, the entry decoder), and the worker's ingest pipeline
// (Poll and Apply on two goroutines) until every partition is caught up. CPU is the
// process's user+system time, the broker's share included (it serves the fetches on the
// same cores, as the development broker does beside a node); the events are produced
// before the clock starts. A CPU profile (-cpuprofile) shows the node's share apart.
//
//	LB_BENCH_ENTRIES=1000000 [LB_BENCH_CODEC=lz4] go test -run '^$' -bench ReplayKafka -benchtime 3x ./worker
func BenchmarkReplayKafka(b *testing.B) {
	n := benchEntries(b)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(16, "lb.entries"), kfake.SeedTopics(1, "lb.points", "lb.matches", "lb.dlq"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	kcfg := kafkasource.DefaultConfig()
	kcfg.Brokers = c.ListenAddrs()
	ctx := context.Background()
	produceEntries(b, ctx, kcfg, n)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		src, err := kafkasource.New(kcfg, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		end, err := src.EndOffsets(ctx, kcfg.EntriesTopic)
		if err != nil {
			b.Fatal(err)
		}
		w, err := New(DefaultConfig(), src, nullStore{}, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), time.Now)
		if err != nil {
			b.Fatal(err)
		}
		start := map[int32]int64{}
		for p := range int32(16) {
			if err := w.AddPartition(p, end[p]); err != nil {
				b.Fatal(err)
			}
			start[p] = kafkasource.OffsetStart
		}
		runtime.GC()
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime()
		if err := src.AssignEntries(start); err != nil {
			b.Fatal(err)
		}
		ictx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.ingest(ictx) }()
		for !w.CaughtUp() {
			time.Sleep(time.Millisecond)
		}
		wall, cpu := time.Since(t0), cpuTime()-c0
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		src.Close()
		b.ReportMetric(float64(n)/wall.Seconds(), "replay_entries/s")
		b.ReportMetric(float64(n)/cpu.Seconds(), "replay_entries/cpu_s")
		b.ReportMetric(cpu.Seconds()*1e6/float64(n), "cpu_us/entry")
		if got := w.matches[1].count; got != n {
			b.Fatalf("the worker holds %d entries, want %d", got, n)
		}
	}
}
