package worker

import "time"

// The start's hold (--start-hold; off by default): a standalone node replays every
// entries partition at its start, and they catch up one by one over seconds; each tick
// meanwhile cycles the partitions caught up (their first writes, then re-ranks). With a
// hold, a standalone worker's ticks pass until its start's replay has ended (held, as
// ticks before the points and matches topics caught up are): its first cycle ranks and
// writes every partition at once, and no standings of a part of the partitions are
// published before the node can be ready.
//
// It is off by default because it made the node ready later, not sooner: the cycles over
// the partitions caught up early use the cores the replay leaves idle (it waits on the
// broker), and held, those first writes come after the replay instead (at 5.6M entries,
// ready after a median of 19.85 s held against 13.25 s, six alternated runs each:
// docs/PERFORMANCE.md, "Cycles that do no work twice"). What those early cycles did
// twice, re-ranking the partitions caught up on unchanged points at every tick, the
// engine now skips (engine.Stats.Repeated).
//
// The hold lasts at most Config.StartHold from the first tick: a partition that never
// catches up (a broker that cannot serve it) does not keep the others' standings from
// being written; after it, the partitions caught up are cycled as without a hold. A
// cluster worker is not held: the coordinator hands it a partition another worker writes
// only once loaded (LoadPartition, then Adopt), and one it takes over mid-match (its
// writer gone) must not stall the cycles of the others it writes.

// holdStartLocked reports whether a cycle at now is held for the start's replay (under
// mu): a standalone worker that has not published yet, a partition it writes still
// replaying, within StartHold of its first tick.
func (w *Worker) holdStartLocked(now time.Time) bool {
	if w.cfg.Cluster || w.cfg.StartHold == 0 || w.published.Load() || w.holdDone {
		return false
	}
	if w.holdSince.IsZero() {
		w.holdSince = now
	}
	if w.writersCaughtUpLocked() {
		w.holdDone = true
		return false
	}
	if now.Sub(w.holdSince) >= w.cfg.StartHold {
		w.holdDone = true
		w.log.Warn("partitions still replaying after the start's hold: the caught-up ones are cycled now", "hold", w.cfg.StartHold, "replaying", w.countReplaying())
		return false
	}
	return true
}
