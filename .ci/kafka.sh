#!/usr/bin/env bash
# A real Apache Kafka broker (single-node KRaft, loopback only, no security) for the tests
# that run against one when KAFKA_BROKERS is set. Shell is only glue here: the jars come
# from Maven Central (cached in ~/.m2) through .ci/kafka/pom.xml, and Java runs Kafka's
# own StorageTool and kafka.Kafka. docs/KAFKA.md explains it.
#
#   .ci/kafka.sh start DIR   fetch the jars if needed, format DIR, start the broker in the
#                            background (log: DIR/kafka.log), wait until it serves, and
#                            print KAFKA_BROKERS=host:port
#   .ci/kafka.sh stop DIR    stop the broker started in DIR and wait for it to exit
#
# Environment: KAFKA_PORT (client port, default 39092; the controller uses the next one),
# KAFKA_HEAP (default -Xmx384m), KAFKA_START_TIMEOUT (seconds, default 60).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
(($# == 2)) || usage
cmd=$1 dir=$2

port=${KAFKA_PORT:-39092}
cport=$((port + 1))

classpath() {
  local cp="$dir/classpath.txt"
  if [[ ! -s $cp || $here/kafka/pom.xml -nt $cp ]]; then
    command -v mvn >/dev/null || { echo "$0: mvn not found (apt-get install -y maven)" >&2; exit 1; }
    command -v java >/dev/null || { echo "$0: java not found (apt-get install -y openjdk-17-jre-headless)" >&2; exit 1; }
    mvn -q -B -Dstyle.color=never -f "$here/kafka/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp" >&2
  fi
  cat "$cp"
}

start() {
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [[ -f $dir/pid ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    echo "$0: a broker from $dir is already running (pid $(cat "$dir/pid"))" >&2
    exit 1
  fi
  local cp
  cp="$(classpath)"
  rm -rf "$dir/data"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
# Like a production cluster: topics are created on purpose, never by a client's fetch.
auto.create.topics.enable=false
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.segment.bytes=67108864
EOF
  cat >"$dir/log4j2.properties" <<'EOF'
rootLogger.level=WARN
rootLogger.appenderRef.out.ref=out
appender.out.type=Console
appender.out.name=out
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
logger.server.name=kafka.server.KafkaRaftServer
logger.server.level=INFO
EOF
  local jvm=(${KAFKA_HEAP:--Xmx384m} -XX:+UseG1GC -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -Dkafka.logs.dir="$dir")
  # A fixed cluster id: the directory is formatted afresh every start.
  java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format -t "lbci-kraft-0000000000" \
    -c "$dir/server.properties" --ignore-formatted >"$dir/format.log" 2>&1 ||
    { cat "$dir/format.log" >&2; exit 1; }
  nohup java "${jvm[@]}" -cp "$cp" kafka.Kafka "$dir/server.properties" >"$dir/kafka.log" 2>&1 &
  echo $! >"$dir/pid"
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-60}))
  until grep -q "Kafka Server started" "$dir/kafka.log" 2>/dev/null; do
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "$0: the broker exited; its log:" >&2; tail -50 "$dir/kafka.log" >&2; exit 1
    fi
    if ((SECONDS > deadline)); then
      echo "$0: the broker did not start in ${KAFKA_START_TIMEOUT:-60}s; its log:" >&2
      tail -50 "$dir/kafka.log" >&2; stop; exit 1
    fi
    sleep 0.2
  done
  echo "KAFKA_BROKERS=127.0.0.1:$port"
}

stop() {
  [[ -f $dir/pid ]] || return 0
  local pid
  pid="$(cat "$dir/pid")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pid"
}

case $cmd in
start) start ;;
stop) stop ;;
*) usage ;;
esac
