package dataset

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/fantasy/leaderboard/engine"
)

// row is one entry, as the tests compare them.
type row struct {
	contest, entry, user, team int64
	players                    []int32
	capt, vice                 int32
}

func sampleRows(n int) []row {
	rows := make([]row, n)
	for i := range rows {
		lineup := make([]int32, 3+i%3) // lineups of 3..5 players: sizes are not our business
		for k := range lineup {
			lineup[k] = int32(100_000 + 7*i + k)
		}
		rows[i] = row{
			contest: int64(1 + i/4), entry: int64(1000 - i), user: int64(50 + i%7), team: int64(9 + i%11),
			players: lineup, capt: lineup[0], vice: lineup[1],
		}
	}
	return rows
}

// entriesRecord builds a record of engine.EntriesSchema.
func entriesRecord(rows []row) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, engine.EntriesSchema)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.contest)
		b.Field(1).(*array.Int64Builder).Append(r.entry)
		b.Field(2).(*array.Int64Builder).Append(r.user)
		b.Field(3).(*array.Int64Builder).Append(r.team)
		lb := b.Field(4).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int32Builder).AppendValues(r.players, nil)
		b.Field(5).(*array.Int32Builder).Append(r.capt)
		b.Field(6).(*array.Int32Builder).Append(r.vice)
	}
	return b.NewRecordBatch()
}

// rowsOf converts a record of engine.EntriesSchema back to rows.
func rowsOf(rec arrow.RecordBatch) []row {
	c := engine.EntryColumnsOf(rec)
	out := make([]row, rec.NumRows())
	for i := range out {
		out[i] = row{c.Contest[i], c.Entry[i], c.User[i], c.Team[i], slices.Clone(c.Players[c.Offsets[i]:c.Offsets[i+1]]), c.Captain[i], c.Vice[i]}
	}
	return out
}

func readAllEntries(t testing.TB, path string, batchRows int) []row {
	t.Helper()
	var rows []row
	err := ReadEntries(context.Background(), path, batchRows, func(rec arrow.RecordBatch) error {
		if !rec.Schema().Equal(engine.EntriesSchema) {
			t.Fatalf("batch schema %s, want %s", rec.Schema(), engine.EntriesSchema)
		}
		if batchRows > 0 && rec.NumRows() > int64(batchRows) {
			t.Fatalf("batch of %d rows, asked for at most %d", rec.NumRows(), batchRows)
		}
		rows = append(rows, rowsOf(rec)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func equalRows(a, b []row) bool {
	return slices.EqualFunc(a, b, func(x, y row) bool {
		return x.contest == y.contest && x.entry == y.entry && x.user == y.user && x.team == y.team &&
			slices.Equal(x.players, y.players) && x.capt == y.capt && x.vice == y.vice
	})
}

// writeEntries writes rows with EntriesWriter, one Write (so one row group) per chunk.
func writeEntries(t testing.TB, path string, rows []row, chunk int) {
	t.Helper()
	w, err := NewEntriesWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(rows); i += chunk {
		rec := entriesRecord(rows[i:min(i+chunk, len(rows))])
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeArrow writes arrays as a Parquet file of schema sc with pqarrow.
func writeArrow(t testing.TB, path string, sc *arrow.Schema, cols ...arrow.Array) {
	t.Helper()
	rec := array.NewRecordBatch(sc, cols, int64(cols[0].Len()))
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, f, nil, pqarrow.DefaultWriterProps())
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

// Small array constructors; a nil entry in the *Ptr forms is a null.
func i64s(v ...int64) arrow.Array {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(v, nil)
	return b.NewArray()
}

func i32s(v ...int32) arrow.Array {
	b := array.NewInt32Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(v, nil)
	return b.NewArray()
}

func f64s(v ...float64) arrow.Array {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(v, nil)
	return b.NewArray()
}

func i64Ptr(v ...*int64) arrow.Array {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for _, x := range v {
		if x == nil {
			b.AppendNull()
		} else {
			b.Append(*x)
		}
	}
	return b.NewArray()
}

// lists builds a list<elem> array; a nil lineup is a null list, a negative player a null
// element.
func lists(elem arrow.DataType, v ...[]int64) arrow.Array {
	return listsOf(arrow.Field{Name: "item", Type: elem, Nullable: true}, v...)
}

func listsOf(elem arrow.Field, v ...[]int64) arrow.Array {
	b := array.NewListBuilderWithField(memory.DefaultAllocator, elem)
	defer b.Release()
	for _, l := range v {
		if l == nil {
			b.AppendNull()
			continue
		}
		b.Append(true)
		for _, x := range l {
			switch vb := b.ValueBuilder().(type) {
			case *array.Int32Builder:
				if x < 0 {
					vb.AppendNull()
				} else {
					vb.Append(int32(x))
				}
			case *array.Int64Builder:
				vb.Append(x)
			}
		}
	}
	return b.NewArray()
}

func ptr(v int64) *int64 { return &v }

func TestEntriesRoundTrip(t *testing.T) {
	rows := sampleRows(23)
	for _, tc := range []struct {
		name             string
		chunk, batchRows int
	}{
		{"one row group, one batch", 100, 0},
		{"one row group, small batches", 100, 4},
		{"many row groups, batches across them", 5, 3},
		{"row per group", 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), EntriesFile)
			writeEntries(t, path, rows, tc.chunk)
			if got := readAllEntries(t, path, tc.batchRows); !equalRows(got, rows) {
				t.Errorf("read back\n%v\nwant\n%v", got, rows)
			}
			n, err := CountRows(path)
			if err != nil || n != int64(len(rows)) {
				t.Errorf("CountRows = %d, %v; want %d", n, err, len(rows))
			}
		})
	}
}

func TestReadEntriesEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), EntriesFile)
	writeEntries(t, path, nil, 1)
	if got := readAllEntries(t, path, 0); len(got) != 0 {
		t.Errorf("read %d rows from an empty file", len(got))
	}
}

// A file written by someone else: columns in another order, nullable columns without
// nulls, and an extra column.
func TestReadEntriesForeignLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), EntriesFile)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "note", Type: arrow.BinaryTypes.String},
		{Name: "vice_captain", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "players", Type: arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Int32}), Nullable: true},
		{Name: "team_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "entry_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "captain", Type: arrow.PrimitiveTypes.Int32},
		{Name: "user_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "contest_id", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	sb.AppendValues([]string{"a", "b"}, nil)
	note := sb.NewArray()
	sb.Release()
	players := listsOf(arrow.Field{Name: "element", Type: arrow.PrimitiveTypes.Int32}, []int64{101, 102}, []int64{201, 202})
	writeArrow(t, path, sc, note, i32s(102, 201), players,
		i64s(55, 56), i64s(100, 7), i32s(101, 202), i64s(7, 8), i64s(10, 10))
	want := []row{
		{10, 100, 7, 55, []int32{101, 102}, 101, 102},
		{10, 7, 8, 56, []int32{201, 202}, 202, 201},
	}
	if got := readAllEntries(t, path, 0); !equalRows(got, want) {
		t.Errorf("read\n%v\nwant\n%v", got, want)
	}
}

// writeItemEntries writes entries with the low-level Parquet API, naming the list
// element "item" as older writers do.
func writeItemEntries(t *testing.T, path string, rows []row) {
	t.Helper()
	item := schema.MustPrimitive(schema.NewPrimitiveNode("item", parquet.Repetitions.Optional, parquet.Types.Int32, -1, -1))
	list := schema.MustGroup(schema.NewGroupNode("list", parquet.Repetitions.Repeated, schema.FieldList{item}, -1))
	players := schema.MustGroup(schema.NewGroupNodeLogical("players", parquet.Repetitions.Required, schema.FieldList{list}, schema.ListLogicalType{}, -1))
	writeLegacyList(t, path, players, 2, 0, rows, len(rows))
}

func TestReadEntriesListElementNamedItem(t *testing.T) {
	path := filepath.Join(t.TempDir(), EntriesFile)
	rows := sampleRows(9)
	writeItemEntries(t, path, rows)
	if got := readAllEntries(t, path, 4); !equalRows(got, rows) {
		t.Errorf("read\n%v\nwant\n%v", got, rows)
	}
}

// entriesColumns returns the arrays of a valid two-row entries file by name, so that a
// test can replace or drop one.
func entriesColumns() map[string]arrow.Array {
	return map[string]arrow.Array{
		"contest_id": i64s(1, 1), "entry_id": i64s(1, 2), "user_id": i64s(3, 4), "team_id": i64s(5, 6),
		"players":      lists(arrow.PrimitiveTypes.Int32, []int64{101, 102}, []int64{101, 103}),
		"captain":      i32s(101, 103),
		"vice_captain": i32s(102, 101),
	}
}

func writeEntriesColumns(t *testing.T, path string, cols map[string]arrow.Array) {
	t.Helper()
	var fields []arrow.Field
	var arrs []arrow.Array
	for _, f := range engine.EntriesSchema.Fields() {
		if a, ok := cols[f.Name]; ok {
			fields = append(fields, arrow.Field{Name: f.Name, Type: a.DataType(), Nullable: a.NullN() > 0 || f.Nullable})
			arrs = append(arrs, a)
		}
	}
	writeArrow(t, path, arrow.NewSchema(fields, nil), arrs...)
}

func TestReadEntriesSchemaErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(cols map[string]arrow.Array)
		want   string
	}{
		{"wrong int width", func(c map[string]arrow.Array) { c["captain"] = i64s(101, 103) },
			`column "captain" has type int64, want int32`},
		{"missing column", func(c map[string]arrow.Array) { delete(c, "players") },
			`column "players" is missing`},
		{"list of the wrong element type", func(c map[string]arrow.Array) {
			c["players"] = lists(arrow.PrimitiveTypes.Int64, []int64{1}, []int64{2})
		}, `column "players" has type list<int64>, want list<int32>`},
		{"not a list", func(c map[string]arrow.Array) { c["players"] = i32s(1, 2) },
			`column "players" has type int32, want list<int32>`},
		{"float id", func(c map[string]arrow.Array) { c["entry_id"] = f64s(1, 2) },
			`column "entry_id" has type double, want int64`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), EntriesFile)
			cols := entriesColumns()
			tc.change(cols)
			writeEntriesColumns(t, path, cols)
			err := ReadEntries(context.Background(), path, 0, func(arrow.RecordBatch) error {
				t.Fatal("fn called despite a bad schema")
				return nil
			})
			if want := path + ": " + tc.want; err == nil || err.Error() != want {
				t.Errorf("error %v\nwant %s", err, want)
			}
		})
	}
}

func TestReadEntriesNulls(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(cols map[string]arrow.Array)
		want   string
	}{
		{"null entry_id", func(c map[string]arrow.Array) { c["entry_id"] = i64Ptr(ptr(1), nil) },
			`row 1: column "entry_id" is null`},
		{"null lineup", func(c map[string]arrow.Array) {
			c["players"] = lists(arrow.PrimitiveTypes.Int32, nil, []int64{1})
		}, `row 0: column "players" is null`},
		{"null player", func(c map[string]arrow.Array) {
			c["players"] = lists(arrow.PrimitiveTypes.Int32, []int64{101, 102}, []int64{101, -1})
		}, `row 1: column "players" holds a null element`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), EntriesFile)
			cols := entriesColumns()
			tc.change(cols)
			writeEntriesColumns(t, path, cols)
			err := ReadEntries(context.Background(), path, 0, func(arrow.RecordBatch) error { return nil })
			if want := path + ": " + tc.want; err == nil || err.Error() != want {
				t.Errorf("error %v\nwant %s", err, want)
			}
		})
	}
}

// A null far into a multi-row-group file is reported with its row in the file, and the
// batches before it were delivered in order.
func TestReadEntriesNullRowAcrossRowGroups(t *testing.T) {
	path := filepath.Join(t.TempDir(), EntriesFile)
	const n, bad = 50, 37
	ids := make([]*int64, n)
	var cols = map[string]arrow.Array{}
	var c, e, u, tm []int64
	var pl [][]int64
	var cp, vc []int32
	for i := range n {
		if i != bad {
			ids[i] = ptr(int64(i))
		}
		c, e, u, tm = append(c, 1), append(e, int64(i)), append(u, 1), append(tm, 1)
		pl = append(pl, []int64{1, 2})
		cp, vc = append(cp, 1), append(vc, 2)
	}
	cols["contest_id"], cols["entry_id"], cols["user_id"], cols["team_id"] = i64s(c...), i64s(e...), i64Ptr(ids...), i64s(tm...)
	cols["players"], cols["captain"], cols["vice_captain"] = lists(arrow.PrimitiveTypes.Int32, pl...), i32s(cp...), i32s(vc...)
	var fields []arrow.Field
	var arrs []arrow.Array
	for _, f := range engine.EntriesSchema.Fields() {
		fields = append(fields, arrow.Field{Name: f.Name, Type: cols[f.Name].DataType(), Nullable: true})
		arrs = append(arrs, cols[f.Name])
	}
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(sc, arrs, n)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(sc, f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(8)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	var seen []int64
	err = ReadEntries(context.Background(), path, 3, func(rec arrow.RecordBatch) error {
		seen = append(seen, rec.Column(1).(*array.Int64).Int64Values()...)
		return nil
	})
	if want := path + `: row 37: column "user_id" is null`; err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	for i, id := range seen {
		if id != int64(i) {
			t.Fatalf("batches out of order: %v", seen)
		}
	}
}

func TestReadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.parquet")
	junk := filepath.Join(dir, "junk.parquet")
	if err := os.WriteFile(junk, []byte("not a parquet file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	readers := map[string]func(path string) error{
		"ReadEntries": func(p string) error {
			return ReadEntries(context.Background(), p, 0, func(arrow.RecordBatch) error { return nil })
		},
		"ReadPoints": func(p string) error { _, _, err := ReadPoints(p); return err },
		"CountRows":  func(p string) error { _, err := CountRows(p); return err },
	}
	for name, read := range readers {
		t.Run(name, func(t *testing.T) {
			err := read(missing)
			if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
				t.Errorf("missing file: error %v, want one naming %s and matching fs.ErrNotExist", err, missing)
			}
			if err := read(junk); err == nil || !strings.Contains(err.Error(), junk) {
				t.Errorf("junk file: error %v, want one naming %s", err, junk)
			}
		})
	}
}

func TestReadEntriesStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), EntriesFile)
	writeEntries(t, path, sampleRows(40), 10)
	stop := errors.New("stop")
	calls := 0
	err := ReadEntries(context.Background(), path, 4, func(arrow.RecordBatch) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn error: got %v after %d calls, want %v after 1", err, calls, stop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err = ReadEntries(ctx, path, 4, func(arrow.RecordBatch) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls > 3 {
		t.Errorf("cancelled: got %v after %d calls, want context.Canceled soon", err, calls)
	}
}

func TestPointsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), PointsFile)
	ids, pts := []int32{101, 205, 999_999}, []float64{52.5, -2, 0}
	if err := WritePoints(path, ids, pts); err != nil {
		t.Fatal(err)
	}
	gotIDs, gotPts, err := ReadPoints(path)
	if err != nil || !slices.Equal(gotIDs, ids) || !slices.Equal(gotPts, pts) {
		t.Errorf("ReadPoints = %v, %v, %v; want %v, %v", gotIDs, gotPts, err, ids, pts)
	}
	if err := WritePoints(path, ids, pts[:1]); err == nil {
		t.Error("WritePoints accepted columns of different lengths")
	}
}

func TestReadPointsErrors(t *testing.T) {
	pointsFields := func(idType, ptType arrow.DataType) *arrow.Schema {
		return arrow.NewSchema([]arrow.Field{
			{Name: "player_id", Type: idType, Nullable: true},
			{Name: "points", Type: ptType, Nullable: true},
		}, nil)
	}
	f32 := func(v ...float32) arrow.Array {
		b := array.NewFloat32Builder(memory.DefaultAllocator)
		defer b.Release()
		b.AppendValues(v, nil)
		return b.NewArray()
	}
	nullPts := func() arrow.Array {
		b := array.NewFloat64Builder(memory.DefaultAllocator)
		defer b.Release()
		b.Append(1)
		b.AppendNull()
		return b.NewArray()
	}
	for _, tc := range []struct {
		name string
		sc   *arrow.Schema
		cols []arrow.Array
		want string
	}{
		{"float points", pointsFields(arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Float32),
			[]arrow.Array{i32s(1, 2), f32(1, 2)}, `column "points" has type float32, want double`},
		{"int64 ids", pointsFields(arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64),
			[]arrow.Array{i64s(1, 2), f64s(1, 2)}, `column "player_id" has type int64, want int32`},
		{"missing points", arrow.NewSchema([]arrow.Field{{Name: "player_id", Type: arrow.PrimitiveTypes.Int32}}, nil),
			[]arrow.Array{i32s(1, 2)}, `column "points" is missing`},
		{"null points", pointsFields(arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Float64),
			[]arrow.Array{i32s(1, 2), nullPts()}, `row 1: column "points" is null`},
		{"repeated player", pointsFields(arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Float64),
			[]arrow.Array{i32s(1, 2, 1), f64s(1, 2, 3)}, `row 2: player_id 1 repeats row 0`},
		{"three decimals", pointsFields(arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Float64),
			[]arrow.Array{i32s(1, 2), f64s(1, 2.125)}, `row 1: player 2: points 2.125 have more than 2 decimal places`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), PointsFile)
			writeArrow(t, path, tc.sc, tc.cols...)
			_, _, err := ReadPoints(path)
			if want := path + ": " + tc.want; err == nil || err.Error() != want {
				t.Errorf("error %v\nwant %s", err, want)
			}
		})
	}
}

// However slow fn is, the readers decode at most GOMAXPROCS (<= 8) row groups ahead.
func TestReadEntriesBoundedReadAhead(t *testing.T) {
	path := filepath.Join(t.TempDir(), EntriesFile)
	rows := sampleRows(60)
	writeEntries(t, path, rows, 3) // 20 row groups of 3 rows
	var mu sync.Mutex
	claimed, delivered := -1, 0
	workers := min(runtime.GOMAXPROCS(0), 8)
	testHookClaim = func(rg int) {
		mu.Lock()
		defer mu.Unlock()
		claimed = max(claimed, rg)
		if claimed >= delivered/3+workers {
			t.Errorf("row group %d claimed after only %d rows were delivered", rg, delivered)
		}
	}
	defer func() { testHookClaim = nil }()
	err := ReadEntries(context.Background(), path, 2, func(rec arrow.RecordBatch) error {
		time.Sleep(time.Millisecond)
		mu.Lock()
		delivered += int(rec.NumRows())
		mu.Unlock()
		return nil
	})
	if err != nil || delivered != len(rows) {
		t.Errorf("read %d rows, error %v", delivered, err)
	}
}
