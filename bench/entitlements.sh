#!/usr/bin/env bash
# Entitlement benchmark (issue 5): a release build seeded with 10k customers,
# 50k entitlements, 1k artifacts and 100k tags (bench/seed.py), then
#  1. manifest GET and HEAD by tag as a customer vs as a vendor user (wrk;
#     HEAD is the entitlement check's cost, GET adds the pull log),
#  2. the customer's Artifacts page (/portal) and GET /api/v1/artifacts
#     render time (hey; p50/p95/p99),
#  3. the delay from an entitlement save to the open portal showing it
#     (bench/live.py: a server-sent-events client and the page, p50/p95).
# Not a test: run it by hand.  DURATION=10 bench/entitlements.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
DURATION="${DURATION:-10}"
BENCH="$(cd "$(dirname "$0")" && pwd)"
apt_install wrk hey python3 curl
build_server release
BIN="$CARGO_TARGET_DIR/release/portcullis"

WORK="$(mktemp -d)"
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
PORTCULLIS_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK" >"$WORK/server.log" 2>&1 &
for _ in $(seq 100); do curl -s -o /dev/null "$BASE/v2/" && break; sleep 0.1; done
admin() { "$BIN" --data-dir "$WORK" admin "$@"; }
printf 'bench password\n' | admin create-org --slug acme --name Acme --admin-email bench@acme.test --plan pro >/dev/null
VENDOR=$(admin create-token --email bench@acme.test --label bench)
log "seeding"
python3 "$BENCH/seed.py" "$WORK/portcullis.db" ${SEED:-}

api() { # method path [json]
  curl -sf -X "$1" -H "Authorization: Bearer $VENDOR" -H 'Content-Type: application/json' ${3:+--data "$3"} "$BASE$2"
}
CUSTOMER_ID=$(api POST /api/v1/customers '{"name":"Bench customer"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api POST "/api/v1/customers/$CUSTOMER_ID/users" '{"email":"bench@customer.test","password":"customer password","role":"member"}' >/dev/null
ENTITLEMENT=$(api POST "/api/v1/customers/$CUSTOMER_ID/entitlements" \
  '{"name":"bench","artifacts":[{"artifact":"art-1","tags":["1.0","1.1","1.2","1.3","1.4","1.5","1.6","1.7","1.8","1.9"]},{"artifact":"art-2","tags":"all"},{"artifact":"art-3","tags":["1.50"]}]}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
CUSTOMER=$(admin create-token --email bench@customer.test --label bench)
basic() { printf '%s:%s' "$1" "$2" | base64 -w0; }

log "1. manifest GET and HEAD by tag, 32 connections, ${DURATION}s each"
# A customer's GET is also written to the pull log (batched); its HEAD is
# not, so HEAD isolates the entitlement check itself.
URL="$BASE/v2/acme/art-1/manifests/1.5"
for method in GET HEAD; do
  for who in vendor customer vendor customer; do
    case $who in
      vendor) AUTH=$(basic bench@acme.test "$VENDOR") ;;
      customer) AUTH=$(basic bench@customer.test "$CUSTOMER") ;;
    esac
    curl -sf -o /dev/null -H "Authorization: Basic $AUTH" "$URL"
    if [ $method = GET ]; then
      RPS=$(wrk -t2 -c32 -d"${DURATION}s" -H "Authorization: Basic $AUTH" "$URL" | awk '/Requests\/sec/{print $2}')
    else # (wrk waits for a body after HEAD; hey does not)
      RPS=$(hey -z "${DURATION}s" -c 32 -m HEAD -H "Authorization: Basic $AUTH" "$URL" | awk '/Requests\/sec/{print $2}')
    fi
    echo "$method $who $RPS" | tee -a "$WORK/rps"
  done
done
awk '{sum[$1" "$2]+=$3; n[$1" "$2]++}
  END {split("GET HEAD", ms, " ");
    for (i = 1; i <= 2; i++) { m = ms[i]; v = sum[m" vendor"]/n[m" vendor"]; c = sum[m" customer"]/n[m" customer"];
      printf "manifest %s: vendor %.0f rps, customer %.0f rps, customer/vendor = %.3f (%.1f%% less)\n", m, v, c, c/v, (1-c/v)*100 }}' "$WORK/rps"

log "2. the customer's Artifacts page"
curl -s -c "$WORK/jar" -o /dev/null -H 'Accept: text/html' \
  --data-urlencode email=bench@customer.test --data-urlencode password='customer password' --data-urlencode next=/portal "$BASE/api/sign_in"
COOKIE=$(awk '$6=="portcullis_session"{print $6"="$7}' "$WORK/jar")
[ -n "$COOKIE" ] || { echo "sign-in failed"; exit 1; }
curl -sf -o /dev/null -H "Cookie: $COOKIE" "$BASE/portal"
for path in /portal /api/v1/artifacts; do
  case $path in
    /portal) H="Cookie: $COOKIE" ;;
    *) H="Authorization: Bearer $CUSTOMER" ;;
  esac
  hey -n 1000 -c 1 -H "$H" "$BASE$path" >"$WORK/hey"
  awk -v p="$path" '/50% in/{p50=$3} /95% in/{p95=$3} /99% in/{p99=$3} /Status code distribution/{s=1} s&&/\[/{codes=codes" "$1$2}
    END {printf "%s: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms (status%s)\n", p, p50*1000, p95*1000, p99*1000, codes}' "$WORK/hey"
done

log "3. entitlement save -> open portal shows it"
python3 "$BENCH/live.py" "$BASE" "$VENDOR" "$ENTITLEMENT" "$COOKIE"
