// Package rankstore is the embedded rank store: the `live` and `complete` namespaces of
// docs/STORAGE.md with Aerospike's semantics (records of bins under a set and key, a TTL
// per namespace, batch reads), in one process. `live` is memory only; `complete` is also
// kept on disk as an Arrow IPC file compressed with LZ4, rewritten on Flush (unless
// nothing was written since the last) and loaded by Open, so final standings survive a
// restart; with a data dir its records' bytes are a file's, not the process's memory
// (spill_linux.go). A clean shutdown (Close) also saves `live`, so a restarted
// single-node system serves at once and continues its cycles.
//
// Records are held as packed bins (records.EncodeBins) appended to large byte slabs, with
// a pointer-free open-addressing index per shard (slab.go). The slabs are memory outside
// the Go heap (offheap.go): the collector neither scans nor counts them, so its headroom
// follows the rest of the process, and the blocks a cycle's rewrites free are reused by
// the next. A read returns a copy, made under its shard's lock; callers own what they
// read. Expired records are invisible at once and dropped by Sweep.
package rankstore
