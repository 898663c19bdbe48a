#!/usr/bin/env bash
# API look-ups under wrk on loopback: starts `leaderboard demo` (200k entries, a cycle
# every 15 s, a near-still match), collects 5,000 (contest, entry) pairs from the top 200
# contests, checks one answers 200, then runs wrk three times on the entry endpoint.
# Usage: bench/api-wrk.sh [PORT]   (needs wrk: apt-get install -y wrk)
#   GOMAXPROCS=1 bench/api-wrk.sh          the server on one core, wrk on the other
#   LEADERBOARD_BIN=/tmp/lb bench/api-wrk.sh   a binary built elsewhere (another commit)
#   DEMO_ARGS="--admin-http 127.0.0.1:6060" ...     more demo flags
set -euo pipefail
PORT=${1:-18080}
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk not installed: apt-get install -y wrk" >&2; exit 1; }
BIN=${LEADERBOARD_BIN:-}
if [ -z "$BIN" ]; then
  BIN=$(mktemp -d)/leaderboard
  go build -o "$BIN" ./cmd/leaderboard
fi
if curl -s -o /dev/null "127.0.0.1:$PORT"; then
  echo "something already answers on 127.0.0.1:$PORT: stop it, or pass another port (bench/api-wrk.sh 18090)" >&2
  exit 1
fi
"$BIN" demo --http 127.0.0.1:$PORT --entries 200000 --interval 15s --speed 0.01 ${DEMO_ARGS:-} >/dev/null 2>&1 &
DPID=$!
trap 'kill $DPID 2>/dev/null; wait $DPID 2>/dev/null || true' EXIT
echo "waiting for the first cycle..." >&2
for _ in $(seq 1 90); do
  sleep 1
  curl -s 127.0.0.1:$PORT/v1/matches 2>/dev/null | grep -q '"cycle":[1-9]' && break
  kill -0 $DPID 2>/dev/null || { echo "the demo exited; run it by hand to see why: $BIN demo --http 127.0.0.1:$PORT" >&2; exit 1; }
done
LUA=$(mktemp --suffix .lua)
python3 - "$PORT" "$LUA" <<'PY'
import json, random, sys, urllib.request
base = 'http://127.0.0.1:' + sys.argv[1]
cs = json.load(urllib.request.urlopen(base + '/v1/matches/1/contests?limit=200'))['contests']
pairs = []
for c in cs:
    lb = json.load(urllib.request.urlopen(base + '/v1/contests/%d/leaderboard?limit=50' % c['contest_id']))
    pairs += [(c['contest_id'], e['entry_id']) for e in lb['entries']]
random.seed(1)
random.shuffle(pairs)
if len(pairs) < 1000:
    sys.exit('only %d entries found: the demo has not ranked yet' % len(pairs))
with open(sys.argv[2], 'w') as f:
    f.write('paths = {\n' + ',\n'.join('"/v1/contests/%d/entries/%d"' % p for p in pairs[:5000]) + '\n}\n')
    # The requests are formatted once, in init: wrk's own CPU per request is then the
    # same as for a fixed URL, and it shares the 2 cores with the server.
    f.write('reqs = {}\ninit = function(args)\n  for i, p in ipairs(paths) do reqs[i] = wrk.format("GET", p) end\nend\n')
    f.write('counter = 0\nrequest = function()\n  counter = counter + 1\n  return reqs[(counter % #reqs) + 1]\nend\n')
PY
P=$(sed -n 2p "$LUA" | tr -d '",')
code=$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$PORT$P")
[ "$code" = 200 ] || { echo "sample look-up $P answered $code" >&2; exit 1; }
for _ in 1 2 3; do
  echo "wrk -t1 -c16 -d10s --latency -s <5000 entry look-ups> http://127.0.0.1:$PORT"
  wrk -t1 -c16 -d10s --latency -s "$LUA" http://127.0.0.1:$PORT | grep -E 'Latency|50%|90%|99%|requests in|Requests/sec|Non-2xx'
done
