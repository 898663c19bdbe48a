package dataset

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/fantasy/leaderboard/engine"
)

// DefaultBatchRows is the batch size ReadEntries uses when given batchRows <= 0.
const DefaultBatchRows = 1 << 16

// ReadEntries streams the entries of the entries.parquet file at path to fn, in file
// order, as record batches of at most batchRows rows (DefaultBatchRows if batchRows <= 0).
// Every batch has exactly engine.EntriesSchema: its seven columns in that order, whatever
// the file's column order or list element name; other columns of the file are not read.
// The file is read a batch at a time, never whole.
//
// Before reading, the file's schema is checked: a missing column or a column of another
// type is an error naming the column. A null value (a null id, lineup or player) is an
// error naming the row (0-based, counted from the start of the file). Every error names
// the file. rec is valid only during fn; fn must Retain it to keep it. An error from fn
// stops the reading and is returned unchanged.
func ReadEntries(ctx context.Context, path string, batchRows int, fn func(rec arrow.RecordBatch) error) error {
	return readBatches(ctx, path, engine.EntriesSchema, batchRows, fn)
}

// ReadRanks streams a ranks.parquet file as record batches of exactly
// engine.RanksSchema, with the checks and conventions of ReadEntries.
func ReadRanks(ctx context.Context, path string, batchRows int, fn func(rec arrow.RecordBatch) error) error {
	return readBatches(ctx, path, engine.RanksSchema, batchRows, fn)
}

// readBatches streams the file's columns of want. Row groups are decoded by up to
// min(GOMAXPROCS, 8) goroutines at once and delivered to fn in file order. A goroutine
// decodes its whole row group even while fn is still on an earlier one (else it would
// idle), so memory holds at most that many decoded row groups. A row group is decoded
// by the fast path (fastread.go) where it can, else by pqarrow; the fast path recycles
// the memory of a row group once fn has released all its batches.
func readBatches(ctx context.Context, path string, want *arrow.Schema, batchRows int, fn func(rec arrow.RecordBatch) error) error {
	return readBatchesMode(ctx, path, want, batchRows, readAuto, fn)
}

// readBatchesMode is readBatches with the decoder chosen by mode.
func readBatchesMode(ctx context.Context, path string, want *arrow.Schema, batchRows int, mode readMode, fn func(rec arrow.RecordBatch) error) (err error) {
	defer damaged(path, &err)
	if batchRows <= 0 {
		batchRows = DefaultBatchRows
	}
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return openErr(path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("%s: cannot read the schema: %w", path, err)
	}
	fields, err := findColumns(path, fr, want)
	if err != nil {
		return err
	}
	leaves := leafColumns(fr, fields)
	nRG := pf.NumRowGroups()
	firstRow := make([]int64, nRG+1)
	for i := range nRG {
		firstRow[i+1] = firstRow[i] + pf.MetaData().RowGroup(i).NumRows()
	}
	workers := min(runtime.GOMAXPROCS(0), nRG, 8)
	if workers == 0 {
		return nil
	}
	var plan *fastPlan
	if mode != readPQArrow {
		plan = planFast(pf, fr, want, fields)
		if plan == nil && mode == readFastOnly {
			return fmt.Errorf("%s: the fast path cannot read this schema", path)
		}
	}
	pool := &bufPool{ncols: want.NumFields()}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type item struct {
		rec arrow.RecordBatch
		err error
	}
	out := make([]chan item, nRG)
	for i := range out {
		out[i] = make(chan item, 1+int((firstRow[i+1]-firstRow[i])/int64(batchRows)))
	}
	// A worker takes a slot before it claims the next row group, and the caller frees
	// it once that row group is delivered: at most `workers` row groups are decoded and
	// not yet delivered, however slow fn is.
	slots := make(chan struct{}, workers)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var (
				fw  *fastWorker
				wfr *pqarrow.FileReader // made on first use
				err error
			)
			if plan != nil {
				fw = newFastWorker(plan, pool, workers)
			}
			for {
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					return
				}
				rg := int(next.Add(1) - 1)
				if rg >= nRG {
					return
				}
				if testHookClaim != nil {
					testHookClaim(rg)
				}
				emit := func(rec arrow.RecordBatch) bool {
					select {
					case out[rg] <- item{rec: rec}:
						return true
					case <-ctx.Done():
						rec.Release()
						return false
					}
				}
				fast := fw != nil && err == nil && fastReadRowGroup(fw, rg, batchRows, emit)
				if !fast && err == nil && mode == readFastOnly {
					err = fmt.Errorf("%s: row group %d: the fast path cannot read it", path, rg)
				}
				if !fast && err == nil && wfr == nil {
					props := pqarrow.ArrowReadProperties{BatchSize: int64(batchRows)} // not Parallel: its goroutines would put arrow-go's panics on damaged pages beyond recover
					wfr, err = pqarrow.NewFileReader(pf, props, memory.DefaultAllocator)
				}
				if !fast && err == nil {
					err = func() (err error) {
						// arrow-go panics on some damaged pages: an error, not a crash.
						defer func() {
							if r := recover(); r != nil {
								err = fmt.Errorf("%s: row group %d cannot be decoded (is the file damaged?): %v", path, rg, r)
							}
						}()
						return readRowGroup(ctx, path, wfr, want, leaves, rg, firstRow[rg], emit)
					}()
				}
				if err != nil {
					select {
					case out[rg] <- item{err: err}:
					case <-ctx.Done():
					}
				}
				close(out[rg])
			}
		}()
	}

	err = func() error {
		for rg := range nRG {
			for it := range out[rg] {
				if it.err != nil {
					return it.err
				}
				err := fn(it.rec)
				it.rec.Release()
				if err != nil {
					return err
				}
			}
			<-slots
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return nil
	}()
	cancel()
	wg.Wait()
	for _, ch := range out { // release what was decoded but not delivered
		for drained := false; !drained; {
			select {
			case it, ok := <-ch:
				if !ok {
					drained = true
				} else if it.rec != nil {
					it.rec.Release()
				}
			default:
				drained = true
			}
		}
	}
	return err
}

// testHookClaim, if set, is called with each row group a reader goroutine claims.
var testHookClaim func(rg int)

// readRowGroup decodes row group rg (whose first row is the file's row first) into
// records of schema want, checking for nulls, and passes each to emit, which takes
// ownership; it stops early when emit returns false.
func readRowGroup(ctx context.Context, path string, fr *pqarrow.FileReader, want *arrow.Schema, leaves []int, rg int, first int64, emit func(arrow.RecordBatch) bool) error {
	rr, err := fr.GetRecordReader(ctx, leaves, []int{rg})
	if err != nil {
		return fmt.Errorf("%s: row group %d: %w", path, rg, err)
	}
	defer rr.Release()
	// The reader returns the selected columns in file order; map them to schema order.
	order := make([]int, want.NumFields())
	for i, f := range want.Fields() {
		idx := rr.Schema().FieldIndices(f.Name)
		if len(idx) != 1 {
			panic(fmt.Sprintf("BUG: %s: column %q appears %d times among the columns read", path, f.Name, len(idx)))
		}
		order[i] = idx[0]
	}
	cols := make([]arrow.Array, want.NumFields())
	row := first
	for rr.Next() {
		in := rr.RecordBatch()
		for i, f := range want.Fields() {
			col := in.Column(order[i])
			if err := checkNoNulls(path, f.Name, col, row); err != nil {
				return err
			}
			cols[i] = retype(col, f.Type)
		}
		rec := array.NewRecordBatch(want, cols, in.NumRows())
		releaseAll(cols)
		row += in.NumRows()
		if !emit(rec) {
			return nil
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("%s: cannot read row %d onwards: %w", path, row, err)
	}
	return nil
}

// CountRows returns the number of rows of the Parquet file at path, from its footer.
func CountRows(path string) (int64, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return 0, openErr(path, err)
	}
	defer pf.Close()
	return pf.NumRows(), nil
}

// ReadPoints reads a points.parquet file (engine.PointsSchema): each player's total points.
// The schema is checked as ReadEntries does; a null, non-finite or over-precise value
// (more than two decimals) and a repeated player_id are errors naming the row.
func ReadPoints(path string) (playerIDs []int32, points []float64, err error) {
	defer damaged(path, &err)
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, nil, openErr(path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: DefaultBatchRows}, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: cannot read the schema: %w", path, err)
	}
	fields, err := findColumns(path, fr, engine.PointsSchema)
	if err != nil {
		return nil, nil, err
	}
	n := pf.NumRows()
	playerIDs, points = make([]int32, 0, n), make([]float64, 0, n)
	if n == 0 {
		return playerIDs, points, nil
	}
	rr, err := fr.GetRecordReader(context.Background(), leafColumns(fr, fields), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	defer rr.Release()
	seen := make(map[int32]int64, n)
	var row int64
	for rr.Next() {
		rec := rr.RecordBatch()
		idCol := rec.Column(rec.Schema().FieldIndices(engine.ColPlayerID)[0])
		ptCol := rec.Column(rec.Schema().FieldIndices(engine.ColPoints)[0])
		if err := checkNoNulls(path, engine.ColPlayerID, idCol, row); err != nil {
			return nil, nil, err
		}
		if err := checkNoNulls(path, engine.ColPoints, ptCol, row); err != nil {
			return nil, nil, err
		}
		ids, pts := idCol.(*array.Int32).Int32Values(), ptCol.(*array.Float64).Float64Values()
		for i, id := range ids {
			r := row + int64(i)
			if first, dup := seen[id]; dup {
				return nil, nil, fmt.Errorf("%s: row %d: player_id %d repeats row %d", path, r, id, first)
			}
			seen[id] = r
			if _, err := engine.Centipoints(pts[i]); err != nil {
				return nil, nil, fmt.Errorf("%s: row %d: player %d: %w", path, r, id, err)
			}
		}
		playerIDs, points = append(playerIDs, ids...), append(points, pts...)
		row += rec.NumRows()
	}
	if err := rr.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: cannot read row %d onwards: %w", path, row, err)
	}
	return playerIDs, points, nil
}

// openErr wraps an open failure; an *os.PathError already names the path.
func openErr(path string, err error) error {
	if _, ok := err.(*os.PathError); ok {
		return err
	}
	return fmt.Errorf("%s: not a readable Parquet file: %w", path, err)
}

// findColumns returns, for each field of want, the index of the file's top-level field
// of that name, after checking that each exists once with the wanted type.
func findColumns(path string, fr *pqarrow.FileReader, want *arrow.Schema) ([]int, error) {
	got, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read the schema: %w", path, err)
	}
	idx := make([]int, want.NumFields())
	for i, f := range want.Fields() {
		found := got.FieldIndices(f.Name)
		switch {
		case len(found) == 0:
			return nil, fmt.Errorf("%s: column %q is missing", path, f.Name)
		case len(found) > 1:
			return nil, fmt.Errorf("%s: column %q appears %d times", path, f.Name, len(found))
		}
		if dt := got.Field(found[0]).Type; !engine.SameType(dt, f.Type) {
			return nil, fmt.Errorf("%s: column %q has type %s, want %s", path, f.Name, typeName(dt), typeName(f.Type))
		}
		idx[i] = found[0]
	}
	return idx, nil
}

// typeName spells a type as the error messages do: int32, double, list<int32>.
func typeName(dt arrow.DataType) string {
	switch t := dt.(type) {
	case *arrow.Float64Type:
		return "double"
	case *arrow.ListType:
		return "list<" + typeName(t.Elem()) + ">"
	case *arrow.LargeListType:
		return "large_list<" + typeName(t.Elem()) + ">"
	case *arrow.FixedSizeListType:
		return fmt.Sprintf("fixed_size_list<%s>[%d]", typeName(t.Elem()), t.Len())
	}
	return strings.ToLower(dt.String())
}

// leafColumns lists the Parquet leaf columns under the given top-level fields.
func leafColumns(fr *pqarrow.FileReader, fields []int) []int {
	var leaves []int
	var walk func(f *pqarrow.SchemaField)
	walk = func(f *pqarrow.SchemaField) {
		if f.IsLeaf() {
			leaves = append(leaves, f.ColIndex)
		}
		for i := range f.Children {
			walk(&f.Children[i])
		}
	}
	for _, i := range fields {
		walk(&fr.Manifest.Fields[i])
	}
	return leaves
}

// checkNoNulls reports the first null of col (or, for a list, of its elements); first
// is the file row of col's first row.
func checkNoNulls(path, name string, col arrow.Array, first int64) error {
	if col.NullN() > 0 {
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) {
				return fmt.Errorf("%s: row %d: column %q is null", path, first+int64(i), name)
			}
		}
	}
	l, ok := col.(*array.List)
	if !ok || l.ListValues().NullN() == 0 {
		return nil
	}
	vals := l.ListValues()
	off := l.Offsets()
	for i := 0; i < l.Len(); i++ {
		for k := off[i]; k < off[i+1]; k++ {
			if vals.IsNull(int(k)) {
				return fmt.Errorf("%s: row %d: column %q holds a null element", path, first+int64(i), name)
			}
		}
	}
	return nil
}

// retype returns col as an array of type dt, which engine.SameType found equal; a list array
// is relabelled (zero-copy) so that its element field matches dt exactly.
func retype(col arrow.Array, dt arrow.DataType) arrow.Array {
	if _, isList := dt.(*arrow.ListType); !isList {
		col.Retain()
		return col
	}
	d := col.Data()
	data := array.NewData(dt, d.Len(), d.Buffers(), d.Children(), d.NullN(), d.Offset())
	defer data.Release()
	return array.MakeFromData(data)
}

// fastReadRowGroup runs the fast path, treating a panic in the page decoding as "cannot
// read it here": the fast path emits nothing before a row group is fully decoded, so
// pqarrow can read the group again (and report what is wrong with it).
func fastReadRowGroup(fw *fastWorker, rg, batchRows int, emit func(arrow.RecordBatch) bool) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return fw.readRowGroup(rg, batchRows, emit)
}

// damaged turns a panic of the Parquet library on a damaged file (it has a few) into an
// error naming the file. Deferred by every reader; a panic of ours is re-raised.
func damaged(path string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	if e, ok := r.(error); ok && strings.HasPrefix(e.Error(), "BUG") {
		panic(r)
	}
	*err = fmt.Errorf("%s cannot be decoded (is the file damaged?): %v", path, r)
}
