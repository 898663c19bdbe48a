package devstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"time"

	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
)

// citrusleafEpoch is Aerospike's epoch (2010-01-01 UTC): record void times count seconds
// from it.
const citrusleafEpoch = 1262304000

// request is one record's command: a single message, or one entry of a batch.
type request struct {
	info1, info2, info3 byte
	gen                 uint32
	ttl                 uint32
	ns                  string
	set                 []byte
	digest              []byte
	userKey             []byte
	filter              *expr
	ops                 []op
}

// codeError is a command's failure with its result code.
type codeError struct {
	rc  byte
	msg string
}

func (e *codeError) Error() string { return e.msg }

func fail(rc byte, format string, args ...any) *codeError {
	return &codeError{rc: rc, msg: fmt.Sprintf(format, args...)}
}

// message answers one AS_MSG.
func (s *Server) message(ctx context.Context, c *conn, body []byte) {
	remote := c.c.RemoteAddr()
	err := decodeMsg(body, &c.m)
	if err == nil && c.m.batchType == 0 && c.m.info1&info1Batch != 0 {
		err = malformed("batch flag without a batch field")
	}
	if err != nil {
		s.unsupported(remote, err)
		s.commands.WithLabelValues("malformed").Inc()
		s.answerOne(c, rcParameter, rankstore.Stored{}, nil)
		return
	}
	if !s.wait(ctx, c.m.timeoutMs) {
		s.count(rcTimeout)
		if c.m.batchType != 0 {
			at := c.out.begin(typeMsg)
			c.out.record(info3Last, rcTimeout, 0, 0, 0)
			c.out.end(at)
		} else {
			s.answerOne(c, rcTimeout, rankstore.Stored{}, nil)
		}
		return
	}
	if c.m.batchType != 0 {
		s.commands.WithLabelValues("batch").Inc()
		s.batch(c, remote)
		return
	}
	m := &c.m
	r := request{info1: m.info1, info2: m.info2, info3: m.info3, gen: m.gen, ttl: m.ttl,
		set: m.set, digest: m.digest, userKey: m.key, ops: m.ops}
	rc, st, reply := s.single(&r, m, remote)
	s.answerOne(c, rc, st, reply)
}

// single runs a message's one-record command.
func (s *Server) single(r *request, m *msg, remote net.Addr) (byte, rankstore.Stored, *replyBins) {
	switch {
	case m.info2&info2Write != 0:
		s.commands.WithLabelValues("write").Inc()
	case m.info1&info1Read != 0:
		s.commands.WithLabelValues("read").Inc()
	default:
		s.commands.WithLabelValues("other").Inc()
	}
	ns, ok := namespaceOf(m.ns)
	if !ok {
		return s.count(rcNamespace), rankstore.Stored{}, nil
	}
	r.ns = ns
	if m.digest == nil {
		s.unsupported(remote, errors.New("a command without a digest field"))
		return s.count(rcParameter), rankstore.Stored{}, nil
	}
	if m.filter != nil {
		f, err := parseExpr(m.filter)
		if err != nil {
			s.unsupported(remote, err)
			return s.count(rcParameter), rankstore.Stored{}, nil
		}
		r.filter = f
	}
	rc, st, reply, err := s.do(r)
	if err != nil && rc == rcParameter {
		s.unsupported(remote, err)
	}
	return s.count(rc), st, reply
}

// count counts a record's result code.
func (s *Server) count(rc byte) byte {
	if c := s.byCode[rc]; c != nil {
		c.Inc()
	} else {
		s.results.WithLabelValues(resultLabel(rc)).Inc()
	}
	return rc
}

// wait applies SetDelay; it reports false when the command's timeout ran out first.
func (s *Server) wait(ctx context.Context, timeoutMs uint32) bool {
	d := time.Duration(s.delay.Load())
	if d <= 0 {
		return true
	}
	timeout := time.Duration(timeoutMs) * time.Millisecond
	expired := timeoutMs > 0 && d >= timeout
	if expired {
		d = timeout
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return !expired
}

func namespaceOf(b []byte) (string, bool) {
	switch string(b) {
	case records.Live:
		return records.Live, true
	case records.Complete:
		return records.Complete, true
	}
	return "", false
}

// replyBins says which bins of the stored record an answer carries.
type replyBins struct {
	all   bool
	names [][]byte
}

// answerOne writes a single command's answer.
func (s *Server) answerOne(c *conn, rc byte, st rankstore.Stored, reply *replyBins) {
	at := c.out.begin(typeMsg)
	s.appendRecord(&c.out, 0, rc, st, reply, 0)
	c.out.end(at)
}

// appendRecord appends one record's answer: header and the bins reply asks for.
func (s *Server) appendRecord(o *out, info3, rc byte, st rankstore.Stored, reply *replyBins, index uint32) {
	opsAt := o.record(info3, rc, st.Gen, voidTime(st), index)
	if rc != rcOK || reply == nil || st.Bins == nil {
		return
	}
	bins, err := records.DecodeBinsShared(st.Bins)
	if err != nil { // the store checks every record it keeps
		panic(fmt.Sprintf("BUG: stored record does not decode: %v", err))
	}
	n := 0
	if reply.all {
		for name, v := range bins {
			o.bin(name, v)
			n++
		}
	} else {
		for _, name := range reply.names {
			if v, ok := bins[string(name)]; ok {
				o.bin(string(name), v)
				n++
			}
		}
	}
	o.setOps(opsAt, n)
}

// voidTime is a record's expiry as the protocol says it: seconds since the citrusleaf
// epoch, 0 for a record that never expires.
func voidTime(st rankstore.Stored) uint32 {
	if st.Expires == rankstore.NeverExpires || st.Expires == 0 {
		return 0
	}
	sec := (st.Expires + int64(time.Second) - 1) / int64(time.Second)
	v := sec - citrusleafEpoch
	if v < 1 {
		return 1
	}
	if v > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}

// resolve finds the record's set and key: from the user key when the client sent it,
// else from the digest index.
func (s *Server) resolve(r *request) (set, key string, found bool, err *codeError) {
	var d rankstore.Digest
	copy(d[:], r.digest)
	iset, ikey, indexed := s.st.KeyOfDigest(r.ns, d)
	if r.userKey == nil {
		return iset, ikey, indexed, nil
	}
	if r.userKey[0] != ptString {
		return "", "", false, fail(rcParameter, "user key of particle type %d: leaderboard store keeps string keys only", r.userKey[0])
	}
	key = string(r.userKey[1:])
	if indexed && (ikey != key || iset != string(r.set)) {
		return "", "", false, fail(rcKeyMismatch, "digest belongs to %s/%s, not %s/%s", iset, ikey, r.set, key)
	}
	return string(r.set), key, true, nil
}

// do runs one record's command.
func (s *Server) do(r *request) (byte, rankstore.Stored, *replyBins, error) {
	set, key, found, cerr := s.resolve(r)
	if cerr != nil {
		return cerr.rc, rankstore.Stored{}, nil, cerr
	}
	if r.info2&info2Write == 0 {
		return s.read(r, set, key, found)
	}
	if len(r.ops) == 0 && r.info2&info2Delete == 0 {
		e := fail(rcParameter, "a write without ops")
		return e.rc, rankstore.Stored{}, nil, e
	}
	if !found {
		if r.info2&info2Delete != 0 || hasOp(r.ops, opDelete) || hasOp(r.ops, opTouch) && len(r.ops) == 1 {
			return rcKeyNotFound, rankstore.Stored{}, nil, nil
		}
		e := fail(rcParameter, "write of an unknown digest without its key: leaderboard store needs WritePolicy.SendKey (or a record it already holds)")
		return e.rc, rankstore.Stored{}, nil, e
	}
	return s.write(r, set, key)
}

func hasOp(ops []op, code byte) bool {
	for _, o := range ops {
		if o.code == code {
			return true
		}
	}
	return false
}

// read answers a read (all bins, named bins or the header only).
func (s *Server) read(r *request, set, key string, found bool) (byte, rankstore.Stored, *replyBins, error) {
	if r.info1&info1Read == 0 {
		e := fail(rcParameter, "a command that neither reads nor writes (info1 %#x info2 %#x)", r.info1, r.info2)
		return e.rc, rankstore.Stored{}, nil, e
	}
	reply := &replyBins{all: r.info1&info1GetAll != 0}
	for _, o := range r.ops {
		if o.code != opRead {
			e := fail(rcParameter, "read op %d (only plain bin reads are supported)", o.code)
			return e.rc, rankstore.Stored{}, nil, e
		}
		if len(o.name) == 0 {
			reply.all = true
		} else {
			reply.names = append(reply.names, o.name)
		}
	}
	if r.info1&info1NoBinData != 0 {
		reply = nil
	}
	if !found {
		return rcKeyNotFound, rankstore.Stored{}, nil, nil
	}
	st, ok, err := s.st.Lookup(r.ns, set, key)
	if err != nil {
		return rcServerError, rankstore.Stored{}, nil, err
	}
	if !ok {
		return rcKeyNotFound, rankstore.Stored{}, nil, nil
	}
	if r.filter != nil && !r.filter.matches(&recordView{p: st.Bins}) {
		return rcFilteredOut, rankstore.Stored{}, nil, nil
	}
	return rcOK, st, reply, nil
}

// binWrite is one bin a write sets (v nil: removes); exp, when set, computes v from the
// stored record (an expression write).
type binWrite struct {
	name  string
	v     any
	exp   *expr
	flags int64
}

// Expression write flags (the client's ExpWriteFlags) this server honours.
const (
	expWriteEvalNoFail   = 1 << 4
	expWritePolicyNoFail = 1 << 3
)

// expWrite decodes an expression write op: msgpack [expression, flags] in a blob.
func expWrite(o op) (binWrite, *codeError) {
	if o.ptype != ptBlob {
		return binWrite{}, fail(rcParameter, "expression write to bin %q: particle type %d, want a blob", o.name, o.ptype)
	}
	p := mpReader{b: o.value}
	it, err := p.item()
	if err != nil || !it.isAr || it.arr != 2 {
		return binWrite{}, fail(rcParameter, "expression write to bin %q: want [expression, flags]", o.name)
	}
	e, err := p.expr(0)
	if err != nil {
		return binWrite{}, fail(rcParameter, "expression write to bin %q: %v", o.name, err)
	}
	fl, err := p.item()
	if err != nil || !fl.isI || len(p.b) != 0 {
		return binWrite{}, fail(rcParameter, "expression write to bin %q: want its flags after the expression", o.name)
	}
	return binWrite{name: string(o.name), exp: e, flags: fl.i}, nil
}

// resolve computes the expression writes of ws over the stored record (nil: none),
// dropping those whose expression is unknown with EvalNoFail (a bin the record lacks).
func resolve(ws []binWrite, stored records.Packed) ([]binWrite, *codeError) {
	out := make([]binWrite, 0, len(ws))
	for _, w := range ws {
		if w.exp == nil {
			out = append(out, w)
			continue
		}
		var v value
		if stored != nil {
			v = w.exp.eval(&recordView{p: stored})
		}
		switch v.k {
		case kInt:
			w.v = v.i
		case kStr:
			w.v = v.s
		case kBlob:
			w.v = []byte(v.s)
		default:
			if w.flags&(expWriteEvalNoFail|expWritePolicyNoFail) != 0 {
				continue
			}
			return nil, fail(rcOpNotApplicable, "expression write to bin %q: the expression is unknown or not a bin value over this record", w.name)
		}
		out = append(out, w)
	}
	return out, nil
}

// write runs a write: bins, touch, delete, with the record-exists action, generation
// check and filter of the request, atomically against the stored record.
func (s *Server) write(r *request, set, key string) (byte, rankstore.Stored, *replyBins, error) {
	var writes []binWrite
	var reply *replyBins
	hasExp := false
	del := r.info2&info2Delete != 0
	for _, o := range r.ops {
		switch o.code {
		case opWrite:
			if len(o.name) > maxBinName {
				e := fail(rcBinNameTooLong, "bin name %q is longer than %d bytes", o.name, maxBinName)
				return e.rc, rankstore.Stored{}, nil, e
			}
			v, err := particle(o)
			if err != nil {
				return err.rc, rankstore.Stored{}, nil, err
			}
			writes = append(writes, binWrite{name: string(o.name), v: v})
		case opExpModify:
			if len(o.name) > maxBinName {
				e := fail(rcBinNameTooLong, "bin name %q is longer than %d bytes", o.name, maxBinName)
				return e.rc, rankstore.Stored{}, nil, e
			}
			w, cerr := expWrite(o)
			if cerr != nil {
				return cerr.rc, rankstore.Stored{}, nil, cerr
			}
			writes = append(writes, w)
			hasExp = true
		case opTouch:
		case opDelete:
			del = true
		case opRead:
			if reply == nil {
				reply = &replyBins{}
			}
			if len(o.name) == 0 {
				reply.all = true
			} else {
				reply.names = append(reply.names, o.name)
			}
		default:
			e := fail(rcParameter, "write op %d (write, touch, delete and read are supported)", o.code)
			return e.rc, rankstore.Stored{}, nil, e
		}
	}
	// A touch keeps the record's bins whatever the exists action says.
	replace := (r.info3&(info3CreateOrReplace|info3ReplaceOnly) != 0 || r.info2&info2CreateOnly != 0) && !hasOp(r.ops, opTouch)
	if hasExp && r.info3&(info3CreateOrReplace|info3ReplaceOnly) != 0 {
		// Expression writes read the stored record: write them with UPDATE.
		e := fail(rcParameter, "expression writes with a replace: use UPDATE (a replace does not read the stored record)")
		return e.rc, rankstore.Stored{}, nil, e
	}
	ttl, keepTTL := ttlOf(r.ttl)
	var packed records.Packed
	if replace && !del && !hasExp { // the new record does not depend on the stored one: pack it outside the lock
		var cerr *codeError
		if packed, cerr = s.pack(set, key, writes, nil); cerr != nil {
			return cerr.rc, rankstore.Stored{}, nil, cerr
		}
	}
	st, _, err := s.st.Mutate(r.ns, set, key, func(cur rankstore.Stored, exists bool) (rankstore.Change, error) {
		switch {
		case exists && r.info2&info2CreateOnly != 0:
			return rankstore.Change{}, fail(rcKeyExists, "record exists (create only)")
		case !exists && (r.info3&(info3UpdateOnly|info3ReplaceOnly) != 0 || del || len(r.ops) == 1 && r.ops[0].code == opTouch):
			return rankstore.Change{}, fail(rcKeyNotFound, "record does not exist")
		case exists && r.info2&info2Generation != 0 && cur.Gen != r.gen:
			return rankstore.Change{}, fail(rcGeneration, "generation %d, expected %d", cur.Gen, r.gen)
		case exists && r.info2&info2GenerationGT != 0 && r.gen <= cur.Gen:
			return rankstore.Change{}, fail(rcGeneration, "generation %d, expected one above it (%d given)", cur.Gen, r.gen)
		}
		if exists && r.filter != nil && !r.filter.matches(&recordView{p: cur.Bins}) {
			return rankstore.Change{}, fail(rcFilteredOut, "filtered out")
		}
		var bins records.Bins
		if exists && !replace && !del {
			var err error
			if bins, err = records.DecodeBinsShared(cur.Bins); err != nil {
				return rankstore.Change{}, err
			}
		}
		if del {
			return rankstore.Change{Op: rankstore.Remove}, nil
		}
		p := packed
		if !replace || hasExp {
			ws := writes
			if hasExp {
				var stored records.Packed
				if exists {
					stored = cur.Bins
				}
				var cerr *codeError
				if ws, cerr = resolve(writes, stored); cerr != nil {
					return rankstore.Change{}, cerr
				}
			}
			var cerr *codeError
			if p, cerr = s.pack(set, key, ws, bins); cerr != nil {
				return rankstore.Change{}, cerr
			}
		}
		if len(p) == 1 { // no bins left: Aerospike deletes a record whose last bin goes
			if !exists {
				return rankstore.Change{}, fail(rcKeyNotFound, "record does not exist")
			}
			return rankstore.Change{Op: rankstore.Remove}, nil
		}
		return rankstore.Change{Op: rankstore.Write, Bins: p, TTL: ttl, KeepTTL: keepTTL}, nil
	})
	var ce *codeError
	switch {
	case errors.As(err, &ce):
		return ce.rc, rankstore.Stored{}, nil, ce
	case err != nil:
		return rcServerError, rankstore.Stored{}, nil, err
	}
	return rcOK, st, reply, nil
}

// pack builds a record from base (the stored bins, nil for a replace) and writes.
func (s *Server) pack(set, key string, writes []binWrite, base records.Bins) (records.Packed, *codeError) {
	bins := make(records.Bins, len(base)+len(writes))
	for k, v := range base {
		bins[k] = v
	}
	for _, w := range writes {
		if w.v == nil {
			delete(bins, w.name)
		} else {
			bins[w.name] = w.v
		}
	}
	p, err := records.Pack(bins)
	if err != nil {
		return nil, fail(rcParameter, "%v", err)
	}
	if size := len(p) + len(set) + len(key); size > s.cfg.MaxRecordSize {
		return nil, fail(rcRecordTooBig, "record %s/%s of %d bytes is larger than max-record-size %d", set, key, size, s.cfg.MaxRecordSize)
	}
	return p, nil
}

// particle decodes a write op's value: int64, string or []byte, nil for a null that
// removes the bin. A []byte aliases the message: the write packs it (records.Pack copies)
// before the connection reads the next message into the buffer.
func particle(o op) (any, *codeError) {
	switch o.ptype {
	case ptNull:
		return nil, nil
	case ptInteger:
		if len(o.value) != 8 {
			return nil, fail(rcParameter, "integer bin %q of %d bytes", o.name, len(o.value))
		}
		return int64(binary.BigEndian.Uint64(o.value)), nil
	case ptString:
		return string(o.value), nil
	case ptBlob:
		return o.value, nil
	}
	return nil, fail(rcParameter, "bin %q of particle type %d: leaderboard store keeps int64, string and blob bins only", o.name, o.ptype)
}

// ttlOf reads a write's expiration field: 0 the namespace's default, 0xFFFFFFFF never
// expire, 0xFFFFFFFE keep the record's TTL, else seconds.
func ttlOf(e uint32) (ttl time.Duration, keep bool) {
	switch e {
	case 0:
		return 0, false
	case math.MaxUint32:
		return -1, false
	case math.MaxUint32 - 1:
		return 0, true
	}
	return time.Duration(e) * time.Second, false
}
