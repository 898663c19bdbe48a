// Package records is the one definition of what the rank store holds: the namespaces,
// sets, keys and bins of every record, and their encodings. The embedded store, the
// Aerospike sink and the API reader all go through it, so they cannot drift apart.
//
// A record is a set, a string key and bins whose values are int64, string or []byte only
// (what every store, Aerospike included, holds natively). Multi-valued bins are packed
// into []byte with varints (see encode.go). docs/STORAGE.md explains the layout, the
// reads each API answer needs and the writes each cycle makes.
package records
