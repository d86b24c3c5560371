#!/usr/bin/env bash
# Issue 13's numbers in one command (not a test): the registry (vendor vs
# customer manifest GET, rps and p99 with the pulls logged; 1 MB push rates)
# and the console at scale (page and API timings and sizes), each side by
# side with BASE when given.
#   bench/perf.sh                 this tree only
#   BASE=889a5d6 bench/perf.sh    this tree and that commit (built once into
#                                 "$CARGO_TARGET_DIR-base")
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
source "$BENCH/../scripts/lib.sh"
"$BENCH/registry_perf.sh"
if [ -n "${BASE:-}" ]; then
  BASE_COMMIT=$(git -C "$ROOT" rev-parse --verify "$BASE^{commit}")
  BEFORE_BIN="${BASE_TARGET_DIR:-$CARGO_TARGET_DIR-base}/portcullis-$BASE_COMMIT" "$BENCH/console.sh"
else
  "$BENCH/console.sh"
fi
