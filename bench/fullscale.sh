#!/usr/bin/env bash
# The full-scale run on one node (docs/PERFORMANCE.md, "Full-scale run"): gen N entries /
# C contests, the development broker, load through it, a cold standalone node, probes once
# it serves exact standings (--probes N: points freshness, one late entry's cost to its
# cycle), a live match (simulate) followed until its final standings; per-stage cycle timings,
# RSS over time, replay rate, first-standings time, records written per cycle; the last
# line of stdout is one JSON object. Runs unchanged on a 16-core machine and a laptop:
#
#   bench/fullscale.sh                                   # the card: 56M entries / 2M contests
#   bench/fullscale.sh --entries 5600000                 # contests default to entries/28
#   bench/fullscale.sh --entries 500000 --work /tmp/fs   # keep (and reuse) the dataset
#   bench/fullscale.sh --kafka 127.0.0.1:39092 ...       # a real broker (.ci/kafka.sh)
#
# Every flag: go run ./bench/fullscale -h. Memory: the node needs a few hundred bytes per
# entry, the development broker keeps every record in memory (~250 B per entry), and gen
# ~100 B per entry while it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir="$(mktemp -d "${TMPDIR:-/tmp}/lb-fullscale-bin.XXXXXX")"
trap 'rm -rf "$bin_dir"' EXIT
go build -o "$bin_dir/leaderboard" ./cmd/leaderboard
go build -o "$bin_dir/fullscale" ./bench/fullscale
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3)" >&2
"$bin_dir/fullscale" --bin "$bin_dir/leaderboard" "$@"
