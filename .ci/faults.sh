#!/usr/bin/env bash
# Runs every fault-injection scenario of harness/faults against the whole system on
# servers of its own (PostgreSQL, Redis and Kafka started for this run alone, since the
# scenarios stop and restart them), and rewrites docs/reliability.md with the results, also
# when a scenario fails (the report then says which guarantee broke). Exits non-zero if any
# guarantee broke or a server process outlived the run.
#
# Environment:
#   QC_FAULTS_ONLY  comma-separated scenario names to run only those, "abuse" for the abuse
#                   section (the report is then written to .dev/reliability-partial.md, not
#                   docs/reliability.md)
#   FAULTS_TIMEOUT  go test -timeout (default 30m)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
report="$root/docs/reliability.md"
[[ -n "${QC_FAULTS_ONLY:-}" ]] && report="$root/.dev/reliability-partial.md"

# Every temporary directory of the run (binaries, servers, service logs) lives here, so
# leftovers are easy to find and remove.
scratch="$root/.dev/faults-tmp"
rm -rf "$scratch" && mkdir -p "$scratch"
out="$scratch/reliability.md"

status=0
(cd harness && TMPDIR="$scratch" QC_FAULTS=full QC_FAULTS_REPORT="$out" \
  go test -count=1 -timeout="${FAULTS_TIMEOUT:-30m}" -run '^TestAcknowledgedMessagesSurviveFaults$' -v ./faults/) || status=1

if [[ -s "$out" ]]; then
  mkdir -p "$(dirname "$report")"
  mv "$out" "$report"
  echo "wrote ${report#$root/}"
else
  echo "no report was written"; status=1
fi

# No server or service may outlive the run.
if pgrep -af "$scratch" >/dev/null; then
  echo "orphaned processes:"; pgrep -af "$scratch"; status=1
fi
if [[ $status -eq 0 ]]; then
  rm -rf "$scratch"
else
  echo "logs of failed scenarios are kept under ${scratch#$root/}"
fi
exit $status
