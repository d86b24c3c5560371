#!/usr/bin/env bash
# The console at scale (issue 13, item 4): a release build seeded with
# bench/seed.py (10k customers, 1,000 artifacts x 100 tags, 50k
# entitlements), then each page and API call below requested N times (20 by
# default) one after the other by a signed-in vendor user: p50 and p95 time
# and the answer's size.
#   bench/console.sh                      this tree's release build
#   BEFORE_BIN=/path/to/old/portcullis bench/console.sh
#                                         the same, side by side with an older
#                                         build (its own server, seeded alike)
# Not a test: run it by hand.  N=50 SEED="2000 200 20 2" bench/console.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
N="${N:-20}"
BENCH="$(cd "$(dirname "$0")" && pwd)"
apt_install python3 curl
if [ -z "${BIN:-}" ]; then
  build_server release
  BIN="$CARGO_TARGET_DIR/release/portcullis"
fi

WORK="$(mktemp -d)"
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# What is measured: the console pages (first and a later page, a search) and
# the API (a default page, the next one), and the entitlement form, new
# (artifact names only) and editing one (with its artifacts' tags).
PATHS=(
  /artifacts
  '/artifacts?after=art-500'
  '/artifacts?q=art-99'
  /licenses
  '/licenses?after=seeded%20customer%205000'
  '/licenses?q=customer%2099'
  /api/v1/artifacts
  '/api/v1/artifacts?after=art-500'
  /api/v1/customers
  '/api/v1/customers?after=seeded%20customer%205000'
  '/licenses/1/entitlements/new'
  '/licenses/1/entitlements/1'
)

# start NAME BINARY: a server with its own seeded data directory; sets
# BASE_<NAME> and COOKIE_<NAME>.
start() {
  local name=$1 bin=$2 dir="$WORK/$1" port
  mkdir -p "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local base="http://127.0.0.1:$port"
  PORTCULLIS_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$dir" >"$dir/server.log" 2>&1 &
  for _ in $(seq 100); do curl -s -o /dev/null "$base/healthz" && break; sleep 0.1; done
  printf 'bench password\n' | "$bin" --data-dir "$dir" admin create-org --slug acme --name Acme \
    --admin-email bench@acme.test --plan pro >/dev/null
  log "seeding ($name)"
  python3 "$BENCH/seed.py" "$dir/portcullis.db" ${SEED:-}
  curl -s -c "$dir/jar" -o /dev/null -H 'Accept: text/html' --data-urlencode email=bench@acme.test \
    --data-urlencode 'password=bench password' --data-urlencode next=/artifacts "$base/api/sign_in"
  local cookie; cookie=$(awk '$6=="portcullis_session"{print $6"="$7}' "$dir/jar")
  [ -n "$cookie" ] || { echo "sign-in failed ($name)"; exit 1; }
  printf -v "BASE_$name" '%s' "$base"
  printf -v "COOKIE_$name" '%s' "$cookie"
}

# measure NAME PATH: "p50_ms p95_ms size_kb status" of N requests.
measure() {
  local base_var="BASE_$1" cookie_var="COOKIE_$1"
  local url="${!base_var}$2" cookie="${!cookie_var}"
  curl -s -o /dev/null -H "Cookie: $cookie" "$url" # warm (first-read caches)
  for _ in $(seq "$N"); do
    curl -s -o /dev/null -H "Cookie: $cookie" -w '%{time_total} %{size_download} %{http_code}\n' "$url"
  done | python3 -c '
import sys
rows = [line.split() for line in sys.stdin if line.strip()]
times = sorted(float(r[0]) * 1000 for r in rows)
pick = lambda q: times[min(len(times) - 1, int(round(q * (len(times) - 1))))]
codes = ",".join(sorted({r[2] for r in rows}))
print(f"{pick(0.5):.1f} {pick(0.95):.1f} {int(rows[-1][1]) / 1024:.0f} {codes}")'
}

start after "$BIN"
[ -n "${BEFORE_BIN:-}" ] && start before "$BEFORE_BIN"

log "timings: $N requests each, one at a time (p50 / p95 ms, size KB, status)"
if [ -n "${BEFORE_BIN:-}" ]; then
  printf '%-52s %28s   %28s   %s\n' "page or call" "before" "after" "p95 before/after"
else
  printf '%-52s %28s\n' "page or call" "this build"
fi
for path in "${PATHS[@]}"; do
  read -r a50 a95 akb acode < <(measure after "$path")
  if [ -n "${BEFORE_BIN:-}" ]; then
    read -r b50 b95 bkb bcode < <(measure before "$path")
    printf '%-52s %7s / %7s ms %6s KB %s   %7s / %7s ms %6s KB %s   %s\n' "$path" \
      "$b50" "$b95" "$bkb" "$bcode" "$a50" "$a95" "$akb" "$acode" \
      "$(python3 -c "print(f'{$b95 / max($a95, 0.01):.1f}x')")"
  else
    printf '%-52s %7s / %7s ms %6s KB %s\n' "$path" "$a50" "$a95" "$akb" "$acode"
  fi
done
