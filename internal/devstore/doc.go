// Package devstore serves the embedded rank store (rankstore.Store) over Aerospike's wire
// protocol: `leaderboard store` is a development Aerospike that aerospike-client-go v7
// connects to, tends as a one-node cluster owning all 4096 partitions of the `live` and
// `complete` namespaces, and reads and writes with the same commands it sends a real
// server. docs/DEVSTORE.md says what it implements and what it does not.
//
// The protocol, as this package reads it: every message starts with an 8-byte proto
// header (version 2, type 1 info / 3 AS_MSG / 4 compressed AS_MSG, 48-bit big-endian
// length of what follows). An info message is lines of command names, answered with
// "name\tvalue\n" lines. An AS_MSG is a 22-byte header (header size, info1-3 flags,
// result code, generation, expiration, timeout, field and op counts), then fields
// (4-byte size, type, data: namespace, set, digest, user key, filter expression, batch)
// and ops (4-byte size, op, particle type, version, name length, name, value). A batch
// is answered by a stream of 22-byte record headers with their bins, ended by one whose
// info3 carries LAST.
//
// Main types: Server (New, Serve), Config; msg (a decoded AS_MSG) and expr (a decoded
// filter expression) are internal.
package devstore
