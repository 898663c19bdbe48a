package devstore

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"sync"

	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
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
	c.batchFlags = b[4] // allow inline, allow inline SSD, respond all keys (every key is answered)
	b = b[5:]
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
	c.onDisk = false
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
			c.onDisk = c.onDisk || ns == records.Complete
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

// Batch flags.
const (
	batchAllowInline    = 0x1
	batchAllowInlineSSD = 0x2
)

// batch answers a batch: one record answer per entry, then the LAST marker. Like the
// server, it runs the batch inline (in order, on the connection's goroutine) when the
// policy allows it (AllowInline, and AllowInlineSSD when the batch touches the on-disk
// namespace `complete`); otherwise a large batch is run by several goroutines, window by
// window, as the server hands it to its service threads: records of the same key are
// then not run in order. The answers keep the entries' order either way.
func (s *Server) batch(c *conn, remote net.Addr) {
	if err := s.parseBatch(c, remote); err != nil {
		s.unsupported(remote, err)
		s.count(rcParameter)
		at := c.out.begin(typeMsg)
		c.out.record(info3Last, rcParameter, 0, 0, 0)
		c.out.end(at)
		return
	}
	workers := runtime.GOMAXPROCS(0)
	inline := c.batchFlags&batchAllowInline != 0 && (!c.onDisk || c.batchFlags&batchAllowInlineSSD != 0)
	if inline || workers == 1 || len(c.entries) < 2*batchWindow {
		if !s.render(&c.out, c.entries, remote, c.bw) {
			return
		}
	} else {
		if len(c.parts) < workers {
			c.parts = make([]out, workers)
		}
		for lo := 0; lo < len(c.entries); lo += workers * batchWindow {
			hi := min(lo+workers*batchWindow, len(c.entries))
			var wg sync.WaitGroup
			n := 0
			for w := lo; w < hi; w += batchWindow {
				o := &c.parts[n]
				entries := c.entries[w:min(w+batchWindow, hi)]
				n++
				wg.Go(func() {
					o.b = o.b[:0]
					s.render(o, entries, remote, nil)
				})
			}
			wg.Wait()
			for _, o := range c.parts[:n] {
				if _, err := c.bw.Write(o.b); err != nil {
					return // the connection is gone; the read loop ends on it
				}
			}
		}
		for i := range c.parts { // do not hold a huge answer for an idle connection
			if cap(c.parts[i].b) > 4<<20 {
				c.parts[i].b = nil
			}
		}
	}
	at := c.out.begin(typeMsg)
	c.out.record(info3Last, rcOK, 0, 0, 0)
	c.out.end(at)
}

// batchWindow is how many entries one goroutine runs at a time in a large batch.
const batchWindow = 64

// render runs entries and appends their answers to o as proto messages of about
// batchChunk bytes. With a writer, each full message is written out and o reset; it
// reports false when the write failed.
func (s *Server) render(o *out, entries []batchEntry, remote net.Addr, w io.Writer) bool {
	at := o.begin(typeMsg)
	for i := range entries {
		e := &entries[i]
		rc, st, reply := e.bad, rankstore.Stored{}, (*replyBins)(nil)
		if rc == 0 {
			var err error
			rc, st, reply, err = s.do(&e.request)
			if err != nil && rc == rcParameter {
				s.unsupported(remote, err)
			}
		}
		s.count(rc)
		s.appendRecord(o, 0, rc, st, reply, e.index)
		if len(o.b)-at > batchChunk {
			o.end(at)
			if w != nil {
				if _, err := w.Write(o.b); err != nil {
					return false
				}
				o.b = o.b[:0]
			}
			at = o.begin(typeMsg)
		}
	}
	if len(o.b)-at == 8 { // nothing since the last message
		o.b = o.b[:at]
		return true
	}
	o.end(at)
	if w != nil {
		if _, err := w.Write(o.b); err != nil {
			return false
		}
		o.b = o.b[:0]
	}
	return true
}
