package aerospikesink

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"

	"github.com/fantasy/leaderboard/records"
)

// benchRecords are n contest records shaped like the cycle's typical write: a contest
// of 20 entries (one page inline), its histogram, fenced.
func benchRecords(n int) []records.Record {
	out := make([]records.Record, n)
	for i := range out {
		rows := make([]records.Row, 20)
		hist := make([]records.Bucket, 0, 20)
		for j := range rows {
			rows[j] = records.Row{Rank: int64(j + 1), EntryID: int64(i*20 + j + 1), UserID: int64(1000000 + i*7 + j), TeamID: int64(i*3 + j), Points: int64(40000 - 150*j)}
			hist = append(hist, records.Bucket{Points: rows[j].Points, Count: 1})
		}
		out[i] = records.Contest{ID: int64(i + 1), Match: 1, Cycle: 5, AsOf: 1795740000000, Total: 20, PageSize: 100, Hist: hist, First: rows}.Record()
		out[i].Key = runID + out[i].Key
		out[i].Fence = records.Fence{Epoch: 1, Cycle: 5}
	}
	return out
}

// benchServers: the devstore in process always, a real server with AEROSPIKE_HOSTS.
func benchServers(b *testing.B) []*server {
	out := []*server{startDev(b, 1<<20)}
	if h := os.Getenv("AEROSPIKE_HOSTS"); h != "" {
		out = append(out, &server{t: b, name: "aerospike", hosts: h, real: true})
	}
	return out
}

const benchN = 20000 // records per Put

// BenchmarkSink: records/s of Sink.Put over a grid of batch size x concurrency, beside
// the raw client's BatchOperate of the same records with the same batching
// (BenchmarkSink/.../raw): the ratio sink/raw is the sink's own cost.
//
//	go test -run '^$' -bench BenchmarkSink -benchtime 3x ./aerospikesink/
func BenchmarkSink(b *testing.B) {
	recs := benchRecords(benchN)
	for _, srv := range benchServers(b) {
		for _, batch := range []int{100, 500, 2000} {
			for _, conc := range []int{1, 4, 16} {
				name := fmt.Sprintf("%s/batch=%d/conc=%d", srv.name, batch, conc)
				b.Run(name+"/sink", func(b *testing.B) {
					sk, _ := newTestSink(b, srv, nil, func(c *Config) { c.BatchSize, c.Concurrency = batch, conc })
					b.ReportAllocs()
					for b.Loop() {
						if err := sk.Put(ctx, records.Live, recs); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(benchN*b.N)/b.Elapsed().Seconds(), "records/s")
				})
				b.Run(name+"/raw", func(b *testing.B) {
					sk, _ := newTestSink(b, srv, nil, nil)
					b.ReportAllocs()
					for b.Loop() {
						rawPut(b, sk.client, sk.writeBatch, rawWrites(b, recs), batch, conc)
					}
					b.ReportMetric(float64(benchN*b.N)/b.Elapsed().Seconds(), "records/s")
				})
			}
		}
	}
}

// rawWrite is a record as the plainest client code writes it: key, put ops (the same
// bins and fence bins the sink sends), one shared policy with the same fence filter.
type rawWrite struct {
	key *as.Key
	ops []*as.Operation
	pol *as.BatchWritePolicy
}

func rawWrites(b *testing.B, recs []records.Record) []rawWrite {
	pol := as.NewBatchWritePolicy()
	pol.RecordExistsAction, pol.SendKey, pol.Expiration = as.REPLACE, true, 3600
	pol.FilterExpression = FenceExpression(recs[0].Fence)
	out := make([]rawWrite, len(recs))
	for i, r := range recs {
		k, err := as.NewKey("live", r.Set, r.Key)
		if err != nil {
			b.Fatal(err)
		}
		for name, v := range r.Bins {
			out[i].ops = append(out[i].ops, as.PutOp(as.NewBin(name, v)))
		}
		out[i].ops = append(out[i].ops, as.PutOp(as.NewBin(records.FenceEpochBin, r.Fence.Epoch)), as.PutOp(as.NewBin(records.FenceCycleBin, r.Fence.Cycle)))
		out[i].key, out[i].pol = k, pol
	}
	return out
}

// rawPut writes every record with BatchOperate, batch records a call, conc calls at once.
func rawPut(b *testing.B, cl *as.Client, base *as.BatchPolicy, ws []rawWrite, batch, conc int) {
	// Generous timeouts: on a loaded 2-core box 16 batches of 2000 at once wait for a
	// connection longer than the sink's 1 s; a benchmark measures, it does not time out.
	pol := *base
	pol.TotalTimeout, pol.SocketTimeout = time.Minute, 30*time.Second
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for lo := 0; lo < len(ws); lo += batch {
		hi := min(lo+batch, len(ws))
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			brs := make([]as.BatchRecordIfc, 0, hi-lo)
			for _, w := range ws[lo:hi] {
				brs = append(brs, as.NewBatchWrite(w.pol, w.key, w.ops...))
			}
			if err := cl.BatchOperate(&pol, brs); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
}

// BenchmarkSinkRead: reads/s of Sink.Get (one record a call, as the API's first read of
// an answer) and Sink.GetMany (100 keys, as a page window), beside the raw client's Get.
//
//	go test -run '^$' -bench BenchmarkSinkRead -benchtime 20000x ./aerospikesink/
func BenchmarkSinkRead(b *testing.B) {
	recs := benchRecords(1000)
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = r.Key
	}
	for _, srv := range benchServers(b) {
		sk, _ := newTestSink(b, srv, nil, nil)
		if err := sk.Put(ctx, records.Live, recs); err != nil {
			b.Fatal(err)
		}
		b.Run(srv.name+"/get/sink", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok, err := sk.Get(ctx, records.Live, records.SetContest, keys[i%len(keys)]); err != nil || !ok {
					b.Fatal(ok, err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
		b.Run(srv.name+"/get/raw", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				k, _ := as.NewKey("live", records.SetContest, keys[i%len(keys)])
				if _, err := sk.client.Get(sk.read, k); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
		b.Run(srv.name+"/getmany100/sink", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				lo := (i * 100) % len(keys)
				if _, err := sk.GetMany(ctx, records.Live, records.SetContest, keys[lo:lo+100]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
