// Package dataset reads and writes the Parquet interchange files of a dataset
// directory (DESIGN.md "Interchange files") and generates synthetic datasets.
//
// A dataset is one match:
//
//	entries.parquet   contest_id int64, entry_id int64, user_id int64, team_id int64,
//	                  players list<int32>, captain int32, vice_captain int32
//	points.parquet    player_id int32, points double (a player absent has 0 points)
//	points2.parquet   (generated datasets only) the same players at a later moment
//
// and batch ranking writes
//
//	ranks.parquet     contest_id int64, entry_id int64, points double, rank int64
//
// The schemas are engine.EntriesSchema, engine.PointsSchema and engine.RanksSchema.
//
// Reading: ReadEntries (and ReadRanks) stream a file as record batches of exactly
// engine.EntriesSchema (engine.RanksSchema), whatever the file's column order or list
// element name, after checking the file's schema (missing column, wrong type) and
// rejecting nulls with the row that holds them. Row groups are decoded in parallel, a
// bounded number ahead of the caller, and delivered in file order. ReadPoints loads a
// points file; CountRows reads a row count from the footer. Every error names the file.
//
// Writing: EntriesWriter, RanksWriter and WritePoints write files in row groups of
// RowGroupRows rows: integer id columns DELTA_BINARY_PACKED, the others dictionary
// encoded and zstd compressed. A file is written as path+".tmp-<pid>", synced, and only
// renamed to path when complete, so a reader never sees a partial file and Abort (or a
// failed Close) leaves nothing behind. RanksWriter encodes in the background while the
// caller produces the next row group, each of its four column chunks on a goroutine.
//
// Generating: Generate (GenerateWithStats) writes a realistic dataset of any size,
// deterministically for a GenConfig (which registers its own flags): see
// GenerateWithStats for its shape. It streams row groups: 56M entries take ~45 s and
// 1.5 GiB on two cores. GenConfig.Order OrderJoin writes the same rows in entry_id order
// (the order entries join, contests interleaved) and GenConfig.TeamsPerEntry sizes the
// team pool: the shape of a Spark user's files (56M entries: 4 min, 5.0 GiB, on a busy
// machine).
package dataset
