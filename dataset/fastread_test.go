package dataset

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/fantasy/leaderboard/engine"
)

// The fast path (fastread.go) must deliver exactly what pqarrow does: the same batches
// (boundaries and contents) and the same errors, after the same batches. These tests
// read files of many shapes both ways and compare.

// readKept reads path in the given mode and returns every batch delivered, retained (so
// that a decoded row group's buffers going back to the pool early would show), and the
// error. The caller releases the batches.
func readKept(t *testing.T, path string, want *arrow.Schema, batchRows int, mode readMode) ([]arrow.RecordBatch, error) {
	t.Helper()
	var recs []arrow.RecordBatch
	err := readBatchesMode(context.Background(), path, want, batchRows, mode, func(rec arrow.RecordBatch) error {
		if !rec.Schema().Equal(want) {
			t.Fatalf("batch schema %s, want %s", rec.Schema(), want)
		}
		if n := rec.NumRows(); n == 0 || (batchRows > 0 && n > int64(batchRows)) {
			t.Fatalf("batch of %d rows, batchRows %d", n, batchRows)
		}
		rec.Retain()
		recs = append(recs, rec)
		return nil
	})
	return recs, err
}

func releaseRecs(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// sameBatches reports the first difference between two reads, or "".
func sameBatches(a, b []arrow.RecordBatch) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d batches vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].NumRows() != b[i].NumRows() {
			return fmt.Sprintf("batch %d: %d rows vs %d", i, a[i].NumRows(), b[i].NumRows())
		}
		for c := range a[i].NumCols() {
			x, y := a[i].Column(int(c)), b[i].Column(int(c))
			if !array.Equal(x, y) {
				return fmt.Sprintf("batch %d column %s:\n%v\nvs\n%v", i, a[i].ColumnName(int(c)), x, y)
			}
			if x.NullN() != 0 || y.NullN() != 0 {
				return fmt.Sprintf("batch %d column %s: %d and %d nulls", i, a[i].ColumnName(int(c)), x.NullN(), y.NullN())
			}
			if lx, ok := x.(*array.List); ok {
				ly := y.(*array.List)
				if lx.ListValues().NullN() != 0 || ly.ListValues().NullN() != 0 {
					return fmt.Sprintf("batch %d column %s: null elements", i, a[i].ColumnName(int(c)))
				}
			}
		}
	}
	return ""
}

// checkPaths reads path with pqarrow, and with ReadEntries' choice (readAuto), and checks
// that both deliver the same batches and error. If fast, the fast path alone (no pqarrow
// fallback) must read the whole file too. It returns pqarrow's error.
func checkPaths(t *testing.T, path string, want *arrow.Schema, batchRows int, fast bool) error {
	t.Helper()
	ref, refErr := readKept(t, path, want, batchRows, readPQArrow)
	defer releaseRecs(ref)
	modes := []readMode{readAuto}
	if fast {
		modes = append(modes, readFastOnly)
	}
	for _, mode := range modes {
		got, err := readKept(t, path, want, batchRows, mode)
		if fmt.Sprint(err) != fmt.Sprint(refErr) {
			t.Errorf("mode %d: error %v\npqarrow: %v", mode, err, refErr)
		}
		if d := sameBatches(ref, got); d != "" {
			t.Errorf("mode %d vs pqarrow: %s", mode, d)
		}
		releaseRecs(got)
	}
	return refErr
}

// rnd is a small deterministic generator for test data.
type rnd uint64

func (r *rnd) next() uint64 {
	*r ^= *r << 13
	*r ^= *r >> 7
	*r ^= *r << 17
	return uint64(*r)
}

func (r *rnd) intn(n int) int { return int(r.next() % uint64(n)) }

// testRows makes n entries with lineups of 0..maxLineup players drawn from players
// distinct ids, and ids spread as wide as int64 allows every wide-th row.
func testRows(n, maxLineup, players, wide int, seed uint64) []row {
	r := rnd(seed)
	rows := make([]row, n)
	for i := range rows {
		lineup := make([]int32, r.intn(maxLineup+1))
		for k := range lineup {
			lineup[k] = int32(r.intn(players)) - int32(players/3)
		}
		rows[i] = row{contest: int64(i / 10), entry: int64(r.intn(1 << 20)), user: int64(r.intn(5000)), team: int64(i),
			players: lineup, capt: int32(r.intn(players)), vice: int32(r.intn(players))}
		if wide > 0 && i%wide == 0 {
			rows[i].entry, rows[i].user = int64(r.next()), math.MinInt64+int64(r.intn(3))
			rows[i].capt, rows[i].vice = int32(r.next()), math.MaxInt32-int32(r.intn(2))
		}
	}
	return rows
}

// fileShape is how a test writes an entries file with pqarrow.
type fileShape struct {
	nullable     bool   // every column nullable (holding no null)
	elem         string // the list element's name
	elemNullable bool
	props        []parquet.WriterProperty
}

func (s fileShape) schema() *arrow.Schema {
	elem := arrow.Field{Name: s.elem, Type: arrow.PrimitiveTypes.Int32, Nullable: s.elemNullable}
	var fields []arrow.Field
	// Another column order than EntriesSchema's, and a column to ignore.
	for _, name := range []string{"players", "vice_captain", "team_id", "note", "entry_id", "captain", "user_id", "contest_id"} {
		f := arrow.Field{Name: name, Nullable: s.nullable}
		switch name {
		case "players":
			f.Type = arrow.ListOfField(elem)
		case "note":
			f.Type = arrow.BinaryTypes.String
		case "captain", "vice_captain":
			f.Type = arrow.PrimitiveTypes.Int32
		default:
			f.Type = arrow.PrimitiveTypes.Int64
		}
		fields = append(fields, f)
	}
	return arrow.NewSchema(fields, nil)
}

// writeShaped writes rows in the given shape. nulls names cells to make null: "column:row"
// (for players, "players:row" is a null list and "players:row:k" a null k-th element).
func writeShaped(t *testing.T, path string, s fileShape, rows []row, nulls ...string) {
	t.Helper()
	null := map[string]bool{}
	for _, n := range nulls {
		null[n] = true
	}
	sc := s.schema()
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i, r := range rows {
		isNull := func(col string) bool { return null[fmt.Sprintf("%s:%d", col, i)] }
		for c, f := range sc.Fields() {
			fb := b.Field(c)
			if isNull(f.Name) {
				fb.AppendNull()
				continue
			}
			switch f.Name {
			case "players":
				lb := fb.(*array.ListBuilder)
				lb.Append(true)
				vb := lb.ValueBuilder().(*array.Int32Builder)
				for k, p := range r.players {
					if null[fmt.Sprintf("players:%d:%d", i, k)] {
						vb.AppendNull()
					} else {
						vb.Append(p)
					}
				}
			case "note":
				fb.(*array.StringBuilder).Append(fmt.Sprint("n", i))
			case "captain":
				fb.(*array.Int32Builder).Append(r.capt)
			case "vice_captain":
				fb.(*array.Int32Builder).Append(r.vice)
			default:
				v := map[string]int64{"contest_id": r.contest, "entry_id": r.entry, "user_id": r.user, "team_id": r.team}[f.Name]
				fb.(*array.Int64Builder).Append(v)
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(s.props...), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

// Files as other writers make them: every page version, encoding and codec, nullable or
// required columns, the list element named item or element, several row groups, many
// pages, lists that are empty; read with batch sizes that split row groups unevenly.
func TestFastPathMatchesPQArrow(t *testing.T) {
	rg := parquet.WithMaxRowGroupLength(300)
	ints := []string{"contest_id", "entry_id", "user_id", "team_id", "captain", "vice_captain"}
	deltaAll := []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithCompression(compress.Codecs.Zstd)}
	bss := []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithCompression(compress.Codecs.Lz4Raw)}
	for _, c := range append(ints, "players.list.item", "players.list.element") {
		deltaAll = append(deltaAll, parquet.WithEncodingFor(c, parquet.Encodings.DeltaBinaryPacked))
		bss = append(bss, parquet.WithEncodingFor(c, parquet.Encodings.ByteStreamSplit))
	}
	for _, tc := range []struct {
		name  string
		shape fileShape
		rows  []row
	}{
		{"pqarrow defaults, nullable, item", fileShape{nullable: true, elem: "item", elemNullable: true,
			props: []parquet.WriterProperty{rg}}, testRows(1000, 15, 400, 0, 1)},
		{"required, element, v2 pages, snappy, small pages", fileShape{elem: "element",
			props: []parquet.WriterProperty{rg, parquet.WithDataPageVersion(parquet.DataPageV2),
				parquet.WithCompression(compress.Codecs.Snappy), parquet.WithDataPageSize(256), parquet.WithBatchSize(37)}},
			testRows(1000, 12, 70000, 7, 2)},
		{"plain, gzip, wide values", fileShape{nullable: true, elem: "item", elemNullable: true,
			props: []parquet.WriterProperty{rg, parquet.WithDictionaryDefault(false), parquet.WithCompression(compress.Codecs.Gzip)}},
			testRows(1000, 11, 1<<30, 3, 3)},
		{"delta everywhere, zstd, wide values", fileShape{elem: "element", elemNullable: true,
			props: append([]parquet.WriterProperty{rg, parquet.WithDataPageSize(1024), parquet.WithBatchSize(50)}, deltaAll...)},
			testRows(1000, 11, 1<<20, 5, 4)},
		{"delta, v2 pages", fileShape{nullable: true, elem: "item", elemNullable: true,
			props: append([]parquet.WriterProperty{rg, parquet.WithDataPageVersion(parquet.DataPageV2)}, deltaAll...)},
			testRows(1000, 11, 3000, 0, 5)},
		{"dictionary falling back to plain, brotli", fileShape{nullable: true, elem: "item", elemNullable: true,
			props: []parquet.WriterProperty{rg, parquet.WithDictionaryPageSizeLimit(200), parquet.WithDataPageSize(512),
				parquet.WithBatchSize(20), parquet.WithCompression(compress.Codecs.Brotli)}},
			testRows(1000, 11, 5000, 0, 6)},
		{"byte stream split, lz4 raw", fileShape{elem: "element",
			props: append([]parquet.WriterProperty{rg}, bss...)},
			testRows(1000, 11, 5000, 4, 7)},
		{"one value everywhere", fileShape{elem: "element", props: []parquet.WriterProperty{rg}},
			func() []row {
				rows := testRows(700, 11, 1, 0, 8)
				for i := range rows {
					rows[i].players = []int32{5, 5, 5}
				}
				return rows
			}()},
		{"one row group, lineups of 11", fileShape{elem: "element", elemNullable: true,
			props: []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Zstd)}},
			func() []row {
				rows := testRows(2000, 11, 300, 0, 9)
				for i := range rows {
					rows[i].players = append(rows[i].players, make([]int32, 11-len(rows[i].players))...)
				}
				return rows
			}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), EntriesFile)
			writeShaped(t, path, tc.shape, tc.rows)
			for _, batchRows := range []int{0, 7} {
				if err := checkPaths(t, path, engine.EntriesSchema, batchRows, true); err != nil {
					t.Fatal(err)
				}
			}
			if got := readAllEntries(t, path, 64); !equalRows(got, tc.rows) {
				t.Error("ReadEntries does not read back the rows written")
			}
		})
	}
}

// The files this package writes, several row groups of them, and ranks files.
func TestFastPathOwnFiles(t *testing.T) {
	dir := t.TempDir()
	rows := testRows(2500, 11, 500, 0, 10)
	path := filepath.Join(dir, EntriesFile)
	writeEntries(t, path, rows, 600) // 5 row groups, more than the decoders hold at once
	for _, batchRows := range []int{0, 100, 599, 601} {
		checkPaths(t, path, engine.EntriesSchema, batchRows, true)
	}
	writeItemEntries(t, path, sampleRows(50)) // the low-level writer's file: a required list of optional items
	checkPaths(t, path, engine.EntriesSchema, 9, true)

	rpath := filepath.Join(dir, "ranks.parquet")
	w, err := NewRanksWriter(rpath)
	if err != nil {
		t.Fatal(err)
	}
	w.groupRows = 40
	r := sampleRanks(333)
	if err := w.Write(r.contest, r.entry, r.points, r.rank); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, batchRows := range []int{0, 3, 64} {
		checkPaths(t, rpath, engine.RanksSchema, batchRows, true)
	}
}

// Nulls anywhere: the fast path gives their row groups to pqarrow, so the error, and the
// batches before it, are pqarrow's.
func TestFastPathNulls(t *testing.T) {
	rows := testRows(1000, 11, 400, 0, 11)
	for i := range rows { // every lineup has a third element to null
		rows[i].players = append(rows[i].players, 1, 2, 3)
	}
	shape := fileShape{nullable: true, elem: "item", elemNullable: true,
		props: []parquet.WriterProperty{parquet.WithMaxRowGroupLength(300)}}
	for _, nulls := range [][]string{
		{"entry_id:0"},
		{"vice_captain:999"},
		{"user_id:650"},
		{"players:301"},
		{"players:302:2"},
		{"captain:640", "contest_id:645"},               // two columns in a batch: schema order decides
		{"players:640:1", "players:620"},                // a null list before a null element in a batch
		{"players:620:1", "players:640", "team_id:650"}, // and after one
		{"team_id:899", "entry_id:20"},                  // a later row group's null decoded first
	} {
		t.Run(strings.Join(nulls, ","), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), EntriesFile)
			writeShaped(t, path, shape, rows, nulls...)
			for _, batchRows := range []int{0, 16} {
				if err := checkPaths(t, path, engine.EntriesSchema, batchRows, false); err == nil {
					t.Fatal("no error for a null")
				} else if !strings.HasPrefix(err.Error(), path+": row ") {
					t.Errorf("error %v", err)
				}
			}
		})
	}
}

// writeLegacyList writes entries whose players column is the given node over a leaf of
// maximum definition level valueDef (emptyDef for an empty list) with the low-level
// writer, in row groups of the given sizes.
func writeLegacyList(t *testing.T, path string, players schema.Node, valueDef, emptyDef int16, rows []row, groups ...int) {
	t.Helper()
	req := parquet.Repetitions.Required
	i64 := func(name string) schema.Node {
		return schema.MustPrimitive(schema.NewPrimitiveNode(name, req, parquet.Types.Int64, -1, -1))
	}
	i32 := func(name string) schema.Node {
		return schema.MustPrimitive(schema.NewPrimitiveNode(name, req, parquet.Types.Int32, -1, -1))
	}
	root := schema.MustGroup(schema.NewGroupNode("schema", req, schema.FieldList{
		i64("contest_id"), i64("entry_id"), i64("user_id"), i64("team_id"), players,
		i32("captain"), i32("vice_captain")}, -1))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := file.NewParquetWriter(f, root)
	for _, size := range groups {
		part := rows[:size]
		rows = rows[size:]
		rg := w.AppendRowGroup()
		for _, get := range []func(r row) int64{
			func(r row) int64 { return r.contest }, func(r row) int64 { return r.entry },
			func(r row) int64 { return r.user }, func(r row) int64 { return r.team },
		} {
			cw, _ := rg.NextColumn()
			var v []int64
			for _, r := range part {
				v = append(v, get(r))
			}
			if _, err := cw.(*file.Int64ColumnChunkWriter).WriteBatch(v, nil, nil); err != nil {
				t.Fatal(err)
			}
			cw.Close()
		}
		cw, _ := rg.NextColumn()
		var vals []int32
		var def, rep []int16
		for _, r := range part {
			if len(r.players) == 0 {
				def, rep = append(def, emptyDef), append(rep, 0)
			}
			for k, p := range r.players {
				vals = append(vals, p)
				def = append(def, valueDef)
				rep = append(rep, int16(min(k, 1)))
			}
		}
		if _, err := cw.(*file.Int32ColumnChunkWriter).WriteBatch(vals, def, rep); err != nil {
			t.Fatal(err)
		}
		cw.Close()
		for _, get := range []func(r row) int32{func(r row) int32 { return r.capt }, func(r row) int32 { return r.vice }} {
			cw, _ := rg.NextColumn()
			var v []int32
			for _, r := range part {
				v = append(v, get(r))
			}
			if _, err := cw.(*file.Int32ColumnChunkWriter).WriteBatch(v, nil, nil); err != nil {
				t.Fatal(err)
			}
			cw.Close()
		}
		if err := rg.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// The older list encodings: a repeated leaf inside the list group (two levels), or a
// repeated top-level leaf (one level); and a three-level list that is optional.
func TestFastPathListEncodings(t *testing.T) {
	rows := testRows(200, 6, 100, 0, 12)
	i32 := func(name string, rep parquet.Repetition) schema.Node {
		return schema.MustPrimitive(schema.NewPrimitiveNode(name, rep, parquet.Types.Int32, -1, -1))
	}
	three := schema.MustGroup(schema.NewGroupNodeLogical("players", parquet.Repetitions.Required,
		schema.FieldList{schema.MustGroup(schema.NewGroupNode("list", parquet.Repetitions.Repeated,
			schema.FieldList{i32("element", parquet.Repetitions.Optional)}, -1))}, schema.ListLogicalType{}, -1))
	for _, tc := range []struct {
		name     string
		node     schema.Node
		valueDef int16
		emptyDef int16
		groups   []int
	}{
		{"empty row groups", three, 2, 0, []int{0, 120, 0, 80, 0}},
		{"two levels", schema.MustGroup(schema.NewGroupNodeLogical("players", parquet.Repetitions.Required,
			schema.FieldList{i32("array", parquet.Repetitions.Repeated)}, schema.ListLogicalType{}, -1)), 1, 0, []int{100, 100}},
		{"one level", i32("players", parquet.Repetitions.Repeated), 1, 0, []int{100, 100}},
		{"optional three levels", schema.MustGroup(schema.NewGroupNodeLogical("players", parquet.Repetitions.Optional,
			schema.FieldList{schema.MustGroup(schema.NewGroupNode("list", parquet.Repetitions.Repeated,
				schema.FieldList{i32("element", parquet.Repetitions.Required)}, -1))}, schema.ListLogicalType{}, -1)), 2, 1, []int{100, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), EntriesFile)
			writeLegacyList(t, path, tc.node, tc.valueDef, tc.emptyDef, rows, tc.groups...)
			if err := checkPaths(t, path, engine.EntriesSchema, 30, true); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Damaged files: whatever pqarrow makes of a flipped byte (an error, or other values),
// ReadEntries makes the same. (Some damage makes arrow-go's page reader panic, on either
// path: the seed picks 60 that do not. Thousands were compared while writing this.)
func TestFastPathDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeEntries(t, good, testRows(3000, 11, 30, 0, 13), 1000)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, EntriesFile)
	r := rnd(14)
	for range 60 {
		bad := append([]byte(nil), data...)
		at := 4 + r.intn(len(data)*3/4)
		bad[at] ^= byte(1 + r.intn(255))
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		checkPaths(t, path, engine.EntriesSchema, 500, false)
		if t.Failed() {
			t.Fatalf("byte %d", at)
		}
	}
}
