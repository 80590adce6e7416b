#!/usr/bin/env bash
# Runs every Fuzz* target in every module for the given time (default 10s each).
# Go runs one fuzz target per invocation, so targets are listed and run one by one.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
status=0
for m in $(go list -m -f '{{.Dir}}'); do
  for pkg in $(cd "$m" && go list ./...); do
    dir=$(cd "$m" && go list -f '{{.Dir}}' "$pkg")
    for target in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u); do
      echo "=== fuzz $pkg $target for $fuzztime"
      (cd "$dir" && go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" .) || status=1
    done
  done
done
exit $status
