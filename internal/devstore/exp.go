package devstore

import (
	"bytes"
	"cmp"
	"fmt"
	"math"

	"github.com/fantasy/leaderboard/records"
)

// Expression op codes (the client's expression.go) this server evaluates.
const (
	expEQ        = 1
	expNE        = 2
	expGT        = 3
	expGE        = 4
	expLT        = 5
	expLE        = 6
	expAnd       = 16
	expOr        = 17
	expNot       = 18
	expKeyExists = 71
	expBin       = 81
	expBinType   = 82
	expCond      = 123
)

// Expression value types of expBin (the client's ExpType).
const (
	expTypeInt    = 2
	expTypeString = 3
	expTypeBlob   = 6
)

const maxExprDepth = 64

// kind is the type of an expression value. unknown is what Aerospike calls "unknown":
// the value of a bin the record does not have, or of a bin of another type than the
// expression reads; it propagates through comparisons and not, and a filter that comes
// out unknown does not match.
type kind uint8

const (
	kUnknown kind = iota
	kBool
	kInt
	kStr
	kBlob
)

type value struct {
	k kind
	b bool
	i int64
	s string // kStr and kBlob
}

// expr is a decoded filter expression.
type expr struct {
	op   int   // 0 for a literal
	lit  value // literal, or expBin's name (s) and type (i)
	args []*expr
}

// parseExpr decodes a msgpack filter expression.
func parseExpr(b []byte) (*expr, error) {
	p := mpReader{b: b}
	e, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if len(p.b) != 0 {
		return nil, malformed("filter expression: %d bytes after its end", len(p.b))
	}
	return e, nil
}

type mpReader struct{ b []byte }

func (p *mpReader) need(n int) ([]byte, error) {
	if n < 0 || len(p.b) < n {
		return nil, malformed("filter expression truncated")
	}
	v := p.b[:n]
	p.b = p.b[n:]
	return v, nil
}

// header reads a msgpack header: an array's length (isArr), an int, a string's or
// byte array's bytes, a bool.
type mpItem struct {
	arr  int
	isAr bool
	i    int64
	isI  bool
	str  []byte
	isS  bool
	bv   bool
	isB  bool
}

func (p *mpReader) item() (mpItem, error) {
	h, err := p.need(1)
	if err != nil {
		return mpItem{}, err
	}
	c := h[0]
	switch {
	case c <= 0x7f:
		return mpItem{i: int64(c), isI: true}, nil
	case c >= 0xe0:
		return mpItem{i: int64(int8(c)), isI: true}, nil
	case c >= 0x90 && c <= 0x9f:
		return mpItem{arr: int(c & 0x0f), isAr: true}, nil
	case c >= 0xa0 && c <= 0xbf:
		s, err := p.need(int(c & 0x1f))
		return mpItem{str: s, isS: true}, err
	}
	var n int
	switch c {
	case 0xc2, 0xc3:
		return mpItem{bv: c == 0xc3, isB: true}, nil
	case 0xcc, 0xd0:
		n = 1
	case 0xcd, 0xd1, 0xdc:
		n = 2
	case 0xce, 0xd2, 0xdd:
		n = 4
	case 0xcf, 0xd3:
		n = 8
	case 0xd9, 0xc4:
		n = 1
	case 0xda, 0xc5:
		n = 2
	case 0xdb, 0xc6:
		n = 4
	default:
		return mpItem{}, errUnsupported{fmt.Sprintf("msgpack type 0x%02x in a filter expression", c)}
	}
	raw, err := p.need(n)
	if err != nil {
		return mpItem{}, err
	}
	var u uint64
	for _, x := range raw {
		u = u<<8 | uint64(x)
	}
	switch c {
	case 0xcc, 0xcd, 0xce:
		return mpItem{i: int64(u), isI: true}, nil
	case 0xcf:
		if u > math.MaxInt64 {
			return mpItem{}, errUnsupported{"an unsigned integer above 2^63-1 in a filter expression"}
		}
		return mpItem{i: int64(u), isI: true}, nil
	case 0xd0:
		return mpItem{i: int64(int8(u)), isI: true}, nil
	case 0xd1:
		return mpItem{i: int64(int16(u)), isI: true}, nil
	case 0xd2:
		return mpItem{i: int64(int32(u)), isI: true}, nil
	case 0xd3:
		return mpItem{i: int64(u), isI: true}, nil
	case 0xdc, 0xdd:
		if u > uint64(len(p.b)) {
			return mpItem{}, malformed("filter expression: array of %d with %d bytes left", u, len(p.b))
		}
		return mpItem{arr: int(u), isAr: true}, nil
	default: // strings and byte arrays
		s, err := p.need(int(min(u, math.MaxInt32)))
		return mpItem{str: s, isS: true}, err
	}
}

func (p *mpReader) expr(depth int) (*expr, error) {
	if depth > maxExprDepth {
		return nil, errUnsupported{fmt.Sprintf("a filter expression nested deeper than %d", maxExprDepth)}
	}
	it, err := p.item()
	if err != nil {
		return nil, err
	}
	switch {
	case it.isI:
		return &expr{lit: value{k: kInt, i: it.i}}, nil
	case it.isB:
		return &expr{lit: value{k: kBool, b: it.bv}}, nil
	case it.isS:
		// A string or blob literal: its first byte is the particle type.
		if len(it.str) == 0 {
			return nil, malformed("filter expression: empty string literal")
		}
		switch it.str[0] {
		case ptString:
			return &expr{lit: value{k: kStr, s: string(it.str[1:])}}, nil
		case ptBlob:
			return &expr{lit: value{k: kBlob, s: string(it.str[1:])}}, nil
		}
		return nil, errUnsupported{fmt.Sprintf("literal of particle type %d in a filter expression", it.str[0])}
	case !it.isAr || it.arr == 0:
		return nil, malformed("filter expression: expected an operation array")
	}
	opIt, err := p.item()
	if err != nil {
		return nil, err
	}
	if !opIt.isI {
		return nil, malformed("filter expression: operation code is not an integer")
	}
	e := &expr{op: int(opIt.i)}
	nargs := it.arr - 1
	switch e.op {
	case expBin: // [81, type, raw name]
		if nargs != 2 {
			return nil, malformed("bin expression with %d arguments", nargs)
		}
		t, err := p.item()
		if err != nil {
			return nil, err
		}
		name, err := p.item()
		if err != nil {
			return nil, err
		}
		if !t.isI || !name.isS {
			return nil, malformed("bin expression arguments")
		}
		switch t.i {
		case expTypeInt, expTypeString, expTypeBlob:
		default:
			return nil, errUnsupported{fmt.Sprintf("bin expression of type %d (int 2, string 3 and blob 6 are)", t.i)}
		}
		e.lit = value{s: string(name.str), i: t.i}
		return e, nil
	case expBinType: // [82, raw name]
		name, err := p.item()
		if err != nil {
			return nil, err
		}
		if nargs != 1 || !name.isS {
			return nil, malformed("bin type expression arguments")
		}
		e.lit = value{s: string(name.str)}
		return e, nil
	case expKeyExists:
		if nargs != 0 {
			return nil, malformed("key exists expression with arguments")
		}
		return e, nil
	case expEQ, expNE, expGT, expGE, expLT, expLE:
		if nargs != 2 {
			return nil, malformed("comparison %d with %d arguments", e.op, nargs)
		}
	case expNot:
		if nargs != 1 {
			return nil, malformed("not with %d arguments", nargs)
		}
	case expAnd, expOr:
		if nargs < 1 {
			return nil, malformed("and/or without arguments")
		}
	case expCond:
		if nargs < 3 || nargs%2 == 0 {
			return nil, malformed("cond with %d arguments", nargs)
		}
	default:
		return nil, errUnsupported{fmt.Sprintf("filter expression operation %d", e.op)}
	}
	e.args = make([]*expr, nargs)
	for i := range e.args {
		if e.args[i], err = p.expr(depth + 1); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// eval evaluates e against a record's bins.
func (e *expr) eval(bins *recordView) value {
	switch e.op {
	case 0:
		return e.lit
	case expBin:
		v0, _ := bins.get(e.lit.s)
		switch v := v0.(type) {
		case int64:
			if e.lit.i == expTypeInt {
				return value{k: kInt, i: v}
			}
		case string:
			if e.lit.i == expTypeString {
				return value{k: kStr, s: v}
			}
		case []byte:
			if e.lit.i == expTypeBlob {
				return value{k: kBlob, s: string(v)}
			}
		}
		return value{}
	case expBinType:
		t := int64(ptNull)
		v0, _ := bins.get(e.lit.s)
		switch v0.(type) {
		case int64:
			t = ptInteger
		case string:
			t = ptString
		case []byte:
			t = ptBlob
		}
		return value{k: kInt, i: t}
	case expKeyExists:
		return value{k: kBool, b: true} // the store keeps every record's key
	case expNot:
		v := e.args[0].eval(bins)
		if v.k != kBool {
			return value{}
		}
		return value{k: kBool, b: !v.b}
	case expAnd, expOr:
		short := e.op == expOr // or stops at true, and at false
		unknown := false
		for _, a := range e.args {
			v := a.eval(bins)
			if v.k != kBool {
				unknown = true
				continue
			}
			if v.b == short {
				return value{k: kBool, b: short}
			}
		}
		if unknown {
			return value{}
		}
		return value{k: kBool, b: !short}
	case expCond:
		for i := 0; i+1 < len(e.args); i += 2 {
			c := e.args[i].eval(bins)
			if c.k != kBool {
				return value{}
			}
			if c.b {
				return e.args[i+1].eval(bins)
			}
		}
		return e.args[len(e.args)-1].eval(bins)
	default: // comparisons
		l, r := e.args[0].eval(bins), e.args[1].eval(bins)
		if l.k == kUnknown || r.k == kUnknown || l.k != r.k {
			return value{}
		}
		var c int
		switch l.k {
		case kInt:
			c = cmp.Compare(l.i, r.i)
		case kBool:
			if e.op != expEQ && e.op != expNE {
				return value{}
			}
			c = cmp.Compare(b2i(l.b), b2i(r.b))
		default:
			c = bytes.Compare([]byte(l.s), []byte(r.s))
		}
		var res bool
		switch e.op {
		case expEQ:
			res = c == 0
		case expNE:
			res = c != 0
		case expGT:
			res = c > 0
		case expGE:
			res = c >= 0
		case expLT:
			res = c < 0
		case expLE:
			res = c <= 0
		}
		return value{k: kBool, b: res}
	}
}

// matches reports whether a filter lets a record through: only a true result does.
func (e *expr) matches(bins *recordView) bool {
	v := e.eval(bins)
	return v.k == kBool && v.b
}

// recordView reads a stored record's bins for an expression. Most filters read a few
// int bins (the fence), which records.Packed finds in place; a bin that reads as a zero
// value may also be absent or of another type, and only then is the record decoded whole.
type recordView struct {
	p       records.Packed
	m       records.Bins
	decoded bool
}

func (v *recordView) get(name string) (any, bool) {
	if !v.decoded {
		if i := v.p.Int(name); i != 0 {
			return i, true
		}
		var err error
		if v.m, err = records.DecodeBinsShared(v.p); err != nil {
			panic(fmt.Sprintf("BUG: stored record does not decode: %v", err)) // the store checks what it keeps
		}
		v.decoded = true
	}
	x, ok := v.m[name]
	return x, ok
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
