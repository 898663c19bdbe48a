#!/usr/bin/env bash
# The project's whole test suite: what CI runs (through .ci/run) and what a developer runs.
# Needs Go (go.mod's version) and a C compiler for the DuckDB comparison module.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> %s\n' "$*"; }

step "go vet ./..."
go vet ./...

if [[ -n ${KAFKA_BROKERS:-} ]]; then
  echo "Kafka tests: the embedded broker and the real one at KAFKA_BROKERS=$KAFKA_BROKERS"
else
  echo "Kafka tests: the embedded broker only (KAFKA_BROKERS unset; .ci/run starts a real one, see docs/KAFKA.md)"
fi

step "go test -race ./..."
go test -race -timeout 20m ./...

step "every benchmark once (-benchtime 1x), so they keep compiling and running"
go test -run '^$' -bench . -benchtime 1x -timeout 20m ./...

step "bench/duckdb: ranks against DuckDB's rank() on datasets our generator did not make"
(cd bench/duckdb && go vet ./... && go test -timeout 20m ./...)

step "deploy/manifesttest: the Kubernetes manifests, compose file and Dockerfile against the binary's flags"
(cd deploy/manifesttest && go vet ./... && go test -timeout 10m ./...)

echo
echo "all tests passed"
