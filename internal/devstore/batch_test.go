package devstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/aerospike/aerospike-client-go/v7/types"

	"github.com/fantasy/leaderboard/records"
)

func TestBatchOperate(t *testing.T) {
	e := start(t, "", nil, Config{MaxRecordSize: 10_000})
	cl := e.client
	wp := as.NewBatchWritePolicy()
	wp.SendKey = true
	// Seed records 0..9.
	var seed []as.BatchRecordIfc
	for i := range 10 {
		seed = append(seed, as.NewBatchWrite(wp, key(t, records.Live, "s", fmt.Sprint(i)), as.PutOp(as.NewBin("v", i)), as.PutOp(as.NewBin("s", fmt.Sprint("r", i)))))
	}
	if err := cl.BatchOperate(nil, seed); err != nil {
		t.Fatal(err)
	}
	for _, r := range seed {
		if r.BatchRec().ResultCode != types.OK {
			t.Fatalf("seed %v", r.BatchRec().ResultCode)
		}
	}
	// Mixed: writes (one fenced out, one too big, one with a long bin name), reads (one
	// absent, one of named bins, one header only), deletes (one absent).
	fp := as.NewBatchWritePolicy()
	fp.SendKey = true
	fp.FilterExpression = as.ExpEq(as.ExpIntBin("v"), as.ExpIntVal(100))
	rp := as.NewBatchReadPolicy()
	ops := []as.BatchRecordIfc{
		as.NewBatchWrite(wp, key(t, records.Live, "s", "new"), as.PutOp(as.NewBin("v", 42))),
		as.NewBatchWrite(fp, key(t, records.Live, "s", "1"), as.PutOp(as.NewBin("v", 43))),
		as.NewBatchWrite(wp, key(t, records.Live, "s", "big"), as.PutOp(as.NewBin("v", make([]byte, 20_000)))),
		as.NewBatchWrite(wp, key(t, records.Live, "s", "2"), as.PutOp(as.NewBin("a_very_long_bin_name", 1))),
		as.NewBatchRead(rp, key(t, records.Live, "s", "3"), nil),
		as.NewBatchRead(rp, key(t, records.Live, "s", "absent"), nil),
		as.NewBatchRead(rp, key(t, records.Live, "s", "4"), []string{"s"}),
		as.NewBatchReadHeader(rp, key(t, records.Live, "s", "5")),
		as.NewBatchDelete(nil, key(t, records.Live, "s", "6")),
		as.NewBatchDelete(nil, key(t, records.Live, "s", "absent")),
		as.NewBatchWrite(wp, key(t, records.Complete, "s", "c"), as.PutOp(as.NewBin("v", 1))),
	}
	if err := cl.BatchOperate(nil, ops); err != nil {
		t.Fatal(err)
	}
	want := []types.ResultCode{types.OK, types.FILTERED_OUT, types.RECORD_TOO_BIG, types.BIN_NAME_TOO_LONG,
		types.OK, types.KEY_NOT_FOUND_ERROR, types.OK, types.OK, types.OK, types.KEY_NOT_FOUND_ERROR, types.OK}
	for i, r := range ops {
		if got := r.BatchRec().ResultCode; got != want[i] {
			t.Errorf("record %d: %v, want %v", i, got, want[i])
		}
	}
	if rec := ops[4].BatchRec().Record; rec == nil || rec.Bins["v"] != 3 || rec.Bins["s"] != "r3" {
		t.Errorf("read all bins: %+v", rec)
	}
	if rec := ops[6].BatchRec().Record; rec == nil || len(rec.Bins) != 1 || rec.Bins["s"] != "r4" {
		t.Errorf("read named bins: %+v", rec)
	}
	if rec := ops[7].BatchRec().Record; rec == nil || len(rec.Bins) != 0 || rec.Generation != 1 {
		t.Errorf("read header: %+v", rec)
	}
	if ok, _ := cl.Exists(nil, key(t, records.Live, "s", "6")); ok {
		t.Error("batch delete left the record")
	}
	if rec, _ := cl.Get(nil, key(t, records.Live, "s", "1")); rec.Bins["v"] != 1 {
		t.Errorf("filtered-out write changed the record: %+v", rec)
	}
	if rec, _ := cl.Get(nil, key(t, records.Live, "s", "new")); rec == nil || rec.Bins["v"] != 42 {
		t.Errorf("batch write: %+v", rec)
	}
	if _, ok, _ := e.store.Get(context.Background(), records.Complete, "s", "c"); !ok {
		t.Error("a batch spanning both namespaces missed complete")
	}
}

func TestBatchGet(t *testing.T) {
	e := start(t, "", nil, Config{})
	cl := e.client
	var keys []*as.Key
	for i := range 300 {
		k := key(t, records.Live, "page", fmt.Sprint(i))
		keys = append(keys, k)
		if i%3 != 0 { // every third record is absent
			if err := cl.Put(sendKey(), k, as.BinMap{"i": i, "rows": make([]byte, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	recs, err := cl.BatchGet(nil, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if (r == nil) != (i%3 == 0) || r != nil && (r.Bins["i"] != i || len(r.Bins["rows"].([]byte)) != i) {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	recs, err = cl.BatchGet(nil, keys, "i")
	if err != nil || recs[1] == nil || len(recs[1].Bins) != 1 {
		t.Fatalf("named bins: %v %v", recs[1], err)
	}
	exists, err := cl.BatchExists(nil, keys[:6])
	if err != nil || exists[0] || !exists[1] || exists[3] || !exists[5] {
		t.Fatalf("exists %v %v", exists, err)
	}
	hdrs, err := cl.BatchGetHeader(nil, keys[:3])
	if err != nil || hdrs[0] != nil || hdrs[1] == nil || len(hdrs[1].Bins) != 0 {
		t.Fatalf("headers %v %v", hdrs, err)
	}
	// Batch delete by keys.
	if _, err := cl.BatchDelete(nil, nil, keys[:3]); err != nil {
		t.Fatal(err)
	}
	if ok, _ := cl.Exists(nil, keys[1]); ok {
		t.Fatal("batch delete")
	}
}

// TestConcurrentBatches writes and reads from many goroutines (race detector; the
// server keeps one goroutine per connection and the client pools connections).
func TestConcurrentBatches(t *testing.T) {
	e := start(t, "", nil, Config{})
	wp := as.NewBatchWritePolicy()
	wp.SendKey = true
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for round := range 5 {
				var ops []as.BatchRecordIfc
				for i := range 200 {
					ops = append(ops, as.NewBatchWrite(wp, key(t, records.Live, "c", fmt.Sprint(w, "/", i)), as.PutOp(as.NewBin("r", round))))
				}
				if err := e.client.BatchOperate(nil, ops); err != nil {
					t.Error(err)
					return
				}
				var keys []*as.Key
				for i := range 200 {
					keys = append(keys, key(t, records.Live, "c", fmt.Sprint(w, "/", i)))
				}
				recs, err := e.client.BatchGet(nil, keys)
				if err != nil {
					t.Error(err)
					return
				}
				for _, r := range recs {
					if r == nil || r.Bins["r"] != round {
						t.Errorf("read back %+v in round %d", r, round)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if n := e.store.Len(records.Live); n != 8*200 {
		t.Fatalf("%d records", n)
	}
}

// TestRestartKeepsComplete stops the server, saves the store as `leaderboard store`
// does, and serves the reopened directory: complete survives, readable by digest alone.
func TestRestartKeepsComplete(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Now().Truncate(time.Second)}
	e := start(t, dir, c, Config{})
	if err := e.client.Put(sendKey(), key(t, records.Complete, "contest", "9"), as.BinMap{"final": 1}); err != nil {
		t.Fatal(err)
	}
	e.stop()
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := start(t, dir, c, Config{})
	rec, err := e2.client.Get(nil, key(t, records.Complete, "contest", "9"))
	if err != nil || rec.Bins["final"] != 1 {
		t.Fatalf("after restart: %v %v", rec, err)
	}
	// The digest index was rebuilt: a write without the key reaches the known record.
	if err := e2.client.Put(nil, key(t, records.Complete, "contest", "9"), as.BinMap{"final": 2}); err != nil {
		t.Fatal(err)
	}
}

func TestSlowServer(t *testing.T) {
	e := start(t, "", nil, Config{})
	k := key(t, records.Live, "s", "slow")
	e.srv.SetDelay(150 * time.Millisecond)
	t0 := time.Now()
	if err := e.client.Put(sendKey(), k, as.BinMap{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 150*time.Millisecond {
		t.Fatalf("answered in %v, before the delay", d)
	}
	// A command whose timeout is shorter than the delay times out.
	p := sendKey()
	p.TotalTimeout = 50 * time.Millisecond
	p.SocketTimeout = 50 * time.Millisecond
	p.MaxRetries = 0
	var ae *as.AerospikeError
	if err := e.client.Put(p, k, as.BinMap{"a": 2}); !errors.As(err, &ae) || !ae.Matches(types.TIMEOUT) {
		t.Fatalf("slow answer: %v", err)
	}
	e.srv.SetDelay(0)
	if _, err := e.client.Get(nil, k); err != nil {
		t.Fatalf("after the delay: %v", err)
	}
}

// TestBatchNotInline runs large batches with AllowInline off, which the server spreads
// over goroutines: every record is still answered, under its own index.
func TestBatchNotInline(t *testing.T) {
	e := start(t, "", nil, Config{MaxRecordSize: 2000})
	bp := as.NewBatchPolicy()
	bp.AllowInline = false
	bp.TotalTimeout = testTimeout
	wp := as.NewBatchWritePolicy()
	wp.SendKey = true
	var ops []as.BatchRecordIfc
	var keys []*as.Key
	for i := range 1000 {
		k := key(t, records.Complete, "p", fmt.Sprint(i))
		keys = append(keys, k)
		size := 10
		if i%97 == 0 {
			size = 5000 // too big: a per-record error in the middle of a window
		}
		ops = append(ops, as.NewBatchWrite(wp, k, as.PutOp(as.NewBin("i", i)), as.PutOp(as.NewBin("b", make([]byte, size)))))
	}
	if err := e.client.BatchOperate(bp, ops); err != nil {
		t.Fatal(err)
	}
	for i, r := range ops {
		want := types.OK
		if i%97 == 0 {
			want = types.RECORD_TOO_BIG
		}
		if got := r.BatchRec().ResultCode; got != want {
			t.Fatalf("record %d: %v, want %v", i, got, want)
		}
	}
	keys = append(keys, key(t, records.Live, "p", "absent"))
	recs, err := e.client.BatchGet(bp, keys)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if absent := i%97 == 0 || i == 1000; (r == nil) != absent || r != nil && r.Bins["i"] != i {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
}
