#!/usr/bin/env bash
# Scale-out benchmark (issue 12, the registry half), side by side in one run,
# release build:
#  - embedded:   SQLite + blobs in the data dir, one server;
#  - scale-out:  PostgreSQL (a throwaway Debian cluster) + an S3 bucket (moto,
#                in memory on loopback, as the tests use), one server;
#  - scale-out x2: the same database and bucket, two servers, the load split
#                evenly between them (what a round-robin balancer does).
# For each: manifest GET by tag as an entitled customer (wrk, 32 connections
# in all, rps and p99; every GET is a logged pull), 1 MB blob pushes (8
# clients in all, POST + PUT), and a 100 MB blob GET (curl, MB/s).
# (bench/scaleout.sh measures the delay from a save on A to the portal on B.)
# Not a test: run it by hand.   DURATION=10 PUSHES=200 bench/scaleout_registry.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"
BENCH="$(cd "$(dirname "$0")" && pwd)"
DURATION="${DURATION:-10}"
PUSHES="${PUSHES:-200}"
apt_install wrk python3 curl postgresql
python3 -c 'import moto.server, flask, flask_cors' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1'
[ -n "${SKIP_BUILD:-}" ] || build_server release
BIN="$CARGO_TARGET_DIR/release/portcullis"

WORK="$(mktemp -d)"
chmod 755 "$WORK"
cleanup() {
  kill $(jobs -p) $(cat "$WORK"/*.pid 2>/dev/null) 2>/dev/null || true; wait 2>/dev/null || true
  stop_pg
  rm -rf "$WORK"
}
trap cleanup EXIT

log "PostgreSQL (throwaway cluster) and an S3 server (moto)"
start_pg
"$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -c "CREATE DATABASE bench"
PG_URL="postgres://postgres@127.0.0.1:$PGPORT/bench"
S3_PORT=$(free_port)
python3 -m moto.server -H 127.0.0.1 -p "$S3_PORT" >"$WORK/moto.log" 2>&1 &
wait_http "http://127.0.0.1:$S3_PORT/"
curl -sf -X PUT "http://127.0.0.1:$S3_PORT/bench" -o /dev/null
SCALEOUT_ENV=(DATABASE_URL="$PG_URL" PORTCULLIS_STORAGE="s3://bench/portcullis"
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
  AWS_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" AWS_ALLOW_HTTP=true)

small_image
head -c $((100 * 1024 * 1024)) /dev/urandom >"$WORK/big"

# serve NAME [env...]: a server on a fresh data dir; prints its port.
serve() {
  local name=$1 port; shift
  port=$(free_port)
  mkdir -p "$WORK/$name"
  env PORTCULLIS_LOG=warn "$@" "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$WORK/$name" \
    >"$WORK/$name.log" 2>&1 &
  echo $! >"$WORK/$name.pid"
  wait_http "http://127.0.0.1:$port/v2/"
  echo "$port"
}

# setup NAME PORT [env...]: an org, an image web:1.0, the 100 MB blob, an
# entitled customer; sets VENDOR and CUSTOMER (Basic credentials).
setup() {
  local name=$1 port=$2; shift 2
  seed_acme "http://127.0.0.1:$port" "config layer big" env "$@" "$BIN" --data-dir "$WORK/$name" admin
}

R="$WORK/results"; : >"$R"
wrk_get() { # port connections
  wrk -t1 -c"$2" -d"${DURATION}s" --latency -H "Authorization: Basic $CUSTOMER" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$1/v2/acme/web/manifests/1.0"
}
rps() { awk '/Requests\/sec/{printf "%.0f", $2}'; }
# wrk counts refused requests too: a run with any is void.
ok() { if grep -q "Non-2xx" "$1"; then echo "refused requests in $1:" >&2; cat "$1" >&2; exit 1; fi; }
p99() { awk '$1=="99%"{print $2}'; }
big_get() { # port (the vendor: the blob is in no manifest a customer may pull)
  curl -sf -H "Authorization: Basic $VENDOR" -o /dev/null -w '%{speed_download}' \
    "http://127.0.0.1:$1/v2/acme/web/blobs/$(sha "$WORK/big")" | python3 -c 'import sys; print(round(float(sys.stdin.read()) / 1e6))'
}
measure() { # label port [port2]
  local label=$1 a=$2 b=${3:-}
  log "$label: manifest GET (customer), 1 MB pushes, 100 MB GET"
  if [ -z "$b" ]; then
    local out; out=$(wrk_get "$a" 32)
    echo "$out" >"$WORK/wrk-one"; ok "$WORK/wrk-one"
    echo "$label get_rps $(echo "$out" | rps)" >>"$R"
    echo "$label get_p99 $(echo "$out" | p99)" >>"$R"
    echo "$label push $(python3 "$BENCH/push.py" "127.0.0.1:$a" acme/push "$PUSHES" 8 "$VENDOR" monolithic)" >>"$R"
  else
    wrk_get "$a" 16 >"$WORK/wrk-a" & local wa=$!
    wrk_get "$b" 16 >"$WORK/wrk-b" & local wb=$!
    wait "$wa" "$wb"
    ok "$WORK/wrk-a"; ok "$WORK/wrk-b"
    echo "$label get_rps $(( $(rps <"$WORK/wrk-a") + $(rps <"$WORK/wrk-b") ))" >>"$R"
    echo "$label get_p99 $(p99 <"$WORK/wrk-a")/$(p99 <"$WORK/wrk-b")" >>"$R"
    python3 "$BENCH/push.py" "127.0.0.1:$a" acme/push2a "$((PUSHES / 2))" 4 "$VENDOR" monolithic >"$WORK/push-a" & local pa=$!
    python3 "$BENCH/push.py" "127.0.0.1:$b" acme/push2b "$((PUSHES / 2))" 4 "$VENDOR" monolithic >"$WORK/push-b" & local pb=$!
    wait "$pa" "$pb"
    echo "$label push $(python3 -c "print(round($(cat "$WORK/push-a") + $(cat "$WORK/push-b"), 1))")" >>"$R"
  fi
  echo "$label get100 $(big_get "$a")" >>"$R"
}

PORT=$(serve embedded)
setup embedded "$PORT"
measure embedded "$PORT"
kill "$(cat "$WORK/embedded.pid")"

PORT_A=$(serve scaleout-a "${SCALEOUT_ENV[@]}")
setup scaleout-a "$PORT_A" "${SCALEOUT_ENV[@]}"
measure scaleout "$PORT_A"
PORT_B=$(serve scaleout-b "${SCALEOUT_ENV[@]}")
measure scaleout-x2 "$PORT_A" "$PORT_B"

python3 - "$R" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    label, what, value = line.split()
    rows[(label, what)] = value
labels = ["embedded", "scaleout", "scaleout-x2"]
print(f"{'measure':38} {'embedded':>12} {'PG+S3, one':>12} {'PG+S3, two':>12}")
for what, title in [("get_rps", "manifest GET (customer), rps"), ("get_p99", "  p99"),
                    ("push", "1 MB push/s, 8 clients"), ("get100", "100 MB blob GET, MB/s")]:
    print(f"{title:38} " + " ".join(f"{rows.get((l, what), '-'):>12}" for l in labels))
def ratio(what, l):
    try:
        return f"{float(rows[(l, what)]) / float(rows[('embedded', what)]):.2f}"
    except (KeyError, ValueError, ZeroDivisionError):
        return "-"
for what, title in [("get_rps", "GET rps / embedded"), ("push", "push/s / embedded"), ("get100", "100 MB GET / embedded")]:
    print(f"{title:38} {'1.00':>12} " + " ".join(f"{ratio(what, l):>12}" for l in labels[1:]))
PY
