// Package partition is the cluster's arithmetic, pure (no Kafka, clock, network or gossip):
// which partition a contest lives in, and which worker owns each partition in an epoch.
//
// # Contest → partition
//
// OfContest is Kafka's default partitioner applied to the decimal contest_id,
// toPositive(murmur2(key)) % partitions, exactly as the Java client, librdkafka's
// murmur2_random and franz-go's StickyKeyPartitioner(nil) compute it. So whoever produces
// to lb.entries, a contest's events land in the partition that ranks it, and a contest is
// always ranked whole by one worker. Changing the topic's partition count remaps contests:
// it is a re-partition (replay everything), never a hand-over.
//
// # Partition → worker
//
// Assign is a pure, deterministic function of (load factor, partition count, members with
// capacities and drain flags) to an Assignment numbered by the coordinator's epoch; Moves
// lists the hand-overs from one epoch to the next. Each partition ranks the members by a
// weighted rendezvous score, capacity / -ln(u(partition, member)).
//
// Guarantees:
//   - order independence and determinism: the member list's order never matters;
//   - balance (LoadFactor f ≥ 1): no member owns more than ceil(f × P × capacity / total
//     capacity) of P partitions; with f = 1 and equal capacities, ceil(P/N);
//   - movement (LoadFactor 0, plain rendezvous): exactly minimal. A joining member only
//     takes partitions; a leaving or draining one only gives away its own;
//   - movement (LoadFactor f ≥ 1): the assignment is the unique stable matching between
//     partitions and capped members; a joining 4th worker takes ~1/4 of the partitions, and
//     a few more move between old workers because the caps shrink (measured by
//     BenchmarkJoin: with the default f = 1.25, 3.0% of 16 partitions, 0.8% of 64, 0.05%
//     of 256).
//
// No function of the membership alone can have both a hard balance bound and exactly
// minimal movement: if removing any member moved only its own partitions, every partition
// would have a fixed preference order over members (plain rendezvous), and plain
// rendezvous can give one member far more than its share (10 of 16 among 4, measured).
// The load factor chooses the point between the two; drains are explicit, so a drain moves
// what an operator asked for.
//
// # Hand-over
//
// Table is the coordinator's hand-over state in one epoch: each partition's single writer
// and, while a hand-over is under way, the member loading it. Table.Step moves one epoch
// toward a target Assignment: a live writer hands a partition over only to a loader that
// reported it caught up (make-before-break), a dead writer's partitions are taken over at
// once, and each partition switches on its own readiness. Every change is returned for the
// coordinator's log.
//
// Scores are float64 computed once, by the coordinator, which publishes the owners with the
// epoch: workers follow the published table and never recompute it, so a last-bit
// difference in math.Log between architectures can never split the cluster's view.
package partition
