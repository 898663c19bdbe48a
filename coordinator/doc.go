// Package coordinator assigns the entries partitions to the workers of the gossip
// cluster and drives their cycles. It knows membership, partitions and cycles, never
// entries.
//
//   - Assignment: an epoch-numbered table (partition.Table) stepped toward
//     partition.Assign of the live workers (less drained ones) whenever the membership
//     changes, a loader reports a partition caught up, or an operator drains a worker.
//     Every step is one new epoch, persisted before it is published and logged with its
//     changes. A live writer hands a partition only to a loader that reported it caught up
//     (make-before-break); a dead writer's partitions are taken over at once.
//   - Cycles: a Tick every Interval, numbered above a high-water mark fsynced in the
//     state file before the number is handed out (never backwards across restarts), with
//     the points topic's end offsets captured at tick time (the Offsets dependency).
//   - Reports: each partition's writer reports its cycles; a match's visible cycle is the
//     lowest cycle among the latest reports of the partitions that hold it, counted once
//     every partition has reported.
//   - HTTP (http.go): long-poll ticks and tables, reports, caught-up calls, /status and a
//     token-protected drain; Client is the worker's side.
//
// Main types: Coordinator, Config, Deps, Tick, Assignment, Report, Status, Client.
// docs/CLUSTER.md ("Coordinator") documents the protocol.
package coordinator
