package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/fantasy/leaderboard/engine"
)

// RowGroupRows is the number of rows per row group the writers aim for.
const RowGroupRows = 1 << 20

// createdBy is written into every file's footer. It carries no version or time, so the
// same input always gives the same bytes.
const createdBy = "github.com/fantasy/leaderboard/dataset"

// writerProps are the Parquet settings of every file this package writes: zstd at its
// fastest level; the integer id columns named in delta are DELTA_BINARY_PACKED without
// dictionary or compression (deltas bit-pack to the bits their spread needs, a few for
// sorted contest ids and ranks; zstd barely shrinks that, and skipping dictionary and
// zstd made these columns ~3x cheaper to write). Other columns keep the default
// dictionary encoding, which suits players, captains and points.
func writerProps(delta ...string) *parquet.WriterProperties {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(1),
		parquet.WithMaxRowGroupLength(RowGroupRows),
		parquet.WithCreatedBy(createdBy),
	}
	for _, c := range delta {
		opts = append(opts,
			parquet.WithDictionaryFor(c, false),
			parquet.WithEncodingFor(c, parquet.Encodings.DeltaBinaryPacked),
			parquet.WithCompressionFor(c, compress.Codecs.Uncompressed))
	}
	return parquet.NewWriterProperties(opts...)
}

// atomicFile is a Parquet file under construction: it is written to path+".tmp-<pid>"
// and only appears under its real name, complete and synced, on commit.
type atomicFile struct {
	path, tmp string
	f         *os.File
	buf       *bufio.Writer
	fw        *pqarrow.FileWriter
	pw        *file.Writer // instead of fw, for files written a column chunk at a time
	done      bool
}

// createAtomicColumns is createAtomic for a flat schema of required columns written by
// writeColumns: each column chunk of a row group is encoded on a goroutine of its own.
// The file is the one pqarrow would write for the same schema and properties.
func createAtomicColumns(path string, sc *arrow.Schema, props *parquet.WriterProperties) (*atomicFile, error) {
	psc, err := pqarrow.ToParquet(sc, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", path, err)
	}
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", path, err)
	}
	a := &atomicFile{path: path, tmp: tmp, f: f, buf: bufio.NewWriterSize(f, 1<<20)}
	a.pw, err = file.NewParquetWriterWithError(a.buf, psc.Root(), file.WithWriterProps(props))
	if err != nil {
		a.abort()
		return nil, fmt.Errorf("cannot create %s: %w", path, err)
	}
	return a, nil
}

// writeColumns writes one row group whose columns (each []int64 or []float64, of equal
// lengths, in schema order) are encoded and compressed in parallel.
func (a *atomicFile) writeColumns(cols ...any) error {
	if a.done {
		return fmt.Errorf("%s: write after Close or Abort", a.path)
	}
	rgw, err := a.pw.AppendBufferedRowGroupChecked()
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", a.path, err)
	}
	errs := make([]error, len(cols))
	var wg sync.WaitGroup
	for i, col := range cols {
		cw, err := rgw.Column(i)
		if err != nil {
			return fmt.Errorf("cannot write %s: %w", a.path, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch v := col.(type) {
			case []int64:
				_, errs[i] = cw.(*file.Int64ColumnChunkWriter).WriteBatch(v, nil, nil)
			case []float64:
				_, errs[i] = cw.(*file.Float64ColumnChunkWriter).WriteBatch(v, nil, nil)
			default:
				panic(fmt.Sprintf("BUG: column %d of type %T", i, col))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cannot write %s: %w", a.path, err)
	}
	if err := rgw.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", a.path, err)
	}
	return nil
}

func createAtomic(path string, sc *arrow.Schema, props *parquet.WriterProperties) (*atomicFile, error) {
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", path, err)
	}
	a := &atomicFile{path: path, tmp: tmp, f: f, buf: bufio.NewWriterSize(f, 1<<20)}
	// The bufio.Writer has no Close method, so the Parquet writer's Close leaves the
	// file open for commit to sync.
	a.fw, err = pqarrow.NewFileWriter(sc, a.buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		a.abort()
		return nil, fmt.Errorf("cannot create %s: %w", path, err)
	}
	return a, nil
}

func (a *atomicFile) write(rec arrow.RecordBatch) error {
	if a.done {
		return fmt.Errorf("%s: write after Close or Abort", a.path)
	}
	if err := a.fw.Write(rec); err != nil {
		return fmt.Errorf("cannot write %s: %w", a.path, err)
	}
	return nil
}

// commit finishes the file: footer, flush, fsync, rename, and fsync of the directory so
// the rename survives a crash. On failure the temporary file is removed.
func (a *atomicFile) commit() error {
	if a.done {
		return fmt.Errorf("%s: Close after Close or Abort", a.path)
	}
	var err error
	if a.pw != nil {
		err = a.pw.Close()
	} else {
		err = a.fw.Close()
	}
	if err == nil {
		err = a.buf.Flush()
	}
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(a.tmp, a.path)
	}
	a.done = true
	if err != nil {
		os.Remove(a.tmp)
		return fmt.Errorf("cannot write %s: %w", a.path, err)
	}
	if d, err := os.Open(filepath.Dir(a.path)); err == nil {
		d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
	return nil
}

// abort removes the temporary file. It is a no-op after commit or abort.
func (a *atomicFile) abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close() // the Parquet writer is dropped unclosed: its footer would be discarded
	os.Remove(a.tmp)
}

// EntriesWriter writes entries.parquet (engine.EntriesSchema) atomically.
type EntriesWriter struct {
	a *atomicFile
}

// NewEntriesWriter starts writing entries to path. Nothing appears at path until Close
// succeeds; call Abort to give up.
func NewEntriesWriter(path string) (*EntriesWriter, error) {
	a, err := createAtomic(path, engine.EntriesSchema,
		writerProps(engine.ColContestID, engine.ColEntryID, engine.ColUserID, engine.ColTeamID))
	if err != nil {
		return nil, err
	}
	return &EntriesWriter{a: a}, nil
}

// Write appends rec, whose schema must equal engine.EntriesSchema, as one row group (or
// several, if rec has more than RowGroupRows rows): pass batches of about RowGroupRows.
func (w *EntriesWriter) Write(rec arrow.RecordBatch) error { return w.a.write(rec) }

// Close finishes the file and moves it to its path.
func (w *EntriesWriter) Close() error { return w.a.commit() }

// Abort discards everything written; it is a no-op after Close.
func (w *EntriesWriter) Abort() { w.a.abort() }

// WritePoints writes points.parquet (engine.PointsSchema) atomically.
func WritePoints(path string, playerIDs []int32, points []float64) error {
	if len(playerIDs) != len(points) {
		return fmt.Errorf("%s: %d player ids but %d points", path, len(playerIDs), len(points))
	}
	a, err := createAtomic(path, engine.PointsSchema, writerProps())
	if err != nil {
		return err
	}
	cols := []arrow.Array{int32Array(playerIDs), float64Array(points)}
	rec := array.NewRecordBatch(engine.PointsSchema, cols, int64(len(points)))
	releaseAll(cols)
	defer rec.Release()
	if err := a.write(rec); err != nil {
		a.abort()
		return err
	}
	return a.commit()
}

// RanksWriter writes ranks.parquet (engine.RanksSchema) atomically. Rows are buffered
// into row groups of RowGroupRows, which a background goroutine encodes while the caller
// fills the next one, the four column chunks of a row group on four goroutines. Its methods must not be called concurrently, and every writer must
// end with Close or Abort (which also stop its goroutine).
type RanksWriter struct {
	a         *atomicFile
	groupRows int // RowGroupRows; smaller in tests
	cur       *ranksBuf
	free      chan *ranksBuf
	full      chan *ranksBuf
	done      chan struct{}
	mu        sync.Mutex
	err       error // first background error, under mu
	ended     bool
}

type ranksBuf struct {
	contest, entry, rank []int64
	points               []float64
}

// NewRanksWriter starts writing ranks to path. Nothing appears at path until Close
// succeeds; call Abort to give up.
func NewRanksWriter(path string) (*RanksWriter, error) {
	a, err := createAtomicColumns(path, engine.RanksSchema,
		writerProps(engine.ColContestID, engine.ColEntryID, engine.ColRank))
	if err != nil {
		return nil, err
	}
	w := &RanksWriter{
		a:         a,
		groupRows: RowGroupRows,
		free:      make(chan *ranksBuf, 2),
		full:      make(chan *ranksBuf, 1),
		done:      make(chan struct{}),
	}
	w.free <- &ranksBuf{}
	w.free <- &ranksBuf{}
	go w.encode()
	return w, nil
}

// encode writes each full buffer as a row group and hands it back.
func (w *RanksWriter) encode() {
	defer close(w.done)
	for b := range w.full {
		if w.backgroundErr() == nil {
			if err := w.a.writeColumns(b.contest, b.entry, b.points, b.rank); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
		}
		b.contest, b.entry, b.points, b.rank = b.contest[:0], b.entry[:0], b.points[:0], b.rank[:0]
		w.free <- b
	}
}

func (w *RanksWriter) backgroundErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Write appends rows; the four slices must have the same length. The slices are copied,
// so the caller may reuse them.
func (w *RanksWriter) Write(contestID, entryID []int64, points []float64, rank []int64) error {
	if w.ended {
		return fmt.Errorf("%s: write after Close or Abort", w.a.path)
	}
	n := len(entryID)
	if len(contestID) != n || len(points) != n || len(rank) != n {
		return fmt.Errorf("%s: column lengths differ: contest_id %d, entry_id %d, points %d, rank %d",
			w.a.path, len(contestID), n, len(points), len(rank))
	}
	for n > 0 {
		if w.cur == nil {
			w.cur = <-w.free
			if err := w.backgroundErr(); err != nil {
				return err
			}
			if cap(w.cur.entry) < w.groupRows {
				w.cur.contest, w.cur.entry = make([]int64, 0, w.groupRows), make([]int64, 0, w.groupRows)
				w.cur.points, w.cur.rank = make([]float64, 0, w.groupRows), make([]int64, 0, w.groupRows)
			}
		}
		k := min(n, w.groupRows-len(w.cur.entry))
		w.cur.contest = append(w.cur.contest, contestID[:k]...)
		w.cur.entry = append(w.cur.entry, entryID[:k]...)
		w.cur.points = append(w.cur.points, points[:k]...)
		w.cur.rank = append(w.cur.rank, rank[:k]...)
		contestID, entryID, points, rank = contestID[k:], entryID[k:], points[k:], rank[k:]
		n -= k
		if len(w.cur.entry) == w.groupRows {
			w.full <- w.cur
			w.cur = nil
		}
	}
	return w.backgroundErr()
}

// stop flushes the partial buffer (if flush) and waits for the encoder to finish.
func (w *RanksWriter) stop(flush bool) {
	if w.ended {
		return
	}
	w.ended = true
	if flush && w.cur != nil && len(w.cur.entry) > 0 {
		w.full <- w.cur
	}
	w.cur = nil
	close(w.full)
	<-w.done
}

// Close writes the remaining rows, finishes the file and moves it to its path. On error
// no file is left behind.
func (w *RanksWriter) Close() error {
	if w.ended {
		return fmt.Errorf("%s: Close after Close or Abort", w.a.path)
	}
	w.stop(true)
	if err := w.backgroundErr(); err != nil {
		w.a.abort()
		return err
	}
	return w.a.commit()
}

// Abort discards everything written and removes the temporary file; it is a no-op after
// Close or Abort.
func (w *RanksWriter) Abort() {
	w.mu.Lock()
	if w.err == nil {
		w.err = errors.New("aborted") // makes the encoder skip what is queued
	}
	w.mu.Unlock()
	w.stop(false)
	w.a.abort()
}

// Zero-copy Arrow arrays over Go slices. The arrays borrow the slices: keep the slices
// unchanged until the arrays are released and no longer read.

func int64Array(v []int64) arrow.Array {
	return primitive(arrow.PrimitiveTypes.Int64, len(v), arrow.Int64Traits.CastToBytes(v))
}

func int32Array(v []int32) arrow.Array {
	return primitive(arrow.PrimitiveTypes.Int32, len(v), arrow.Int32Traits.CastToBytes(v))
}

func float64Array(v []float64) arrow.Array {
	return primitive(arrow.PrimitiveTypes.Float64, len(v), arrow.Float64Traits.CastToBytes(v))
}

func primitive(dt arrow.DataType, n int, b []byte) arrow.Array {
	data := array.NewData(dt, n, []*memory.Buffer{nil, memory.NewBufferBytes(b)}, nil, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// listArray builds a list<int32> array of type dt from offsets (len n+1) and values.
func listArray(dt arrow.DataType, offsets []int32, values []int32) arrow.Array {
	vals := array.NewData(arrow.PrimitiveTypes.Int32, len(values),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(values))}, nil, 0, 0)
	defer vals.Release()
	data := array.NewData(dt, len(offsets)-1,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets))},
		[]arrow.ArrayData{vals}, 0, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

func releaseAll(cols []arrow.Array) {
	for _, c := range cols {
		if c != nil {
			c.Release()
		}
	}
}
