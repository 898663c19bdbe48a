// Package aerospikesink is the production store: the records/ layout (docs/STORAGE.md)
// written to and read from Aerospike through aerospike-client-go v7. *Sink satisfies the
// worker's Store (Put, Delete, Get) and the API's Store (Get, GetMany); neither package
// imports this one, they are handed a store.
//
// Mapping: the logical namespaces records.Live and records.Complete map to two
// configured Aerospike namespaces, each write carrying that namespace's TTL as its
// expiration; a record's set and string key are Aerospike's set and user key (sent with
// the write, SendKey); its bins are Aerospike bins (int64, string, []byte). A write is a
// BatchWrite in BatchOperate with REPLACE semantics, so the stored bins are exactly the
// new ones; a fenced write also carries the fence bins and a filter expression
// (FenceExpression) that refuses it when the stored fence is newer. records.Record's
// IfChanged (keep a stored record of the same bins, refreshing its expiry) is ignored:
// such a record is written as any other, the same stored result without the embedded
// store's saving (a server-side comparison of every bin would cost the server more than
// the write).
//
// Failure handling: records that failed on a transient result code (retry.go) are tried
// again with exponential backoff; a record the server refuses for good (RECORD_TOO_BIG,
// PARAMETER_ERROR, BIN_NAME_TOO_LONG) fails with an error naming it, the rest of the
// batch written. After Config.BreakerFailures consecutive failed batches a circuit
// breaker makes every call fail fast with ErrUnavailable for Config.BreakerCooldown.
package aerospikesink
