package devstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/aerospike/aerospike-client-go/v7/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a store, a server on a random port and a client connected to it.
type env struct {
	clock  *clock
	store  *rankstore.Store
	srv    *Server
	client *as.Client
	addr   *net.TCPAddr
	stop   func()
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func start(t testing.TB, dir string, c *clock, cfg Config) *env {
	t.Helper()
	if c == nil {
		c = &clock{t: time.Now().Truncate(time.Second)}
	}
	st, err := rankstore.Open(rankstore.Config{LiveTTL: time.Hour, CompleteTTL: 7 * 24 * time.Hour, DataDir: dir}, c.now, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeName == "" {
		cfg.NodeName = "BB9000000000001"
	}
	if cfg.MaxRecordSize == 0 {
		cfg.MaxRecordSize = 1 << 20
	}
	srv, err := New(cfg, st, testLogger(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	addr := ln.Addr().(*net.TCPAddr)
	e := &env{clock: c, store: st, srv: srv, addr: addr}
	e.client = connect(t, addr, cfg.ClusterName)
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			e.client.Close()
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(e.stop)
	return e
}

func connect(t testing.TB, addr *net.TCPAddr, cluster string) *as.Client {
	t.Helper()
	p := as.NewClientPolicy()
	p.Timeout = 5 * time.Second
	p.ClusterName = cluster
	cl, err := as.NewClientWithPolicyAndHost(p, as.NewHost(addr.IP.String(), addr.Port))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	cl.DefaultPolicy.TotalTimeout = testTimeout
	cl.DefaultBatchPolicy.TotalTimeout = testTimeout
	cl.DefaultWritePolicy.TotalTimeout = testTimeout
	return cl
}

func key(t testing.TB, ns, set, k string) *as.Key {
	t.Helper()
	kk, err := as.NewKey(ns, set, k)
	if err != nil {
		t.Fatal(err)
	}
	return kk
}

// testTimeout is every command's timeout in tests: the client's default (1 s) is too
// short for a race-detector build on a busy 2-core machine.
const testTimeout = 20 * time.Second

func newWritePolicy(ttl uint32) *as.WritePolicy {
	p := as.NewWritePolicy(0, ttl)
	p.TotalTimeout = testTimeout
	return p
}

func sendKey() *as.WritePolicy {
	p := newWritePolicy(0)
	p.SendKey = true
	return p
}

func resultCode(err error) types.ResultCode {
	var ae *as.AerospikeError
	if errors.As(err, &ae) {
		return ae.ResultCode
	}
	return -1000
}

func TestConnectPutGet(t *testing.T) {
	e := start(t, "", nil, Config{})
	if !e.client.IsConnected() {
		t.Fatal("not connected")
	}
	nodes := e.client.GetNodes()
	if len(nodes) != 1 || nodes[0].GetName() != "BB9000000000001" {
		t.Fatalf("nodes %v", nodes)
	}
	k := key(t, records.Live, "s", "k1")
	if err := e.client.Put(sendKey(), k, as.BinMap{"a": 1, "b": "x", "c": []byte{1, 2}}); err != nil {
		t.Fatal(err)
	}
	rec, err := e.client.Get(nil, k)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Bins["a"] != 1 || rec.Bins["b"] != "x" || string(rec.Bins["c"].([]byte)) != "\x01\x02" || rec.Generation != 1 {
		t.Fatalf("got %+v", rec)
	}
}

func TestTendAndDigest(t *testing.T) {
	e := start(t, "", nil, Config{ClusterName: "dev"})
	k := key(t, records.Live, "entry", "42")
	if got := digestOf("entry", "42"); string(got[:]) != string(k.Digest()) {
		t.Fatalf("digest %x, the client's %x", got, k.Digest())
	}
	// Every partition of both namespaces maps to the node.
	for _, ns := range []string{records.Live, records.Complete} {
		for i := range 50 {
			kk := key(t, ns, "s", fmt.Sprint(i))
			if err := e.client.Put(sendKey(), kk, as.BinMap{"v": i}); err != nil {
				t.Fatalf("%s: %v", ns, err)
			}
		}
	}
	// A client expecting another cluster name is refused.
	p := as.NewClientPolicy()
	p.ClusterName = "prod"
	p.Timeout = 2 * time.Second
	if c, err := as.NewClientWithPolicyAndHost(p, as.NewHost(e.addr.IP.String(), e.addr.Port)); err == nil {
		c.Close()
		t.Fatal("connected with the wrong cluster name")
	}
	// An unknown namespace is INVALID_NAMESPACE (the client does not know its partitions).
	if _, err := e.client.Get(nil, key(t, "other", "s", "1")); err == nil {
		t.Fatal("read from an unknown namespace")
	}
}

func TestSingleRecordCommands(t *testing.T) {
	e := start(t, "", nil, Config{})
	cl := e.client
	k := key(t, records.Live, "s", "k")
	if err := cl.Put(sendKey(), k, as.BinMap{"a": 1, "b": "two", "c": 3}); err != nil {
		t.Fatal(err)
	}
	// Named bins, header only, exists.
	rec, err := cl.Get(nil, k, "b", "missing")
	if err != nil || len(rec.Bins) != 1 || rec.Bins["b"] != "two" {
		t.Fatalf("named bins: %v %v", rec, err)
	}
	rec, err = cl.GetHeader(nil, k)
	if err != nil || len(rec.Bins) != 0 || rec.Generation != 1 {
		t.Fatalf("header: %v %v", rec, err)
	}
	if ok, err := cl.Exists(nil, k); !ok || err != nil {
		t.Fatalf("exists %v %v", ok, err)
	}
	if ok, err := cl.Exists(nil, key(t, records.Live, "s", "nope")); ok || err != nil {
		t.Fatalf("exists of an absent record %v %v", ok, err)
	}
	if _, err := cl.Get(nil, key(t, records.Live, "s", "nope")); resultCode(err) != types.KEY_NOT_FOUND_ERROR {
		t.Fatalf("get of an absent record: %v", err)
	}
	// UPDATE (the default) merges bins; a null bin removes one; the digest alone finds a
	// known record.
	if err := cl.Put(nil, k, as.BinMap{"a": 10, "c": nil}); err != nil {
		t.Fatal(err)
	}
	rec, _ = cl.Get(nil, k)
	if len(rec.Bins) != 2 || rec.Bins["a"] != 10 || rec.Bins["b"] != "two" || rec.Generation != 2 {
		t.Fatalf("update: %+v", rec)
	}
	// REPLACE drops the bins it does not write.
	rp := sendKey()
	rp.RecordExistsAction = as.REPLACE
	if err := cl.Put(rp, k, as.BinMap{"z": "only"}); err != nil {
		t.Fatal(err)
	}
	rec, _ = cl.Get(nil, k)
	if len(rec.Bins) != 1 || rec.Bins["z"] != "only" {
		t.Fatalf("replace: %+v", rec)
	}
	// CREATE_ONLY on an existing record, UPDATE_ONLY and REPLACE_ONLY on an absent one.
	cp := sendKey()
	cp.RecordExistsAction = as.CREATE_ONLY
	if err := cl.Put(cp, k, as.BinMap{"a": 1}); resultCode(err) != types.KEY_EXISTS_ERROR {
		t.Fatalf("create only: %v", err)
	}
	for _, action := range []as.RecordExistsAction{as.UPDATE_ONLY, as.REPLACE_ONLY} {
		p := sendKey()
		p.RecordExistsAction = action
		if err := cl.Put(p, key(t, records.Live, "s", "absent"), as.BinMap{"a": 1}); resultCode(err) != types.KEY_NOT_FOUND_ERROR {
			t.Fatalf("action %v on an absent record: %v", action, err)
		}
	}
	// Generation checks.
	gp := sendKey()
	gp.GenerationPolicy = as.EXPECT_GEN_EQUAL
	gp.Generation = 1
	if err := cl.Put(gp, k, as.BinMap{"a": 1}); resultCode(err) != types.GENERATION_ERROR {
		t.Fatalf("stale generation: %v", err)
	}
	gp.Generation = rec.Generation
	if err := cl.Put(gp, k, as.BinMap{"a": 1}); err != nil {
		t.Fatalf("current generation: %v", err)
	}
	// Touch, then delete; delete of an absent record reports it did not exist. A touch
	// keeps the bins, even under a REPLACE policy.
	if err := cl.Touch(rp, k); err != nil {
		t.Fatal(err)
	}
	if rec, err := cl.Get(nil, k); err != nil || rec.Bins["a"] != 1 || rec.Generation != gp.Generation+2 {
		t.Fatalf("after touch: %v %v", rec, err)
	}
	if err := cl.Touch(nil, key(t, records.Live, "s", "absent")); resultCode(err) != types.KEY_NOT_FOUND_ERROR {
		t.Fatalf("touch of an absent record: %v", err)
	}
	if existed, err := cl.Delete(nil, k); !existed || err != nil {
		t.Fatalf("delete: %v %v", existed, err)
	}
	if existed, err := cl.Delete(nil, k); existed || err != nil {
		t.Fatalf("second delete: %v %v", existed, err)
	}
	// A write naming a record by digest only, that the store does not know, is refused
	// with a message naming SendKey.
	if err := cl.Put(nil, key(t, records.Live, "s", "new"), as.BinMap{"a": 1}); resultCode(err) != types.PARAMETER_ERROR {
		t.Fatalf("write without SendKey: %v", err)
	}
	// Removing the last bin deletes the record, as Aerospike does.
	k2 := key(t, records.Live, "s", "k2")
	cl.Put(sendKey(), k2, as.BinMap{"a": 1})
	if err := cl.Put(nil, k2, as.BinMap{"a": nil}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := cl.Exists(nil, k2); ok {
		t.Fatal("record without bins still exists")
	}
}

func TestBinsRoundTrip(t *testing.T) {
	e := start(t, "", nil, Config{})
	ctx := context.Background()
	big := strings.Repeat("x", 300_000)
	blob := make([]byte, 200_000)
	for i := range blob {
		blob[i] = byte(i)
	}
	want := records.Bins{"min": int64(math.MinInt64), "max": int64(math.MaxInt64), "zero": int64(0),
		"empty": "", "big": big, "blob": blob, "eblob": []byte{}, "utf8": "ünï"}
	bins := as.BinMap{}
	for k, v := range want {
		bins[k] = v
	}
	k := key(t, records.Complete, "page", "7/1")
	if err := e.client.Put(sendKey(), k, bins); err != nil {
		t.Fatal(err)
	}
	// Written through the server, read through rankstore: the same Bins.
	got, ok, err := e.store.Get(ctx, records.Complete, "page", "7/1")
	if !ok || err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("rankstore read: %v %v, %d bins", ok, err, len(got))
	}
	// Written through rankstore, read through the server.
	if err := e.store.Put(ctx, records.Complete, []records.Record{{Set: "page", Key: "8/1", Bins: want}}); err != nil {
		t.Fatal(err)
	}
	rec, err := e.client.Get(nil, key(t, records.Complete, "page", "8/1"))
	if err != nil {
		t.Fatal(err)
	}
	back := records.Bins{}
	for name, v := range rec.Bins {
		switch x := v.(type) {
		case int:
			back[name] = int64(x)
		default:
			back[name] = v
		}
	}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("server read of a rankstore record differs: %d bins", len(back))
	}
	// A record type of the project round-trips whole.
	m := records.Match{ID: 5, State: records.StateLive, Cycle: 9}
	r := m.Record()
	bm := as.BinMap{}
	for k, v := range r.Bins {
		bm[k] = v
	}
	if err := e.client.Put(sendKey(), key(t, records.Live, r.Set, r.Key), bm); err != nil {
		t.Fatal(err)
	}
	b, ok, _ := e.store.Get(ctx, records.Live, r.Set, r.Key)
	if gm, err := records.MatchFrom(b); !ok || err != nil || gm.Cycle != 9 || gm.State != records.StateLive {
		t.Fatalf("match record: %+v %v", gm, err)
	}
}

func TestTTL(t *testing.T) {
	c := &clock{t: time.Now().Truncate(time.Second)}
	e := start(t, "", c, Config{})
	cl := e.client
	def, short, never := key(t, records.Live, "s", "def"), key(t, records.Live, "s", "short"), key(t, records.Live, "s", "never")
	cl.Put(sendKey(), def, as.BinMap{"a": 1})
	sp := newWritePolicy(60)
	sp.SendKey = true
	cl.Put(sp, short, as.BinMap{"a": 1})
	np := newWritePolicy(as.TTLDontExpire)
	np.SendKey = true
	cl.Put(np, never, as.BinMap{"a": 1})
	ttl := func(k *as.Key) uint32 {
		t.Helper()
		rec, err := cl.Get(nil, k)
		if err != nil {
			t.Fatal(err)
		}
		return rec.Expiration
	}
	// The TTL a read reports is the time left (the client subtracts its own clock, so
	// allow a second or two).
	if got := ttl(def); got < 3597 || got > 3600 {
		t.Fatalf("default TTL reported %d, want ~3600", got)
	}
	if got := ttl(short); got < 57 || got > 60 {
		t.Fatalf("TTL 60 reported %d", got)
	}
	if got := ttl(never); got != math.MaxUint32 {
		t.Fatalf("never-expiring record reported TTL %d", got)
	}
	// TTLDontUpdate keeps the record's TTL.
	kp := newWritePolicy(as.TTLDontUpdate)
	if err := cl.Put(kp, short, as.BinMap{"b": 2}); err != nil {
		t.Fatal(err)
	}
	if got := ttl(short); got < 57 || got > 60 {
		t.Fatalf("TTLDontUpdate changed the TTL to %d", got)
	}
	c.add(61 * time.Second)
	if _, err := cl.Get(nil, short); resultCode(err) != types.KEY_NOT_FOUND_ERROR {
		t.Fatalf("record read after its TTL: %v", err)
	}
	c.add(time.Hour)
	if ok, _ := cl.Exists(nil, def); ok {
		t.Fatal("record with the namespace TTL outlived it")
	}
	if ok, _ := cl.Exists(nil, never); !ok {
		t.Fatal("never-expiring record expired")
	}
	// An expired record is absent to a write too: CREATE_ONLY succeeds.
	cp := sendKey()
	cp.RecordExistsAction = as.CREATE_ONLY
	if err := cl.Put(cp, short, as.BinMap{"a": 1}); err != nil {
		t.Fatalf("create over an expired record: %v", err)
	}
}

// fenceFilter is the expression a fenced writer sends: write when the stored record has
// no fence, or one no newer than (epoch, cycle).
func fenceFilter(epoch, cycle int64) *as.Expression {
	e, c := as.ExpIntBin(records.FenceEpochBin), as.ExpIntBin(records.FenceCycleBin)
	return as.ExpOr(
		as.ExpNot(as.ExpBinExists(records.FenceEpochBin)),
		as.ExpLess(e, as.ExpIntVal(epoch)),
		as.ExpAnd(as.ExpEq(e, as.ExpIntVal(epoch)), as.ExpLessEq(c, as.ExpIntVal(cycle))),
	)
}

func TestFilterFencing(t *testing.T) {
	c := &clock{t: time.Now().Truncate(time.Second)}
	e := start(t, "", c, Config{})
	cl := e.client
	k := key(t, records.Live, "contest", "1")
	put := func(epoch, cycle int64) error {
		p := sendKey()
		p.FilterExpression = fenceFilter(epoch, cycle)
		return cl.Put(p, k, as.BinMap{"v": cycle, records.FenceEpochBin: epoch, records.FenceCycleBin: cycle})
	}
	if err := put(2, 5); err != nil { // absent record: the filter does not apply
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		epoch, cycle int64
		refused      bool
	}{
		{"older epoch", 1, 9, true},
		{"older cycle", 2, 4, true},
		{"equal", 2, 5, false},
		{"newer cycle", 2, 6, false},
		{"newer epoch", 3, 1, false},
	} {
		err := put(tc.epoch, tc.cycle)
		if tc.refused != (resultCode(err) == types.FILTERED_OUT) || !tc.refused && err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	rec, _ := cl.Get(nil, k)
	if rec.Bins["v"] != 1 || rec.Bins[records.FenceEpochBin] != 3 {
		t.Fatalf("stored %+v", rec.Bins)
	}
	// The embedded store's own fencing reads the same bins: an older Put is refused.
	err := e.store.Put(context.Background(), records.Live, []records.Record{{Set: "contest", Key: "1", Bins: records.Bins{"v": int64(0)}, Fence: records.Fence{Epoch: 2, Cycle: 100}}})
	if !errors.Is(err, records.ErrFenced) {
		t.Fatalf("rankstore Put over a server-fenced record: %v", err)
	}
	// A record without fence bins accepts any fenced write.
	cl.Put(sendKey(), key(t, records.Live, "contest", "2"), as.BinMap{"v": 1})
	p := sendKey()
	p.FilterExpression = fenceFilter(0, 0)
	if err := cl.Put(p, key(t, records.Live, "contest", "2"), as.BinMap{"v": 2}); err != nil {
		t.Fatalf("fenced write over an unfenced record: %v", err)
	}
	// An expired record is absent: an older fence may write.
	c.add(2 * time.Hour)
	if err := put(1, 1); err != nil {
		t.Fatalf("write over an expired record: %v", err)
	}
	// Filters on reads and deletes.
	rp := as.NewPolicy()
	rp.TotalTimeout = testTimeout
	rp.FilterExpression = as.ExpEq(as.ExpIntBin("v"), as.ExpIntVal(99))
	if _, err := cl.Get(rp, k); resultCode(err) != types.FILTERED_OUT {
		t.Fatalf("filtered read: %v", err)
	}
	rp.FilterExpression = as.ExpEq(as.ExpIntBin("v"), as.ExpIntVal(1))
	if _, err := cl.Get(rp, k); err != nil {
		t.Fatalf("matching read: %v", err)
	}
	// A missing bin reads as unknown: the filter does not match, whichever way it compares.
	for _, f := range []*as.Expression{
		as.ExpEq(as.ExpIntBin("nope"), as.ExpIntVal(1)),
		as.ExpNot(as.ExpEq(as.ExpIntBin("nope"), as.ExpIntVal(1))),
		as.ExpEq(as.ExpStringBin("v"), as.ExpStringVal("1")), // v is an int
	} {
		rp.FilterExpression = f
		if _, err := cl.Get(rp, k); resultCode(err) != types.FILTERED_OUT {
			t.Fatalf("filter on a missing bin: %v", err)
		}
	}
	// Strings, cond, and/or with unknowns.
	cl.Put(sendKey(), key(t, records.Live, "s", "str"), as.BinMap{"s": "abc", "i": 5})
	for i, tc := range []struct {
		f    *as.Expression
		want bool
	}{
		{as.ExpGreater(as.ExpStringBin("s"), as.ExpStringVal("abb")), true},
		{as.ExpLessEq(as.ExpStringBin("s"), as.ExpStringVal("ab")), false},
		{as.ExpNotEq(as.ExpStringBin("s"), as.ExpStringVal("abc")), false},
		{as.ExpGreaterEq(as.ExpIntBin("i"), as.ExpIntVal(-5)), true},
		{as.ExpOr(as.ExpEq(as.ExpIntBin("nope"), as.ExpIntVal(1)), as.ExpEq(as.ExpIntBin("i"), as.ExpIntVal(5))), true},
		{as.ExpAnd(as.ExpEq(as.ExpIntBin("nope"), as.ExpIntVal(1)), as.ExpEq(as.ExpIntBin("i"), as.ExpIntVal(4))), false},
		{as.ExpEq(as.ExpBinType("s"), as.ExpIntVal(3)), true},
		{as.ExpKeyExists(), true},
		{as.ExpEq(as.ExpCond(as.ExpEq(as.ExpIntBin("i"), as.ExpIntVal(5)), as.ExpIntVal(1), as.ExpIntVal(2)), as.ExpIntVal(1)), true},
		{as.ExpEq(as.ExpCond(as.ExpEq(as.ExpIntBin("i"), as.ExpIntVal(4)), as.ExpIntVal(1), as.ExpIntVal(2)), as.ExpIntVal(1)), false},
	} {
		rp.FilterExpression = tc.f
		_, err := cl.Get(rp, key(t, records.Live, "s", "str"))
		if got := err == nil; got != tc.want || !tc.want && resultCode(err) != types.FILTERED_OUT {
			t.Fatalf("filter %d: want match %v, got %v", i, tc.want, err)
		}
	}
	// An expression this server does not evaluate is PARAMETER_ERROR, not a wrong answer.
	rp.FilterExpression = as.ExpEq(as.ExpFloatBin("f"), as.ExpFloatVal(1))
	if _, err := cl.Get(rp, k); resultCode(err) != types.PARAMETER_ERROR {
		t.Fatalf("unsupported expression: %v", err)
	}
}

func TestLimits(t *testing.T) {
	e := start(t, "", nil, Config{MaxRecordSize: 1000})
	cl := e.client
	if err := cl.Put(sendKey(), key(t, records.Live, "s", "big"), as.BinMap{"b": strings.Repeat("x", 1000)}); resultCode(err) != types.RECORD_TOO_BIG {
		t.Fatalf("record too big: %v", err)
	}
	if err := cl.Put(sendKey(), key(t, records.Live, "s", "ok"), as.BinMap{"b": strings.Repeat("x", 900)}); err != nil {
		t.Fatalf("record under the limit: %v", err)
	}
	var m dto.Metric
	e.srv.results.WithLabelValues("record_too_big").Write(&m)
	if n := m.GetCounter().GetValue(); n != 1 {
		t.Fatalf("record_too_big counted %v times", n)
	}
	if err := cl.Put(sendKey(), key(t, records.Live, "s", "long"), as.BinMap{"sixteen_chars_xx": 1}); resultCode(err) != types.BIN_NAME_TOO_LONG {
		t.Fatalf("bin name too long: %v", err)
	}
	if err := cl.Put(sendKey(), key(t, records.Live, "s", "long"), as.BinMap{"fifteen_chars_x": 1}); err != nil {
		t.Fatalf("15-byte bin name: %v", err)
	}
	// Types the store cannot keep are refused, not converted.
	if err := cl.Put(sendKey(), key(t, records.Live, "s", "f"), as.BinMap{"f": 1.5}); resultCode(err) != types.PARAMETER_ERROR {
		t.Fatalf("float bin: %v", err)
	}
	if err := cl.Put(sendKey(), key(t, records.Live, "s", "l"), as.BinMap{"l": []any{1, 2}}); resultCode(err) != types.PARAMETER_ERROR {
		t.Fatalf("list bin: %v", err)
	}
	ik, _ := as.NewKey(records.Live, "s", 5)
	if err := cl.Put(sendKey(), ik, as.BinMap{"a": 1}); resultCode(err) != types.PARAMETER_ERROR {
		t.Fatalf("integer key: %v", err)
	}
	if _, err := cl.Operate(nil, key(t, records.Live, "s", "ok"), as.AddOp(as.NewBin("n", 1))); resultCode(err) != types.PARAMETER_ERROR {
		t.Fatalf("add op: %v", err)
	}
	// Operate with write and read ops answers the bins after the write.
	rec, err := cl.Operate(sendKey(), key(t, records.Live, "s", "ok"), as.PutOp(as.NewBin("n", 7)), as.GetBinOp("n"))
	if err != nil || rec.Bins["n"] != 7 {
		t.Fatalf("operate: %v %v", rec, err)
	}
}
