package devstore

import (
	"encoding/binary"
	"fmt"
)

// Proto header.
const (
	protoVersion    = 2
	typeInfo        = 1
	typeMsg         = 3
	typeCompressed  = 4
	msgHeaderSize   = 22
	maxMessage      = 128 << 20 // the client's MaxBufferSize is 120 MiB
	maxBatchRecords = 1 << 20
)

// info1..info3 flags (the client's command.go).
const (
	info1Read      = 1 << 0
	info1GetAll    = 1 << 1
	info1Batch     = 1 << 3
	info1NoBinData = 1 << 5

	info2Write        = 1 << 0
	info2Delete       = 1 << 1
	info2Generation   = 1 << 2
	info2GenerationGT = 1 << 3
	info2CreateOnly   = 1 << 5

	info3Last            = 1 << 0
	info3UpdateOnly      = 1 << 3
	info3CreateOrReplace = 1 << 4
	info3ReplaceOnly     = 1 << 5
)

// Field types.
const (
	fieldNamespace    = 0
	fieldSet          = 1
	fieldKey          = 2
	fieldDigest       = 4
	fieldBatchIndex   = 41
	fieldBatchWithSet = 42
	fieldFilter       = 43
)

// Op codes.
const (
	opRead   = 1
	opWrite  = 2
	opTouch  = 11
	opDelete = 14
	// opExpModify writes a bin with an expression's value over the stored record (the
	// client's ExpWriteOp): its value is a blob of msgpack [expression, flags].
	opExpModify = 8
)

// Particle types.
const (
	ptNull    = 0
	ptInteger = 1
	ptFloat   = 2
	ptString  = 3
	ptBlob    = 4
	ptBool    = 17
)

// Result codes (the client's types/result_code.go).
const (
	rcOK              = 0
	rcServerError     = 1
	rcKeyNotFound     = 2
	rcGeneration      = 3
	rcParameter       = 4
	rcKeyExists       = 5
	rcTimeout         = 9
	rcRecordTooBig    = 13
	rcUnsupported     = 16
	rcKeyMismatch     = 19
	rcNamespace       = 20
	rcBinNameTooLong  = 21
	rcFilteredOut     = 27
	rcOpNotApplicable = 26
)

// Batch entry flags (the client's _BATCH_MSG_*).
const (
	batchRepeat = 0x1
	batchInfo   = 0x2
	batchGen    = 0x4
	batchTTL    = 0x8
)

// maxBinName is Aerospike's bin name limit.
const maxBinName = 15

// op is one operation of a message; its slices alias the message.
type op struct {
	code  byte
	ptype byte
	name  []byte
	value []byte
}

// msg is a decoded AS_MSG; its slices alias the message.
type msg struct {
	info1, info2, info3 byte
	gen                 uint32
	ttl                 uint32
	timeoutMs           uint32
	ns, set, digest     []byte
	key                 []byte // particle type byte + value; nil without SendKey
	filter              []byte
	batchType           byte // fieldBatchIndex or fieldBatchWithSet, 0 if not a batch
	batch               []byte
	ops                 []op
}

// errMalformed is a message that does not decode.
type errMalformed struct{ what string }

func (e errMalformed) Error() string { return "malformed message: " + e.what }

func malformed(format string, args ...any) error { return errMalformed{fmt.Sprintf(format, args...)} }

// decodeMsg decodes an AS_MSG body (after the proto header) into m, reusing m.ops.
func decodeMsg(b []byte, m *msg) error {
	if len(b) < msgHeaderSize {
		return malformed("%d bytes, shorter than the %d-byte header", len(b), msgHeaderSize)
	}
	hsz := int(b[0])
	if hsz < msgHeaderSize || hsz > len(b) {
		return malformed("header size %d", hsz)
	}
	*m = msg{ops: m.ops[:0],
		info1: b[1], info2: b[2], info3: b[3],
		gen:       binary.BigEndian.Uint32(b[6:]),
		ttl:       binary.BigEndian.Uint32(b[10:]),
		timeoutMs: binary.BigEndian.Uint32(b[14:]),
	}
	nf := int(binary.BigEndian.Uint16(b[18:]))
	no := int(binary.BigEndian.Uint16(b[20:]))
	rest, err := m.decodeFields(b[hsz:], nf)
	if err != nil {
		return err
	}
	if m.ops, rest, err = decodeOps(rest, no, m.ops); err != nil {
		return err
	}
	if len(rest) != 0 {
		return malformed("%d bytes after the last op", len(rest))
	}
	return nil
}

// decodeFields reads n fields into m and returns what follows them.
func (m *msg) decodeFields(b []byte, n int) ([]byte, error) {
	for i := range n {
		if len(b) < 5 {
			return nil, malformed("field %d of %d truncated", i, n)
		}
		sz := binary.BigEndian.Uint32(b)
		if sz < 1 || uint64(sz) > uint64(len(b)-4) {
			return nil, malformed("field %d size %d with %d bytes left", i, sz, len(b)-4)
		}
		typ, data := b[4], b[5:4+sz]
		b = b[4+sz:]
		switch typ {
		case fieldNamespace:
			m.ns = data
		case fieldSet:
			m.set = data
		case fieldDigest:
			if len(data) != 20 {
				return nil, malformed("digest of %d bytes", len(data))
			}
			m.digest = data
		case fieldKey:
			if len(data) < 1 {
				return nil, malformed("empty user key")
			}
			m.key = data
		case fieldFilter:
			m.filter = data
		case fieldBatchIndex, fieldBatchWithSet:
			m.batchType, m.batch = typ, data
		default:
			return nil, errUnsupported{fmt.Sprintf("field type %d (%s)", typ, fieldPurpose(typ))}
		}
	}
	return b, nil
}

// fieldPurpose names what a field this server does not read is for.
func fieldPurpose(typ byte) string {
	switch {
	case typ >= 8 && typ <= 15:
		return "scans and queries"
	case typ >= 21 && typ <= 26:
		return "secondary index queries"
	case typ >= 30 && typ <= 33:
		return "UDFs"
	case typ == 40:
		return "query bin list"
	}
	return "unknown"
}

// decodeOps appends n ops read from b to ops and returns what follows them.
func decodeOps(b []byte, n int, ops []op) ([]op, []byte, error) {
	for i := range n {
		if len(b) < 8 {
			return ops, nil, malformed("op %d of %d truncated", i, n)
		}
		sz := binary.BigEndian.Uint32(b)
		nl := int(b[7])
		if sz < 4 || uint64(sz) > uint64(len(b)-4) || nl > int(sz)-4 {
			return ops, nil, malformed("op %d size %d, name %d bytes, with %d bytes left", i, sz, nl, len(b)-4)
		}
		ops = append(ops, op{code: b[4], ptype: b[5], name: b[8 : 8+nl], value: b[8+nl : 4+sz]})
		b = b[4+sz:]
	}
	return ops, b, nil
}

// errUnsupported is something the real server does and this one does not: answered
// PARAMETER_ERROR and logged.
type errUnsupported struct{ what string }

func (e errUnsupported) Error() string { return "not supported by leaderboard store: " + e.what }

// out builds answers.
type out struct{ b []byte }

// begin starts a proto message; end fills its size in.
func (o *out) begin(typ byte) int {
	at := len(o.b)
	o.b = append(o.b, protoVersion, typ, 0, 0, 0, 0, 0, 0)
	return at
}

func (o *out) end(at int) {
	size := uint64(len(o.b) - at - 8)
	binary.BigEndian.PutUint64(o.b[at:], size|protoVersion<<56|uint64(o.b[at+1])<<48)
}

// record appends a 22-byte record header; it returns the offset of its op count.
func (o *out) record(info3, result byte, gen, voidTime, batchIndex uint32) int {
	o.b = append(o.b, msgHeaderSize, 0, 0, info3, 0, result)
	o.b = binary.BigEndian.AppendUint32(o.b, gen)
	o.b = binary.BigEndian.AppendUint32(o.b, voidTime)
	o.b = binary.BigEndian.AppendUint32(o.b, batchIndex)
	o.b = append(o.b, 0, 0, 0, 0) // field count, op count
	return len(o.b) - 2
}

// bin appends one bin as a read op.
func (o *out) bin(name string, v any) {
	var pt byte
	var vlen int
	switch x := v.(type) {
	case int64:
		pt, vlen = ptInteger, 8
	case string:
		pt, vlen = ptString, len(x)
	case []byte:
		pt, vlen = ptBlob, len(x)
	default:
		panic(fmt.Sprintf("BUG: bin %q holds %T", name, v))
	}
	o.b = binary.BigEndian.AppendUint32(o.b, uint32(4+len(name)+vlen))
	o.b = append(o.b, opRead, pt, 0, byte(len(name)))
	o.b = append(o.b, name...)
	switch x := v.(type) {
	case int64:
		o.b = binary.BigEndian.AppendUint64(o.b, uint64(x))
	case string:
		o.b = append(o.b, x...)
	case []byte:
		o.b = append(o.b, x...)
	}
}

func (o *out) setOps(at int, n int) { binary.BigEndian.PutUint16(o.b[at:], uint16(n)) }
