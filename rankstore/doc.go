// Package rankstore is the embedded rank store: the `live` and `complete` namespaces of
// docs/STORAGE.md with Aerospike's semantics (records of bins under a set and key, a TTL
// per namespace, batch reads), in one process. `live` is memory only; `complete` is also
// kept on disk as an Arrow IPC file compressed with zstd, rewritten on Flush and loaded
// by Open, so final standings survive a restart. A clean shutdown (Close) also saves
// `live`, so a restarted single-node system serves at once and continues its cycles.
//
// Records are held as packed bins (records.EncodeBins) appended to large byte slabs, with
// a pointer-free open-addressing index per shard (slab.go), so the garbage collector
// scans nothing per record. A read lends a slice of a slab, which is never modified
// (Put appends a new record; a compaction copies live records to another slab and drops
// the old one, which stays alive while a reader holds it): callers may keep what they
// read but must not change its bytes. What is kept keeps its whole slab (up to 1 MiB) in
// memory after the record is replaced: a reader that keeps records long (a cache) should
// keep copies. Expired records are invisible at once and dropped by Sweep.
package rankstore
