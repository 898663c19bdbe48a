// Package kafkasource reads the leaderboard's input events from Kafka, decodes and
// validates them, and dead-letters the bad ones; it also publishes events. It knows
// nothing of the engine or any store: its output is plain event structs.
//
// docs/EVENTS.md is the reference for topics, keys, values, validation rules and their
// reason codes, DLQ headers, offsets and partitioning.
//
// # Main types
//
//   - EntryEvent, PointsEvent, MatchEvent: the decoded values, with DecodeEntry,
//     DecodePoints, DecodeMatch (strict validation; errors are *RejectError with a
//     metric-friendly Code) and EncodeEntry, EncodePoints, EncodeMatch.
//   - Source: a franz-go consumer. Entries partitions are assigned directly
//     (AssignEntries / RevokeEntries, no consumer group: the caller keeps offsets);
//     the points and matches topics are read whole from the beginning. Poll returns a
//     Batch of valid events plus the next offset of every partition it touched.
//   - Publisher: an asynchronous franz-go producer keyed like Kafka's Java client, so
//     an entry's partition is EntryPartition(contest_id, partitions).
//   - Config: brokers and topic names, with RegisterFlags and Validate.
//
// # Guarantees
//
// Every record Poll reads is either in the returned Batch or in the DLQ topic, and the
// DLQ write is acknowledged by the broker before Poll returns. So offsets saved from
// Batch.Next never skip a record that went nowhere: a worker restarted from them
// (AssignEntries) reads exactly the records after them. A failed DLQ write makes Poll
// return an error; the next Poll retries it before handing out the batch.
//
// Points are totals and entries upserts, so replaying either topic is idempotent.
//
// # The entry decoder
//
// Entry events arrive at hundreds of thousands a second, and encoding/json costs about
// 8 µs each. fastentry.go holds a one-pass scanner for the usual shape of the event that
// never rejects: on anything unusual it defers to the encoding/json reference decoder,
// which makes every rejection. FuzzDecodeEntry checks that the two always agree.
package kafkasource
