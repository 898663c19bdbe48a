package devstore

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aerospike/aerospike-client-go/v7/pkg/ripemd160"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/fantasy/leaderboard/rankstore"
	"github.com/fantasy/leaderboard/records"
)

// Server answers Aerospike's wire protocol from a rankstore.Store.
type Server struct {
	cfg   Config
	st    *rankstore.Store
	log   *slog.Logger
	delay atomic.Int64 // ns, SetDelay
	// replicas is the `replicas` info answer: this node owns every partition.
	replicas string

	commands *prometheus.CounterVec  // by command
	results  *prometheus.CounterVec  // by result code
	byCode   [256]prometheus.Counter // results' counters of the codes this server answers
	conns    prometheus.Gauge

	mu    sync.Mutex
	open  map[net.Conn]struct{}
	unsup atomic.Int64 // unsupported requests logged, to rate the log
}

// New builds a server over st. It indexes st's records by digest (the client names
// records by digest only, unless it sends the key).
func New(cfg Config, st *rankstore.Store, log *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("store server config: %w", err)
	}
	if st == nil {
		return nil, errors.New("store server: no store")
	}
	bitmap := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, partitions/8))
	var rep strings.Builder
	for i, ns := range namespaces {
		if i > 0 {
			rep.WriteByte(';')
		}
		fmt.Fprintf(&rep, "%s:0,1,%s", ns, bitmap) // regime 0, one replica: the master
	}
	f := promauto.With(reg)
	s := &Server{cfg: cfg, st: st, log: log, replicas: rep.String(), open: map[net.Conn]struct{}{},
		commands: f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_devstore_commands_total",
			Help: "Aerospike protocol commands answered, by command (info, read, write, delete, batch)."}, []string{"command"}),
		results: f.NewCounterVec(prometheus.CounterOpts{Name: "leaderboard_devstore_records_total",
			Help: "Records read or written (batch records counted one by one), by Aerospike result code."}, []string{"result"}),
		conns: f.NewGauge(prometheus.GaugeOpts{Name: "leaderboard_devstore_connections",
			Help: "Open client connections."}),
	}
	for _, rc := range []byte{rcOK, rcServerError, rcKeyNotFound, rcGeneration, rcParameter, rcKeyExists,
		rcTimeout, rcRecordTooBig, rcKeyMismatch, rcNamespace, rcBinNameTooLong, rcFilteredOut} {
		s.byCode[rc] = s.results.WithLabelValues(resultLabel(rc))
	}
	st.IndexDigests(digestOf)
	return s, nil
}

// partitions is Aerospike's partition count; namespaces are the store's.
const partitions = 4096

var namespaces = []string{records.Live, records.Complete}

// digestOf is Aerospike's key digest of a string user key: RIPEMD-160 of the set name,
// the key's particle type and the key.
func digestOf(set, key string) rankstore.Digest {
	h := ripemd160.New()
	h.Write([]byte(set))
	h.Write([]byte{ptString})
	h.Write([]byte(key))
	var d rankstore.Digest
	h.Sum(d[:]) // this ripemd160 writes the sum into its argument
	return d
}

// SetDelay makes the server answer every data command d late (a test hook for a slow
// store). A command whose client timeout is shorter is answered TIMEOUT once it ran out,
// as the real server answers a transaction that outlived its timeout.
func (s *Server) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// Serve answers connections from ln until ctx ends, then closes ln and every connection
// and returns once their goroutines have ended.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		<-ctx.Done()
		ln.Close()
		s.mu.Lock()
		for c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
	})
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			cancel()
			return fmt.Errorf("store server: accept on %s: %w", ln.Addr(), err)
		}
		s.mu.Lock()
		if ctx.Err() != nil {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.open[c] = struct{}{}
		s.mu.Unlock()
		s.conns.Inc()
		wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.open, c)
				s.mu.Unlock()
				c.Close()
				s.conns.Dec()
			}()
			s.serveConn(ctx, c)
		})
	}
}

// conn is one client connection's state; its buffers are reused across messages.
type conn struct {
	c       net.Conn
	br      *bufio.Reader
	bw      *bufio.Writer
	in      []byte
	out     out
	m       msg
	bops    []op // batch entries' ops
	entries []batchEntry
	parts   []out // a large batch's answers, one per goroutine
	// batchFlags are the batch's policy flags; onDisk: it touches `complete`.
	batchFlags byte
	onDisk     bool
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	c := &conn{c: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10)}
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
			return // the client closed, or Serve is closing
		}
		proto := binary.BigEndian.Uint64(hdr[:])
		version, typ, size := hdr[0], hdr[1], proto&(1<<48-1)
		if version != protoVersion || size > maxMessage {
			s.log.Warn("closing a connection that sent a message this server cannot frame",
				"remote", nc.RemoteAddr(), "version", version, "type", typ, "size", size)
			return
		}
		if cap(c.in) < int(size) {
			c.in = make([]byte, size)
		}
		c.in = c.in[:size]
		if _, err := io.ReadFull(c.br, c.in); err != nil {
			return
		}
		c.out.b = c.out.b[:0]
		switch typ {
		case typeInfo:
			s.commands.WithLabelValues("info").Inc()
			s.info(c, nc.LocalAddr())
		case typeMsg:
			s.message(ctx, c, c.in)
		case typeCompressed:
			body, err := inflate(c.in)
			if err != nil {
				s.log.Warn("closing a connection that sent a bad compressed message", "remote", nc.RemoteAddr(), "err", err)
				return
			}
			s.message(ctx, c, body)
		default:
			s.log.Warn("closing a connection that sent an unknown message type", "remote", nc.RemoteAddr(), "type", typ)
			return
		}
		if _, err := c.bw.Write(c.out.b); err != nil {
			return
		}
		if c.br.Buffered() == 0 { // answer a pipeline at once, at its end
			if err := c.bw.Flush(); err != nil {
				return
			}
		}
		if cap(c.in) > 4<<20 {
			c.in = nil // do not hold a huge buffer for an idle connection
		}
		if cap(c.out.b) > 4<<20 {
			c.out.b = nil
		}
	}
}

// inflate decodes a compressed message: the uncompressed size (8 bytes), then zlib
// data holding a whole proto message.
func inflate(b []byte) ([]byte, error) {
	if len(b) < 8 {
		return nil, errors.New("compressed message shorter than its size")
	}
	n := binary.BigEndian.Uint64(b)
	if n > maxMessage || n < 8 {
		return nil, fmt.Errorf("compressed message of %d bytes", n)
	}
	r, err := zlib.NewReader(bytes.NewReader(b[8:]))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, err
	}
	if len(body) < 8 || body[1] != typeMsg {
		return nil, errors.New("compressed message does not hold an AS_MSG")
	}
	return body[8:], nil
}

// info answers an info message: one "name\tvalue" line per requested name.
func (s *Server) info(c *conn, local net.Addr) {
	at := c.out.begin(typeInfo)
	names := strings.Split(strings.TrimSpace(string(c.in)), "\n")
	if len(names) == 1 && names[0] == "" {
		names = []string{"node", "build", "edition", "version"}
	}
	for _, name := range names {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		c.out.b = append(c.out.b, name...)
		c.out.b = append(c.out.b, '\t')
		c.out.b = append(c.out.b, s.infoValue(name, local)...)
		c.out.b = append(c.out.b, '\n')
	}
	c.out.end(at)
}

func (s *Server) infoValue(name string, local net.Addr) string {
	port := 3000
	if a, ok := local.(*net.TCPAddr); ok {
		port = a.Port
	}
	switch name {
	case "node":
		return s.cfg.NodeName
	case "build":
		return "8.0.0.0"
	case "version":
		return "Aerospike Community Edition build 8.0.0.0"
	case "edition":
		return "Aerospike Community Edition"
	case "cluster-name":
		if s.cfg.ClusterName == "" {
			return "null" // what a server without cluster-name answers
		}
		return s.cfg.ClusterName
	case "partition-generation", "peers-generation":
		return "1"
	case "features":
		return "batch-any;blob-bits;pscans;pquery;query-show;truncate-namespace"
	case "partitions":
		return strconv.Itoa(partitions)
	case "replicas":
		return s.replicas
	case "namespaces":
		return strings.Join(namespaces, ";")
	case "rack-ids":
		return records.Live + ":0;" + records.Complete + ":0"
	case "peers-clear-std", "peers-clear-alt", "peers-tls-std", "peers-tls-alt":
		return "1," + strconv.Itoa(port) + ",[]" // generation, default port, no peers
	case "service-clear-std", "service-clear-alt", "service", "service-tls-std", "service-tls-alt":
		return local.String() // the address the client reached: no load balancer in between
	case "services", "services-alternate", "services-alumni":
		return ""
	case "statistics":
		return "cluster_size=1;client_connections=" + strconv.Itoa(s.openConns())
	}
	if ns, ok := strings.CutPrefix(name, "namespace/"); ok && (ns == records.Live || ns == records.Complete) {
		return "ns_cluster_size=1;replication-factor=1;storage-engine=memory"
	}
	return "ERROR::unknown or unsupported command"
}

func (s *Server) openConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// unsupported logs what a client asked for that this server does not implement (at most
// a few lines a second would be better; a development server logs each of the first 100
// and then every 1000th).
func (s *Server) unsupported(remote net.Addr, err error) {
	if n := s.unsup.Add(1); n <= 100 || n%1000 == 0 {
		s.log.Warn("answered PARAMETER_ERROR", "remote", remote, "err", err, "count", n)
	}
}

// resultLabel is a result code's metric label.
func resultLabel(rc byte) string {
	switch rc {
	case rcOK:
		return "ok"
	case rcKeyNotFound:
		return "key_not_found"
	case rcGeneration:
		return "generation"
	case rcParameter:
		return "parameter"
	case rcKeyExists:
		return "key_exists"
	case rcTimeout:
		return "timeout"
	case rcRecordTooBig:
		return "record_too_big"
	case rcKeyMismatch:
		return "key_mismatch"
	case rcNamespace:
		return "namespace"
	case rcBinNameTooLong:
		return "bin_name_too_long"
	case rcFilteredOut:
		return "filtered_out"
	}
	return strconv.Itoa(int(rc))
}
