// Package bench is the cycle benchmark harness behind `leaderboard bench`: it runs the
// engine over a loaded partition for K cycles, alternating snapshots, next to a naive
// baseline (sort.Slice per contest, points summed per entry) measured in the same run,
// and reports per-stage medians and memory per entry.
//
// The DuckDB comparison lives in its own module, bench/duckdb, to keep cgo out of the
// main module; its cmd/rankcompare also times Polars and PySpark (the scripts in
// bench/compare) against `leaderboard rank`.
package bench
