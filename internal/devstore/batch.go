package devstore

import (
	"bytes"
	"encoding/binary"
	"net"

	"github.com/fantasy/leaderboard/rankstore"
)

// batchChunk is the size at which a batch answer is cut into another proto message.
const batchChunk = 1 << 20

// batchEntry is one decoded entry of a batch.
type batchEntry struct {
	request
	index uint32
	bad   byte // a result code that answers this entry without running it (0 = run it)
}

// parseBatch decodes a batch field into c.entries.
func (s *Server) parseBatch(c *conn, remote net.Addr) error {
	m := &c.m
	b := m.batch
	if len(b) < 5 {
		return malformed("batch field of %d bytes", len(b))
	}
	n := binary.BigEndian.Uint32(b)
	b = b[5:] // count, flags (inline, respond-all-keys: every key is answered)
	if n > maxBatchRecords || uint64(n)*25 > uint64(len(b)) {
		return malformed("batch of %d records in %d bytes", n, len(b))
	}
	var top *expr
	if m.filter != nil {
		f, err := parseExpr(m.filter)
		if err != nil {
			return err
		}
		top = f
	}
	c.entries = c.entries[:0]
	c.bops = c.bops[:0]
	var prev *batchEntry
	var prevFilter []byte
	var prevExpr *expr
	var fields msg
	for i := range n {
		if len(b) < 25 {
			return malformed("batch entry %d truncated", i)
		}
		e := batchEntry{index: binary.BigEndian.Uint32(b)}
		digest, typ := b[4:24], b[24]
		b = b[25:]
		if e.index >= n {
			return malformed("batch entry %d has index %d of %d", i, e.index, n)
		}
		if typ == batchRepeat {
			if prev == nil {
				return malformed("batch entry %d repeats no entry", i)
			}
			e.request = prev.request
			e.bad = prev.bad
			e.userKey = nil
			e.digest = digest
			c.entries = append(c.entries, e)
			continue
		}
		if m.batchType == fieldBatchWithSet || typ == 0 {
			// BatchGet's entries: a read attribute byte.
			if len(b) < 1 {
				return malformed("batch entry %d truncated", i)
			}
			e.info1 = b[0]
			b = b[1:]
		} else {
			if typ&batchInfo != 0 {
				if len(b) < 3 {
					return malformed("batch entry %d truncated", i)
				}
				e.info1, e.info2, e.info3 = b[0], b[1], b[2]
				b = b[3:]
			}
			if typ&batchGen != 0 {
				if len(b) < 2 {
					return malformed("batch entry %d truncated", i)
				}
				e.gen = uint32(binary.BigEndian.Uint16(b))
				b = b[2:]
			}
			if typ&batchTTL != 0 {
				if len(b) < 4 {
					return malformed("batch entry %d truncated", i)
				}
				e.ttl = binary.BigEndian.Uint32(b)
				b = b[4:]
			}
		}
		if len(b) < 4 {
			return malformed("batch entry %d truncated", i)
		}
		nf, no := int(binary.BigEndian.Uint16(b)), int(binary.BigEndian.Uint16(b[2:]))
		fields = msg{}
		rest, err := fields.decodeFields(b[4:], nf)
		if err != nil {
			return err
		}
		if fields.batchType != 0 {
			return malformed("batch entry %d holds a batch", i)
		}
		start := len(c.bops)
		if c.bops, rest, err = decodeOps(rest, no, c.bops); err != nil {
			return err
		}
		b = rest
		e.ops = c.bops[start:len(c.bops):len(c.bops)]
		e.digest, e.set, e.userKey = digest, fields.set, fields.key
		if ns, ok := namespaceOf(fields.ns); ok {
			e.ns = ns
		} else {
			e.bad = rcNamespace
		}
		switch {
		case fields.filter == nil:
			e.filter = top
		case prevExpr != nil && bytes.Equal(fields.filter, prevFilter):
			e.filter = prevExpr
		default:
			f, err := parseExpr(fields.filter)
			if err != nil {
				return err
			}
			e.filter, prevFilter, prevExpr = f, fields.filter, f
		}
		c.entries = append(c.entries, e)
		prev = &c.entries[len(c.entries)-1]
	}
	if len(b) != 0 {
		return malformed("%d bytes after the last batch entry", len(b))
	}
	return nil
}

// batch answers a batch: one record answer per entry, in order, then the LAST marker.
func (s *Server) batch(c *conn, remote net.Addr) {
	if err := s.parseBatch(c, remote); err != nil {
		s.unsupported(remote, err)
		s.count(rcParameter)
		at := c.out.begin(typeMsg)
		c.out.record(info3Last, rcParameter, 0, 0, 0)
		c.out.end(at)
		return
	}
	at := c.out.begin(typeMsg)
	for i := range c.entries {
		e := &c.entries[i]
		rc, st, reply := e.bad, rankstore.Stored{}, (*replyBins)(nil)
		if rc == 0 {
			var err error
			rc, st, reply, err = s.do(&e.request)
			if err != nil && rc == rcParameter {
				s.unsupported(remote, err)
			}
		}
		s.count(rc)
		s.appendRecord(&c.out, 0, rc, st, reply, e.index)
		if len(c.out.b)-at > batchChunk {
			c.out.end(at)
			if _, err := c.bw.Write(c.out.b); err != nil {
				return // the connection is gone; the read loop ends on it
			}
			c.out.b = c.out.b[:0]
			at = c.out.begin(typeMsg)
		}
	}
	c.out.record(info3Last, rcOK, 0, 0, 0)
	c.out.end(at)
}
