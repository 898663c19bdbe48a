package dataset

import (
	"encoding/binary"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// The fast path of readBatches. pqarrow's record reader is general: it rebuilds any
// nesting from definition and repetition levels a batch at a time, through builders and
// validity bitmaps, over arrow-go's level and value decoders, which go a few values at a
// time; most of ReadEntries' time went there. The files read here are flat columns of
// int32, int64 or double plus at most a list<int32>, with no nulls. For those the fast
// path takes the decompressed pages of each leaf column of a row group from arrow-go's
// page reader and decodes them itself (pagedecode.go) straight into Go slices: values,
// and for the list the offsets of its rows, found from the repetition levels. It then
// cuts the slices into batches of zero-copy Arrow arrays.
//
// It only decodes what it fully understands: a field of another type or physical type,
// a list nested otherwise, a null anywhere (a null list or element included), an
// encoding it does not know, or anything malformed or inconsistent makes it give the row
// group back to pqarrow, which then reads it exactly as before: the batches, the null
// errors and the decoding errors are pqarrow's own. Nothing of the row group has been
// delivered by then, since it delivers a row group only once it is all decoded.

// readMode picks the decoder of readBatches; tests and benchmarks force one.
type readMode uint8

const (
	readAuto     readMode = iota // the fast path where it applies, pqarrow for the rest
	readPQArrow                  // pqarrow only: the reference
	readFastOnly                 // the fast path only: a row group it gives back is an error (tests)
)

// maxFastRows bounds the rows of a row group (from its metadata) that the fast path
// allocates for up front; larger row groups go to pqarrow.
const maxFastRows = 1 << 27

type fastKind uint8

const (
	fastInt64 fastKind = iota
	fastInt32
	fastFloat64
	fastListInt32
)

// fastCol is how the fast path reads one field of want.
type fastCol struct {
	kind     fastKind
	leaf     int // Parquet leaf column
	maxDef   int16
	maxRep   int16
	emptyDef int16 // lists: the definition level of an empty (present) list
	dt       arrow.DataType
	elem     arrow.DataType // lists: the element type
}

// fastPlan reads the fields of want from one file; nil where some field is beyond it.
type fastPlan struct {
	pf   *file.Reader
	want *arrow.Schema
	cols []fastCol
	// the order in which a row group's columns are decoded: the largest first, so that
	// the goroutines sharing a row group finish together.
	order []int
}

// planFast returns the fast plan for the top-level fields (as findColumns found them, of
// the wanted types) of the file, or nil if some field is not one the fast path reads.
func planFast(pf *file.Reader, fr *pqarrow.FileReader, want *arrow.Schema, fields []int) *fastPlan {
	sc := pf.MetaData().Schema
	p := &fastPlan{pf: pf, want: want, cols: make([]fastCol, want.NumFields())}
	for i, f := range want.Fields() {
		sf := &fr.Manifest.Fields[fields[i]]
		c := fastCol{dt: f.Type}
		var phys parquet.Type
		switch dt := f.Type.(type) {
		case *arrow.Int64Type:
			c.kind, phys = fastInt64, parquet.Types.Int64
		case *arrow.Int32Type:
			c.kind, phys = fastInt32, parquet.Types.Int32
		case *arrow.Float64Type:
			c.kind, phys = fastFloat64, parquet.Types.Double
		case *arrow.ListType:
			if dt.Elem().ID() != arrow.INT32 || len(sf.Children) != 1 {
				return nil
			}
			c.kind, phys, c.elem = fastListInt32, parquet.Types.Int32, dt.Elem()
			sf = &sf.Children[0]
		default:
			return nil
		}
		if !sf.IsLeaf() || sf.ColIndex < 0 || sf.ColIndex >= sc.NumColumns() {
			return nil
		}
		col := sc.Column(sf.ColIndex)
		if col.PhysicalType() != phys {
			return nil
		}
		c.leaf, c.maxDef, c.maxRep = sf.ColIndex, col.MaxDefinitionLevel(), col.MaxRepetitionLevel()
		// The nodes from the top-level field down to the leaf.
		var path []schema.Node
		for n := col.SchemaNode(); n != nil && n.Parent() != nil; n = n.Parent() {
			path = append([]schema.Node{n}, path...)
		}
		if c.kind != fastListInt32 {
			// A top-level primitive: required, or optional (one definition level).
			if len(path) != 1 || col.MaxRepetitionLevel() != 0 || c.maxDef > 1 {
				return nil
			}
		} else {
			// A list: one repeated node (the one-, two- or three-level list encodings),
			// at most three nodes deep. A level below the repeated node's is a null or
			// empty list; above it, a null element.
			if len(path) > 3 || col.MaxRepetitionLevel() != 1 {
				return nil
			}
			var def, repDef int16
			for _, n := range path {
				switch n.RepetitionType() {
				case parquet.Repetitions.Optional:
					def++
				case parquet.Repetitions.Repeated:
					def++
					repDef = def
				}
			}
			if repDef == 0 || def != c.maxDef || c.maxDef-repDef > 1 {
				return nil
			}
			c.emptyDef = repDef - 1
		}
		p.cols[i] = c
	}
	for i, c := range p.cols {
		if c.kind == fastListInt32 {
			p.order = append(p.order, i)
		}
	}
	for i, c := range p.cols {
		if c.kind != fastListInt32 {
			p.order = append(p.order, i)
		}
	}
	return p
}

// rgBuf holds one decoded row group. The arrays of its batches borrow its slices, each
// through a memory.Buffer whose allocator is the rgBuf itself: when the last of them is
// released (and the decoder's own hold), it goes back to its pool for the next row
// group. A caller that keeps a batch (Retain) keeps the rgBuf out of the pool until it
// releases it; one that never releases it leaves it to the garbage collector.
type rgBuf struct {
	pool *bufPool
	refs atomic.Int64
	cols []colBuf
}

type colBuf struct {
	i64  []int64
	i32  []int32 // int32 values, or the values of a list
	f64  []float64
	off  []int32 // lists: offsets of the row group's rows into i32, numRows+1
	boff []int32 // lists: the offsets of each batch, rebased to 0
}

func (b *rgBuf) release() {
	if n := b.refs.Add(-1); n == 0 {
		b.pool.put(b)
	} else if n < 0 {
		panic("BUG: rgBuf released too often")
	}
}

// Allocate, Reallocate and Free make an rgBuf the memory.Allocator of the buffers that
// borrow its slices: Free is their last Release.
func (b *rgBuf) Allocate(int) []byte           { panic("BUG: allocation from a decoded row group") }
func (b *rgBuf) Reallocate(int, []byte) []byte { panic("BUG: reallocation in a decoded row group") }
func (b *rgBuf) Free([]byte)                   { b.release() }
func (b *rgBuf) buffer(data []byte) *memory.Buffer {
	b.refs.Add(1)
	return memory.NewBufferWithAllocator(data, b)
}

// bufPool recycles the rgBufs of one readBatches call.
type bufPool struct {
	ncols int
	mu    sync.Mutex
	free  []*rgBuf
}

func (p *bufPool) get() *rgBuf {
	p.mu.Lock()
	var b *rgBuf
	if n := len(p.free); n > 0 {
		b, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Unlock()
	if b == nil {
		b = &rgBuf{pool: p, cols: make([]colBuf, p.ncols)}
	}
	b.refs.Store(1)
	return b
}

func (p *bufPool) put(b *rgBuf) {
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

// grow returns s resized to n, reallocated only if its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// levels is a goroutine's scratch for the levels of a list column's page.
type levels struct {
	def, rep []int16
}

// decode reads row group rg into b with up to par goroutines, one column at a time
// each. It returns the row count, or ok false if the fast path gives the row group
// back.
func (p *fastPlan) decode(rg int, b *rgBuf, par int, scratch []*levels) (n int, ok bool) {
	rgr := p.pf.RowGroup(rg)
	rows := rgr.NumRows()
	if rows < 0 || rows > maxFastRows {
		return 0, false
	}
	n = int(rows)
	par = max(1, min(par, len(p.order), len(scratch)))
	if par == 1 {
		for _, i := range p.order {
			if !p.decodeColumn(rgr, i, n, &b.cols[i], scratch[0]) {
				return 0, false
			}
		}
		return n, true
	}
	var (
		next   atomic.Int64
		failed atomic.Bool
		wg     sync.WaitGroup
	)
	for g := range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if recover() != nil { // a damaged page: let pqarrow read the group
					failed.Store(true)
				}
			}()
			for !failed.Load() {
				k := int(next.Add(1) - 1)
				if k >= len(p.order) {
					return
				}
				i := p.order[k]
				if !p.decodeColumn(rgr, i, n, &b.cols[i], scratch[g]) {
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return n, !failed.Load()
}

// decodeColumn reads field i of the row group (n rows) into cb, page by page: every row
// must hold a value (a list: a possibly empty list of values), and the column must hold
// no more.
func (p *fastPlan) decodeColumn(rgr *file.RowGroupReader, i, n int, cb *colBuf, lv *levels) bool {
	c := &p.cols[i]
	md, err := rgr.MetaData().ColumnChunk(c.leaf)
	if err != nil {
		return false
	}
	// The chunk's level count: its pages may hold no more levels (nor a corrupt page
	// header make the decoder allocate for more).
	maxLevels := md.NumValues()
	pr, err := rgr.GetColumnPageReader(c.leaf)
	if err != nil {
		return false
	}
	defer pr.Close()
	var ok bool
	switch c.kind {
	case fastInt64:
		cb.i64 = grow(cb.i64, n)
		_, ok = readPages(pr, c, n, maxLevels, cb.i64, nil, lv)
	case fastInt32:
		cb.i32 = grow(cb.i32, n)
		_, ok = readPages(pr, c, n, maxLevels, cb.i32, nil, lv)
	case fastFloat64:
		cb.f64 = grow(cb.f64, n)
		_, ok = readPages(pr, c, n, maxLevels, cb.f64, nil, lv)
	case fastListInt32:
		// Size the values from the level count (an upper bound), within reason.
		hint := max(int64(n), min(maxLevels, 64*int64(n)+1<<16, maxFastRows))
		off := grow(cb.off, n+1)[:0]
		var vals []int32
		vals, ok = readPages(pr, c, n, maxLevels, grow(cb.i32, int(hint)), &off, lv)
		if ok {
			cb.i32, cb.off = vals, off
		}
	}
	return ok
}

// readPages decodes the pages of a column chunk of n rows and at most maxLevels levels.
// A flat column's vals has length n. A list's vals grows as needed (the result holds the
// values), and *off receives the offsets of the rows into it, n+1 of them. It needs
// whole pages from Page.Data, as file.OpenParquetFile's default ReaderProperties give
// (not PageStreamingEnabled, under which Data holds only the levels).
func readPages[T fastValue](pr file.PageReader, c *fastCol, n int, maxLevels int64, vals []T, off *[]int32, lv *levels) ([]T, bool) {
	var (
		dict     []T
		haveDict bool
		nv       int // values decoded
		nlevels  int // levels seen
		defBW    = bits.Len(uint(c.maxDef))
	)
	for pr.Next() {
		var (
			nlev                      int
			enc                       parquet.Encoding
			repData, defData, valData []byte
			ok                        = true
		)
		switch pg := pr.Page().(type) {
		case *file.DictionaryPage:
			e := parquet.Encoding(pg.Encoding())
			nd := int(pg.NumValues())
			var zero T
			if haveDict || (e != parquet.Encodings.Plain && e != parquet.Encodings.PlainDict) ||
				nd < 0 || len(pg.Data()) < nd*int(unsafe.Sizeof(zero)) {
				return vals, false
			}
			dict = make([]T, nd)
			if !decodePlain(pg.Data(), dict) {
				return vals, false
			}
			haveDict = true
			continue
		case *file.DataPageV1:
			data := pg.Data()
			if c.maxRep > 0 {
				if pg.RepetitionLevelEncoding() != parquet.Encodings.RLE {
					return vals, false
				}
				repData, data, ok = lengthPrefixed(data)
			}
			if c.maxDef > 0 && ok {
				if pg.DefinitionLevelEncoding() != parquet.Encodings.RLE {
					return vals, false
				}
				defData, data, ok = lengthPrefixed(data)
			}
			nlev, enc, valData = int(pg.NumValues()), parquet.Encoding(pg.Encoding()), data
		case *file.DataPageV2:
			data := pg.Data()
			rl, dl := int(pg.RepetitionLevelByteLen()), int(pg.DefinitionLevelByteLen())
			if rl < 0 || dl < 0 || rl+dl > len(data) {
				return vals, false
			}
			repData, defData, valData = data[:rl], data[rl:rl+dl], data[rl+dl:]
			nlev, enc = int(pg.NumValues()), parquet.Encoding(pg.Encoding())
		default:
			continue
		}
		if !ok || nlev < 0 || int64(nlevels)+int64(nlev) > maxLevels {
			return vals, false
		}
		nval := nlev // the values the page holds
		if off == nil {
			if c.maxDef > 0 { // a flat column: no null
				dh := newHybrid(defData, defBW)
				if cnt, ok := dh.count(nlev, uint64(c.maxDef)); !ok || cnt != nlev {
					return vals, false
				}
			}
			if nv+nval > n {
				return vals, false
			}
		} else {
			dh := newHybrid(defData, defBW)
			cnt, ok := dh.count(nlev, uint64(c.maxDef))
			if !ok || nv+cnt > math.MaxInt32 || nlev == 0 {
				return vals, false
			}
			rows := len(*off)
			rh := newHybrid(repData, 1)
			if cnt == nlev { // every level holds a value: rows start at the 0 levels
				*off, ok = rh.rowStarts(nlev, int32(nv), *off)
			} else { // empty lists, or nulls: look at each level
				lv.def, lv.rep = grow(lv.def, nlev), grow(lv.rep, nlev)
				dh = newHybrid(defData, defBW)
				_, ok1 := dh.levels(lv.def, c.maxDef)
				_, ok2 := rh.levels(lv.rep, 1)
				*off, ok = listLevels(lv.def, lv.rep, c, int32(nv), *off)
				ok = ok && ok1 && ok2
			}
			// The column must start with a row, and hold no more rows than the group.
			if !ok || (nlevels == 0 && (len(*off) == rows || (*off)[rows] != 0)) || len(*off) > n {
				return vals, false
			}
			nval = cnt
			if nv+nval > len(vals) {
				bigger := make([]T, max(2*len(vals), nv+nval))
				copy(bigger, vals[:nv])
				vals = bigger
			}
		}
		if !decodeValues(enc, valData, vals[nv:nv+nval], dict, haveDict) {
			return vals, false
		}
		nv += nval
		nlevels += nlev
	}
	if pr.Err() != nil {
		return vals, false
	}
	if off == nil {
		return vals, nv == n
	}
	if len(*off) != n {
		return vals, false
	}
	*off = append(*off, int32(nv))
	return vals, true
}

// lengthPrefixed splits a data page v1's level section (a 4-byte length, then the
// levels) from what follows.
func lengthPrefixed(data []byte) (levels, rest []byte, ok bool) {
	if len(data) < 4 {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint32(data)
	if uint64(n) > uint64(len(data)-4) {
		return nil, nil, false
	}
	return data[4 : 4+n], data[4+n:], true
}

// listLevels appends to off the rows that start among a list column's levels (v: the
// values before them), accepting values and empty lists; a null list or element is not.
func listLevels(defs, reps []int16, c *fastCol, v int32, off []int32) ([]int32, bool) {
	for j, r := range reps {
		if r == 0 {
			off = append(off, v)
		} else if r != 1 {
			return off, false
		}
		switch d := defs[j]; {
		case d == c.maxDef:
			v++
		case d == c.emptyDef && r == 0:
		default:
			return off, false // a null list or element
		}
	}
	return off, true
}

// emit cuts the n decoded rows of b into records of at most batchRows rows and passes
// each to emit, which takes ownership; it stops early when emit returns false.
func (p *fastPlan) emit(b *rgBuf, n, batchRows int, emit func(arrow.RecordBatch) bool) {
	cols := make([]arrow.Array, len(p.cols))
	for i := range p.cols {
		if p.cols[i].kind == fastListInt32 { // a batch's offsets: one more than its rows
			b.cols[i].boff = grow(b.cols[i].boff, n+n/batchRows+1)
		}
	}
	for k, lo := 0, 0; lo < n; k, lo = k+1, lo+batchRows {
		hi := min(lo+batchRows, n)
		for i := range p.cols {
			c, cb := &p.cols[i], &b.cols[i]
			switch c.kind {
			case fastInt64:
				cols[i] = b.array(c.dt, hi-lo, arrow.Int64Traits.CastToBytes(cb.i64[lo:hi]), nil)
			case fastInt32:
				cols[i] = b.array(c.dt, hi-lo, arrow.Int32Traits.CastToBytes(cb.i32[lo:hi]), nil)
			case fastFloat64:
				cols[i] = b.array(c.dt, hi-lo, arrow.Float64Traits.CastToBytes(cb.f64[lo:hi]), nil)
			case fastListInt32:
				first, last := cb.off[lo], cb.off[hi]
				bo := cb.boff[lo+k : hi+k+1]
				for r := range bo {
					bo[r] = cb.off[lo+r] - first
				}
				vals := b.data(c.elem, int(last-first), arrow.Int32Traits.CastToBytes(cb.i32[first:last]), nil)
				cols[i] = b.array(c.dt, hi-lo, arrow.Int32Traits.CastToBytes(bo), vals)
				vals.Release()
			}
		}
		rec := array.NewRecordBatch(p.want, cols, int64(hi-lo))
		releaseAll(cols)
		if !emit(rec) {
			return
		}
	}
}

// data wraps a slice of b (and a child, for a list) as array data without nulls.
func (b *rgBuf) data(dt arrow.DataType, n int, bytes []byte, child arrow.ArrayData) arrow.ArrayData {
	buf := b.buffer(bytes)
	defer buf.Release()
	var children []arrow.ArrayData
	if child != nil {
		children = []arrow.ArrayData{child}
	}
	return array.NewData(dt, n, []*memory.Buffer{nil, buf}, children, 0, 0)
}

func (b *rgBuf) array(dt arrow.DataType, n int, bytes []byte, child arrow.ArrayData) arrow.Array {
	d := b.data(dt, n, bytes, child)
	defer d.Release()
	return array.MakeFromData(d)
}

// fastWorker is a readBatches goroutine's state for the fast path.
type fastWorker struct {
	plan    *fastPlan
	pool    *bufPool
	par     int // goroutines per row group
	scratch []*levels
}

func newFastWorker(plan *fastPlan, pool *bufPool, workers int) *fastWorker {
	par := max(1, runtime.GOMAXPROCS(0)/workers)
	w := &fastWorker{plan: plan, pool: pool, par: par, scratch: make([]*levels, par)}
	for i := range w.scratch {
		w.scratch[i] = &levels{}
	}
	return w
}

// readRowGroup decodes row group rg and emits its batches; false means the fast path
// gave it back, having emitted nothing.
func (w *fastWorker) readRowGroup(rg, batchRows int, emit func(arrow.RecordBatch) bool) bool {
	b := w.pool.get()
	defer b.release()
	n, ok := w.plan.decode(rg, b, w.par, w.scratch)
	if !ok {
		return false
	}
	w.plan.emit(b, n, batchRows, emit)
	return true
}
