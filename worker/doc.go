// Package worker is the only place that joins the parts: it consumes events from a
// Source (kafkasource), keeps the entries of the lb.entries partitions it owns and every
// match's player points, runs the engine every cycle, and writes what changed to a Store
// (the embedded rankstore or Aerospike) in the layout of package records.
//
// State. The unit of state is an entries partition (AddPartition gains one, replayed
// from its start; DropPartition frees one). Within a partition, a match's entries are a
// shard: a columnar log of the events not yet folded in, and contest groups, each an
// engine.Partition of whole contests (up to Config.GroupEntries entries; a bigger contest
// is a group alone). A cycle folds each shard's log into the groups it touches and
// rebuilds only those, so a late entry costs its group, not its match. No Go map of
// structs per entry: per entry the worker holds the engine's columns, a user index
// (CSR) per group and one entry -> contest map entry per partition.
//
// Cycles come from outside: Run takes a CycleSource whose ticks carry the cycle number
// and the points-topic offsets of the snapshot; every group of a match ranks against
// exactly the points read below those offsets (later ones are held back). Ticker is
// the standalone source; a coordinator is the cluster's.
//
// The caught-up gate: nothing is written before the points and matches topics reached
// the end offsets found at start; a partition short of its end offset joins no cycle; a
// final cycle waits for every owned partition. Ready reports it.
//
// A Worker is a service: Run blocks until its context ends. Two loops run inside it:
// ingest (poll, validate against state, apply; dead letters retried with backoff) and
// the cycle loop. Ingest state is under Worker.mu; contest groups belong to the cycle.
package worker
