#!/usr/bin/env bash
# S3 storage (issue 12) beside the folder backend, in one run: the same
# release binary on a fresh data dir with blobs in the data dir, then with
# blobs in a bucket of a local S3-protocol server (moto, as the tests use;
# in memory, on loopback: this measures Portcullis' overhead, not a real
# bucket's network). For each:
#  - 100 MB blob GET (whole, then a 10 MB Range from its middle), curl,
#    RUNS times: MB/s;
#  - 1 MB blob pushes, 8 clients (bench/push.py): monolithic (POST + PUT
#    with the body) and patch (POST, one PATCH, PUT: docker's way).
# Not a test: run it by hand.   RUNS=3 PUSHES=200 bench/s3_perf.sh
# (SKIP_BUILD=1: take the release binary already in $CARGO_TARGET_DIR.)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"
BENCH="$(cd "$(dirname "$0")" && pwd)"
RUNS="${RUNS:-3}"
PUSHES="${PUSHES:-200}"
PROFILE_DIR="${PROFILE_DIR:-release}"
apt_install python3 curl
python3 -c 'import moto.server, flask, flask_cors' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1'
WORK="$(mktemp -d)"
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
[ -n "${SKIP_BUILD:-}" ] || build_server release
BIN="$CARGO_TARGET_DIR/$PROFILE_DIR/portcullis"

S3_PORT=$(free_port)
python3 -m moto.server -H 127.0.0.1 -p "$S3_PORT" >"$WORK/moto.log" 2>&1 &
wait_http "http://127.0.0.1:$S3_PORT/"
curl -sf -X PUT "http://127.0.0.1:$S3_PORT/bench" -o /dev/null

head -c $((100 * 1024 * 1024)) /dev/urandom >"$WORK/big"
BIG=$(sha "$WORK/big")

R="$WORK/results"
: >"$R"
for backend in folder s3; do
  port=$(free_port)
  dir="$WORK/data-$backend"
  mkdir -p "$dir"
  env=(PORTCULLIS_LOG=warn)
  if [ "$backend" = s3 ]; then
    env+=(PORTCULLIS_STORAGE="s3://bench/portcullis" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
          AWS_REGION=us-east-1 AWS_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" AWS_ALLOW_HTTP=true)
  fi
  env "${env[@]}" "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$dir" >"$WORK/server-$backend.log" 2>&1 &
  pid=$!
  wait_http "http://127.0.0.1:$port/v2/"
  admin=("$BIN" --data-dir "$dir" admin)
  printf 'bench password\n' | "${admin[@]}" create-org --slug acme --name Acme --admin-email bench@acme.test --plan pro >/dev/null
  token=$("${admin[@]}" create-token --email bench@acme.test --label bench)
  base="http://127.0.0.1:$port"
  auth=(-H "Authorization: Bearer $token")
  curl -sf "${auth[@]}" -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/big" \
    "$base/v2/acme/big/blobs/uploads/?digest=$BIG" -o /dev/null
  for i in $(seq "$RUNS"); do
    speed=$(curl -sf "${auth[@]}" -o /dev/null -w '%{speed_download}' "$base/v2/acme/big/blobs/$BIG")
    echo "$backend get100 $(python3 -c "print(round($speed / 1e6, 1))")" >>"$R"
    speed=$(curl -sf "${auth[@]}" -H 'Range: bytes=50000000-60485759' -o /dev/null -w '%{speed_download}' \
      "$base/v2/acme/big/blobs/$BIG")
    echo "$backend range10 $(python3 -c "print(round($speed / 1e6, 1))")" >>"$R"
  done
  for mode in monolithic patch; do
    for i in $(seq "$RUNS"); do
      rate=$(python3 "$BENCH/push.py" "127.0.0.1:$port" "acme/push-$i-$mode" "$PUSHES" 8 \
        "$(basic bench@acme.test "$token")" "$mode")
      echo "$backend push_$mode $rate" >>"$R"
    done
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

python3 - "$R" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    backend, what, value = line.split()
    rows.setdefault((what, backend), []).append(float(value))
def med(k):
    v = rows.get(k)
    return statistics.median(v) if v else float("nan")
print(f"{'measure (median of runs)':40} {'folder':>10} {'s3 (moto)':>10} {'s3/folder':>10}")
for what, label in [("get100", "100 MB blob GET, MB/s"), ("range10", "10 MB Range GET, MB/s"),
                    ("push_monolithic", "1 MB push/s monolithic, 8 clients"),
                    ("push_patch", "1 MB push/s POST+PATCH+PUT, 8 clients")]:
    f, s = med((what, "folder")), med((what, "s3"))
    print(f"{label:40} {f:10.1f} {s:10.1f} {s / f:10.2f}")
    print(f"{'  runs':40} {str(rows.get((what, 'folder'))):>10} {str(rows.get((what, 's3'))):>10}")
PY
