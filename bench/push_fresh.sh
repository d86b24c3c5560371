#!/usr/bin/env bash
# 1 MB monolithic push rate of several builds, each batch on a fresh ext4
# filesystem with a journal (loop-mounted; root and loop devices needed),
# the server on the last CPU and the 8 clients on the others (taskset), the
# builds taking turns in alternating order. A batch: a new data dir, the
# bench org seeded, 200 warm-up pushes, then $PUSHES pushes; printed: the
# rate, the server's CPU time per push, and each CPU's idle time. Unlike
# bench/registry_perf.sh, no batch inherits what an earlier one wrote or
# deleted. The name `docker-registry` stands for Debian's docker-registry
# (the Go registry issue 13 compares with; no authentication, so its clients
# send none), measured the same way. Not a test: run it by hand.
#   bench/push_fresh.sh BIN_A BIN_B [...]     (ROUNDS=5, PUSHES=1200)
#   bench/push_fresh.sh BIN docker-registry
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"
BENCH="$(cd "$(dirname "$0")" && pwd)"
ROUNDS="${ROUNDS:-5}"
PUSHES="${PUSHES:-1200}"
[ $# -ge 1 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }
apt_install python3 curl util-linux e2fsprogs
if printf '%s\n' "$@" | grep -qx docker-registry; then apt_install docker-registry; fi
LAST=$(( $(nproc) - 1 ))
[ "$LAST" -ge 1 ] || { echo "needs 2 or more CPUs" >&2; exit 2; }

batch() { # binary
  local bin=$1 WORK port pid c0 c1 rate failed=0
  WORK=$(mktemp -d)
  mount_journal_fs 16G
  small_image
  port=$(free_port)
  if [ "$bin" = docker-registry ]; then
    WORK="$WORK/fs" docker_registry "$port"
    pid=$!
    VENDOR=""
  else
    PORTCULLIS_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$WORK/fs/data" >"$WORK/server.log" 2>&1 &
    pid=$!
  fi
  wait_http "http://127.0.0.1:$port/v2/"
  [ "$bin" = docker-registry ] || seed_acme "http://127.0.0.1:$port" "config layer" "$bin" --data-dir "$WORK/fs/data" admin
  python3 "$BENCH/push.py" "127.0.0.1:$port" acme/warm 200 8 "$VENDOR" monolithic >/dev/null 2>&1
  sync
  taskset -a -p -c "$LAST" "$pid" >/dev/null
  c0=$(cpu_ticks "$pid")
  if rate=$(taskset -c "0-$((LAST - 1))" python3 "$BENCH/push.py" "127.0.0.1:$port" acme/p "$PUSHES" 8 "$VENDOR" monolithic 2>"$WORK/err"); then
    c1=$(cpu_ticks "$pid")
    printf '%-50s %8s push/s  server CPU %s ms/push  %s\n' "$bin" "$rate" \
      "$(per_op "$c0" "$c1" "$PUSHES" 1e3)" "$(grep -o 'idle by CPU.*' "$WORK/err")"
  else
    cat "$WORK/err" >&2; failed=1
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  umount "$WORK/fs"; rm -rf "$WORK"
  return "$failed"
}

for round in $(seq "$ROUNDS"); do
  bins=("$@")
  if [ $((round % 2)) = 0 ]; then mapfile -t bins < <(printf '%s\n' "$@" | tac); fi
  for bin in "${bins[@]}"; do printf 'round %s  ' "$round"; batch "$bin"; done
done
