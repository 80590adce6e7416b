#!/usr/bin/env bash
# Runs every module's tests against one shared set of real servers (PostgreSQL, Redis,
# Kafka) started by harness/devstack, then the short fuzz runs, and checks that no server
# process outlives the run. Tests that must stop or kill a server start their own.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dev="$root/.dev"
stack_dir="$dev/test-stack"
env_file="$stack_dir/stack.env"
GO_TEST_FLAGS=${GO_TEST_FLAGS:-"-count=1 -timeout=10m"}
FUZZTIME=${FUZZTIME:-10s}

# The secured, clustered stack (3 SASL_SSL Kafka brokers, TLS + ACL and plain Redis
# Clusters, TLS PostgreSQL) runs beside it for the tests of production backends.
secure_dir="$dev/test-secure-stack"
secure_env="$secure_dir/stack.env"

rm -rf "$stack_dir" "$secure_dir" && mkdir -p "$stack_dir" "$secure_dir" "$dev/bin"
go build -o "$dev/bin/devstack" ./harness/devstack/cmd/devstack
"$dev/bin/devstack" up -dir "$stack_dir" -env-file "$env_file" -exit-with-parent >"$stack_dir/devstack.log" 2>&1 &
stack_pid=$!
"$dev/bin/devstack" up -secure -dir "$secure_dir" -env-file "$secure_env" -exit-with-parent >"$secure_dir/devstack.log" 2>&1 &
secure_pid=$!
cleanup() {
  kill -TERM "$stack_pid" "$secure_pid" 2>/dev/null || true
  wait "$stack_pid" "$secure_pid" 2>/dev/null || true
}
trap cleanup EXIT

wait_env() { # pid env-file log
  for _ in $(seq 1 360); do
    [[ -s "$2" ]] && return 0
    kill -0 "$1" 2>/dev/null || { cat "$3"; echo "devstack failed"; exit 1; }
    sleep 0.5
  done
  cat "$3"; echo "devstack did not come up"; exit 1
}
wait_env "$stack_pid" "$env_file" "$stack_dir/devstack.log"
wait_env "$secure_pid" "$secure_env" "$secure_dir/devstack.log"
set -a; source "$env_file"; source "$secure_env"; set +a
echo "test stack: postgres=$QC_TEST_POSTGRES_URL redis=$QC_TEST_REDIS_ADDR kafka=$QC_TEST_KAFKA_BROKERS"
echo "secured stack: kafka=$QC_TEST_SECURE_KAFKA_BROKERS redis=$QC_TEST_SECURE_REDIS_ADDRS"

# Servers that tests start themselves live under this run's own temporary directory, so the
# orphan check below sees only what this run started (never a `make dev` beside it).
export TMPDIR="$stack_dir/tmp"
mkdir -p "$TMPDIR"

status=0
for m in $(go list -m -f '{{.Dir}}'); do
  echo "=== go test ${m#$root/}"
  (cd "$m" && go test $GO_TEST_FLAGS ./...) || status=1
done

# Short fuzz runs of every fuzz target (make fuzz runs them longer).
bash .ci/fuzz.sh "$FUZZTIME" || status=1

cleanup
trap - EXIT
# No server may outlive the run.
if pgrep -af "$stack_dir|$secure_dir" >/dev/null; then
  echo "orphaned server processes:"; pgrep -af "$stack_dir|$secure_dir"; status=1
fi
exit $status
