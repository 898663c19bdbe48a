package devstore

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v7"
	"github.com/aerospike/aerospike-client-go/v7/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
)

// Raw protocol helpers: what a client that is not aerospike-client-go could send.

type field struct {
	typ  byte
	data []byte
}

func frame(typ byte, body []byte) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(len(body))|protoVersion<<56|uint64(typ)<<48)
	return append(b, body...)
}

// buildMsg builds an AS_MSG body.
func buildMsg(info1, info2, info3 byte, timeoutMs uint32, fields []field, ops []op) []byte {
	b := []byte{msgHeaderSize, info1, info2, info3, 0, 0}
	b = binary.BigEndian.AppendUint32(b, 0) // generation
	b = binary.BigEndian.AppendUint32(b, 0) // expiration
	b = binary.BigEndian.AppendUint32(b, timeoutMs)
	b = binary.BigEndian.AppendUint16(b, uint16(len(fields)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(ops)))
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f.data)+1))
		b = append(b, f.typ)
		b = append(b, f.data...)
	}
	for _, o := range ops {
		b = binary.BigEndian.AppendUint32(b, uint32(4+len(o.name)+len(o.value)))
		b = append(b, o.code, o.ptype, 0, byte(len(o.name)))
		b = append(b, o.name...)
		b = append(b, o.value...)
	}
	return b
}

func keyFields(ns, set, k string) []field {
	d := digestOf(set, k)
	return []field{{fieldNamespace, []byte(ns)}, {fieldSet, []byte(set)}, {fieldDigest, d[:]}, {fieldKey, append([]byte{ptString}, k...)}}
}

func intOp(name string, v int64) op {
	return op{code: opWrite, ptype: ptInteger, name: []byte(name), value: binary.BigEndian.AppendUint64(nil, uint64(v))}
}

// rawConn sends messages and reads answers.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, e *env) *rawConn {
	c, err := net.Dial("tcp", e.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) send(b []byte) {
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

// answer reads one proto message: its type and body; err at EOF.
func (r *rawConn) answer() (byte, []byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return 0, nil, err
	}
	body := make([]byte, binary.BigEndian.Uint64(h[:])&(1<<48-1))
	_, err := io.ReadFull(r.br, body)
	return h[1], body, err
}

// resultOf reads a single-record answer's result code.
func (r *rawConn) resultOf() byte {
	r.t.Helper()
	typ, body, err := r.answer()
	if err != nil || typ != typeMsg || len(body) < msgHeaderSize {
		r.t.Fatalf("answer type %d, %d bytes, %v", typ, len(body), err)
	}
	return body[5]
}

func TestRawProtocol(t *testing.T) {
	e := start(t, "", nil, Config{})
	r := dialRaw(t, e)

	// A well-formed write and read, pipelined: two answers, in order.
	write := buildMsg(0, info2Write, info3CreateOrReplace, 0, keyFields(records.Live, "s", "raw"), []op{intOp("n", -7)})
	read := buildMsg(info1Read|info1GetAll, 0, 0, 0, keyFields(records.Live, "s", "raw")[:3], nil)
	r.send(append(frame(typeMsg, write), frame(typeMsg, read)...))
	if rc := r.resultOf(); rc != rcOK {
		t.Fatalf("write: %d", rc)
	}
	_, body, _ := r.answer()
	if body[5] != rcOK || binary.BigEndian.Uint16(body[20:]) != 1 || int64(binary.BigEndian.Uint64(body[len(body)-8:])) != -7 {
		t.Fatalf("read answer % x", body)
	}

	// Compressed: the same read, zlib-compressed.
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(frame(typeMsg, read))
	zw.Close()
	r.send(frame(typeCompressed, append(binary.BigEndian.AppendUint64(nil, uint64(len(read)+8)), z.Bytes()...)))
	if rc := r.resultOf(); rc != rcOK {
		t.Fatalf("compressed read: %d", rc)
	}

	// Malformed messages get PARAMETER_ERROR and the connection goes on.
	for name, body := range map[string][]byte{
		"short":             {1, 2, 3},
		"bad header size":   append([]byte{200}, make([]byte, 30)...),
		"truncated field":   buildMsg(info1Read, 0, 0, 0, nil, nil)[:18],
		"unknown field":     buildMsg(info1Read, 0, 0, 0, []field{{99, []byte("x")}}, nil),
		"no digest":         buildMsg(info1Read, 0, 0, 0, []field{{fieldNamespace, []byte("live")}}, nil),
		"short digest":      buildMsg(info1Read, 0, 0, 0, []field{{fieldDigest, []byte("x")}}, nil),
		"field past end":    append(buildMsg(info1Read, 0, 0, 0, nil, nil)[:19], 0, 1, 0xff, 0xff, 0),
		"bad filter":        buildMsg(info1Read, 0, 0, 0, append(keyFields(records.Live, "s", "raw"), field{fieldFilter, []byte{0x93, 0x01}}), nil),
		"deep filter":       buildMsg(info1Read, 0, 0, 0, append(keyFields(records.Live, "s", "raw"), field{fieldFilter, bytes.Repeat([]byte{0x92, 0x12}, 200)}), nil),
		"bad op":            buildMsg(0, info2Write, 0, 0, keyFields(records.Live, "s", "raw"), []op{{code: 99, name: []byte("a")}}),
		"short integer":     buildMsg(0, info2Write, 0, 0, keyFields(records.Live, "s", "raw"), []op{{code: opWrite, ptype: ptInteger, name: []byte("a"), value: []byte{1}}}),
		"write without ops": buildMsg(0, info2Write, 0, 0, keyFields(records.Live, "s", "raw"), nil),
		"batch flag alone":  buildMsg(info1Batch|info1Read, 0, 0, 0, keyFields(records.Live, "s", "raw"), nil),
	} {
		r.send(frame(typeMsg, body))
		if rc := r.resultOf(); rc != rcParameter {
			t.Errorf("%s: result %d, want PARAMETER_ERROR", name, rc)
		}
	}
	// A malformed batch is answered by one LAST record with PARAMETER_ERROR.
	r.send(frame(typeMsg, buildMsg(info1Batch, 0, 0, 0, []field{{fieldBatchIndex, []byte{0, 0, 0, 9, 0, 1, 2}}}, nil)))
	if _, body, _ := r.answer(); len(body) != msgHeaderSize || body[5] != rcParameter || body[3]&info3Last == 0 {
		t.Fatalf("malformed batch answer % x", body)
	}
	// Info: known and unknown names.
	r.send(frame(typeInfo, []byte("node\nno-such-thing\n")))
	if typ, body, err := r.answer(); err != nil || typ != typeInfo || string(body) != "node\tBB9000000000001\nno-such-thing\tERROR::unknown or unsupported command\n" {
		t.Fatalf("info answer %q %v", body, err)
	}
	// A command whose timeout is shorter than the server's delay gets TIMEOUT.
	e.srv.SetDelay(100 * time.Millisecond)
	r.send(frame(typeMsg, buildMsg(info1Read|info1GetAll, 0, 0, 20, keyFields(records.Live, "s", "raw")[:3], nil)))
	if rc := r.resultOf(); rc != rcTimeout {
		t.Fatalf("timeout: %d", rc)
	}
	e.srv.SetDelay(0)

	// A message that cannot be framed (wrong version, unknown type) closes the
	// connection; the server goes on serving others.
	for _, bad := range [][]byte{
		{9, 3, 0, 0, 0, 0, 0, 1, 0},
		frame(7, []byte("x")),
		binary.BigEndian.AppendUint64(nil, 1<<47|protoVersion<<56|typeMsg<<48),
	} {
		r2 := dialRaw(t, e)
		r2.send(bad)
		if _, _, err := r2.answer(); err == nil {
			t.Fatalf("% x: answered instead of closing", bad[:8])
		}
	}
	if _, err := e.client.Get(nil, key(t, records.Live, "s", "raw")); err != nil {
		t.Fatalf("server after bad connections: %v", err)
	}
}

// discardConn is a net.Conn for the fuzz test: writes vanish.
type discardConn struct{ net.Conn }

func (discardConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

// FuzzMessage feeds arbitrary AS_MSG bodies to the command path: whatever they hold, the
// server answers one well-framed message and never panics. CI runs the seed corpus only.
func FuzzMessage(f *testing.F) {
	fk := keyFields(records.Live, "s", "k")
	fenced := []byte{0x93, expAnd, 0x93, expEQ, 0x93, expBin, expTypeInt, 0xa1, 'v', 0x01, 0x92, expNot, 0x93, expLT, 0x92, expBinType, 0xa1, 'v', 0x05}
	for _, seed := range [][]byte{
		buildMsg(0, info2Write, info3CreateOrReplace, 0, fk, []op{intOp("v", 1)}),
		buildMsg(0, info2Write, 0, 0, append(fk, field{fieldFilter, fenced}), []op{intOp("v", 2), {code: opWrite, ptype: ptString, name: []byte("s"), value: []byte("x")}}),
		buildMsg(info1Read|info1GetAll, 0, 0, 0, fk[:3], nil),
		buildMsg(info1Read, 0, 0, 0, fk[:3], []op{{code: opRead, name: []byte("v")}}),
		buildMsg(0, info2Write|info2Delete, 0, 0, fk[:3], nil),
		buildMsg(info1Batch, 0, 0, 0, []field{{fieldBatchIndex, batchField(fk)}}, nil),
		buildMsg(info1Batch|info1Read, 0, 0, 0, []field{{fieldBatchWithSet, batchGetField()}}, nil),
	} {
		f.Add(seed)
	}
	st, err := rankstore.Open(rankstore.Config{LiveTTL: time.Hour, CompleteTTL: time.Hour}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(Config{NodeName: "BB9", MaxRecordSize: 1 << 16}, st, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := &conn{c: discardConn{}, bw: bufio.NewWriter(io.Discard)}
		s.message(context.Background(), c, body)
		if len(c.out.b) < 8+msgHeaderSize {
			t.Fatalf("answer of %d bytes", len(c.out.b))
		}
		for b := c.out.b; len(b) > 0; {
			n := binary.BigEndian.Uint64(b) & (1<<48 - 1)
			if b[0] != protoVersion || b[1] != typeMsg || uint64(len(b)-8) < n {
				t.Fatalf("answer framed % x", b[:8])
			}
			b = b[8+n:]
		}
	})
}

// batchField is a BatchOperate field: a write with its key, then a repeat of it.
func batchField(fk []field) []byte {
	b := binary.BigEndian.AppendUint32(nil, 2)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = append(b, fk[2].data...)
	b = append(b, batchInfo|batchGen|batchTTL, 0, info2Write, 0, 0, 0, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, 3)
	b = binary.BigEndian.AppendUint16(b, 1)
	for _, f := range []field{fk[0], fk[1], fk[3]} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f.data)+1))
		b = append(b, f.typ)
		b = append(b, f.data...)
	}
	o := intOp("v", 3)
	b = binary.BigEndian.AppendUint32(b, uint32(4+len(o.name)+len(o.value)))
	b = append(b, o.code, o.ptype, 0, byte(len(o.name)))
	b = append(b, o.name...)
	b = append(b, o.value...)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = append(b, fk[2].data...)
	return append(b, batchRepeat)
}

// batchGetField is a BatchGet field (the with-set format) of one key.
func batchGetField() []byte {
	d := digestOf("s", "k")
	b := binary.BigEndian.AppendUint32(nil, 1)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = append(b, d[:]...)
	b = append(b, 0, info1Read|info1GetAll)
	b = binary.BigEndian.AppendUint16(b, 2)
	b = binary.BigEndian.AppendUint16(b, 0)
	for _, f := range []field{{fieldNamespace, []byte(records.Live)}, {fieldSet, []byte("s")}} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f.data)+1))
		b = append(b, f.typ)
		b = append(b, f.data...)
	}
	return b
}

// TestUnsupportedCommands: what the server does not implement fails at once with an
// error the client reports, never a hang.
func TestUnsupportedCommands(t *testing.T) {
	e := start(t, "", nil, Config{})
	cl := e.client
	cl.Put(sendKey(), key(t, records.Live, "s", "k"), as.BinMap{"a": 1})
	sp := as.NewScanPolicy()
	sp.TotalTimeout = 5 * time.Second
	rs, err := cl.ScanAll(sp, records.Live, "s")
	if err == nil {
		for r := range rs.Results() {
			if r.Err != nil {
				err = r.Err
				break
			}
		}
	}
	if err == nil {
		t.Fatal("scan answered without an error")
	}
	wp := sendKey()
	wp.TotalTimeout = 5 * time.Second
	if _, err := cl.Execute(wp, key(t, records.Live, "s", "k"), "pkg", "fn"); resultCode(err) != types.PARAMETER_ERROR {
		t.Fatalf("UDF: %v", err)
	}
	if err := cl.Truncate(nil, records.Live, "s", nil); err == nil {
		t.Fatal("truncate answered without an error")
	}
	// The server still serves.
	if _, err := cl.Get(nil, key(t, records.Live, "s", "k")); err != nil {
		t.Fatal(err)
	}
}
