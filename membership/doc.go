// Package membership is a node's place in the cluster's gossip (hashicorp/memberlist):
// coordinators, workers and API nodes join one cluster, tell each other their role,
// HTTP address, capacity and version, and learn within seconds when a member dies.
//
// Service is a dskit service (start: bind the gossip port, failing fast; run: join the
// --join members with backoff, so start order does not matter, and re-join periodically to
// heal a split; stop: leave, so the others know at once). Members is a snapshot of the
// members not declared dead; Watch signals every change (coalesced, never blocking gossip).
// Meta is the node metadata in a compact binary form well within memberlist's 512 bytes.
//
// Gossip carries liveness and this metadata only. Partition ownership is not gossiped:
// the coordinator computes it from Members with package partition and hands it out with an
// epoch (docs/CLUSTER.md).
//
// Isolation: a cluster label (memberlist's Label) makes members of another cluster drop
// our packets and we theirs; an optional AES key ring (Config.KeyFile, SetKeys for a
// rotation without restarts) keeps out members without the key.
//
// It is a top-level package, not internal/, because it is a capability of the system the
// way kafkasource is: the coordinator, the workers, the API and the process supervisor
// all use it, and an operator reading the tree should find the gossip here.
package membership
