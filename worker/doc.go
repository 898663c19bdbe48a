// Package worker is the only place that joins the parts: it consumes events from a
// Source (kafkasource), keeps each match's entries and player points, runs the engine
// every cycle for each live match, and writes what changed to a Store (the embedded
// rankstore or Aerospike) in the layout of package records.
//
// A Worker is a service: Run blocks until its context ends. Two loops run inside it:
// ingest (poll, validate against state, apply) and the cycle ticker. They share the
// match state under one mutex; the engine runs outside it on a snapshot taken at cycle
// start, so a cycle ranks one consistent points snapshot (DESIGN.md "Cycle").
//
// Restart: events are upserts (entries) and totals (points), so the worker replays the
// topics from the beginning and reaches the same state; cycle numbers and the points
// log continue from the match record in the store, and a match whose final standings
// are already in the complete namespace is not ranked again.
package worker
