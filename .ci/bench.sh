#!/usr/bin/env bash
# What `make bench` runs: the standard load scenarios on the local stack (the servers
# `make dev` runs, started by harness/devstack) and the persister's Kafka → PostgreSQL
# throughput benchmark; both rewrite their parts of docs/benchmarks.md. Takes 6 to 16
# minutes on the 2-core reference machine, depending on the host.
#
# Environment (optional):
#   BENCH_SKIP_PERSISTER=1  skip the persister benchmark
#   LOADGEN_*               loadgen settings (see harness/loadgen/config.go), e.g.
#                           LOADGEN_BENCH_ONLY=idle,fanout to run some scenarios only
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="$root/.dev/bin"
mkdir -p "$bin"
start=$(date +%s)

go build -o "$bin/loadgen" ./harness/loadgen
# Each scenario starts worker processes; a single server process may hold up to the
# hard open-file limit (loadgen raises its soft limit, and the services inherit it).
echo "open files: soft $(ulimit -Sn), hard $(ulimit -Hn)"
LOADGEN_BENCH_DIR="${LOADGEN_BENCH_DIR:-$root/.dev/bench}" \
LOADGEN_BENCH_DOC="${LOADGEN_BENCH_DOC:-$root/docs/benchmarks.md}" \
  "$bin/loadgen" bench

if [[ "${BENCH_SKIP_PERSISTER:-}" != 1 ]]; then
  # The persister's own benchmark writes the "Persister: Kafka → PostgreSQL" section.
  QC_BENCH=1 QC_BENCH_DOC="$root/docs/benchmarks.md" \
    go test -count=1 -run '^TestPersistThroughput$' -v -timeout 30m ./services/persister
fi

elapsed=$(( $(date +%s) - start ))
echo "bench finished in ${elapsed}s"
# No server may outlive the run.
if pgrep -af "$root/.dev/bench|kafka.Kafka.*\.dev/bench" >/dev/null; then
  echo "orphaned server processes:"; pgrep -af "$root/.dev/bench"; exit 1
fi
