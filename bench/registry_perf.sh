#!/usr/bin/env bash
# Registry performance (issue 13), side by side in one run: this tree and,
# with BASE=<commit>, that commit built into a second target dir
# ($BASE_TARGET_DIR, default "$CARGO_TARGET_DIR-base"; built once per commit).
# Release builds, loopback, authentication on. For each build:
#  - manifest GET by tag, vendor user vs customer user with an entitlement
#    (wrk -c32: rps and p99; in each run vendor, customer, customer, vendor,
#    and the customer/vendor ratio of each run and their median; and the
#    server's own CPU time per GET, which wrk and other load on the machine
#    do not change), and how many pulls the customer's GETs left in the pull
#    log (counted in the database after a graceful stop);
#  - 1 MB blob pushes, 8 clients (bench/push.py): monolithic (POST + PUT with
#    the body), patch (POST, one PATCH, PUT: docker's way) and chunks (POST,
#    four 256 KiB PATCHes, PUT), with the server's own CPU time per push,
#    the client's, and how idle the machine was meanwhile. Each batch runs
#    twice: with the server and its clients sharing every CPU (as issue 13
#    measured), and, on a machine with 2 or more CPUs, "pinned": the server
#    on the last CPU, the clients on the others (taskset), so that the rate
#    is the server's alone, as with the clients on another machine. (Shared,
#    on 2 cores, the 8 Python clients take a third of the CPU and the
#    machine's neighbours move the before/after ratio by +-20 %.)
# Each measure runs RUNS times (default 2), the builds taking turns (in
# the opposite order every other run); every run is printed. Not a test:
# run it by hand.
#   BASE=889a5d6 bench/registry_perf.sh     (DURATION=10 s per wrk run)
#   BASE="889a5d6 e5cd074" bench/registry_perf.sh   (several columns)
# The servers' data dirs live under $TMPDIR. JOURNAL_FS=1 (root, with loop
# devices) puts them on a fresh ext4 filesystem with a journal, loop-mounted
# for this run, whatever $TMPDIR is on (see mount_journal_fs in bench/lib.sh).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"
BENCH="$(cd "$(dirname "$0")" && pwd)"
REPO_ROOT="$(cd "$BENCH/.." && pwd)"
DURATION="${DURATION:-10}"
RUNS="${RUNS:-2}"
PUSHES="${PUSHES:-400}"
apt_install wrk python3 curl util-linux
WORK="$(mktemp -d)"
DATA="$WORK"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  if [ "$DATA" != "$WORK" ]; then umount "$DATA" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ -n "${JOURNAL_FS:-}" ]; then
  mount_journal_fs 64G # (RUNS=4 writes about 19 GB)
  DATA="$WORK/fs"
  log "data dirs on $(findmnt -n -o FSTYPE,OPTIONS "$DATA") with a journal"
fi
# (SKIP_BUILD=1: take the release binary already in $CARGO_TARGET_DIR.)
[ -n "${SKIP_BUILD:-}" ] || build_server release
cp "$CARGO_TARGET_DIR/release/portcullis" "$WORK/portcullis"
BINS=("$WORK/portcullis")
LABELS=("this tree")

# BASE may name several commits ("889a5d6 e5cd074"): each is a column,
# oldest first as given, this tree last.
BASE_TARGET_DIR="${BASE_TARGET_DIR:-$CARGO_TARGET_DIR-base}"
BASE_BINS=() BASE_LABELS=()
for base in ${BASE:-}; do
  BASE_COMMIT=$(git -C "$REPO_ROOT" rev-parse --verify "$base^{commit}")
  BASE_BIN="$BASE_TARGET_DIR/portcullis-$BASE_COMMIT"
  if [ ! -x "$BASE_BIN" ]; then
    log "building $base (${BASE_COMMIT:0:7}) into $BASE_TARGET_DIR"
    SRC="$BASE_TARGET_DIR/src"
    rm -rf "$SRC" && mkdir -p "$SRC"
    git -C "$REPO_ROOT" archive "$BASE_COMMIT" | tar -x -C "$SRC"
    # (git archive dates the files at the commit: newer than any build, so
    # that cargo cannot take another tree's build for this one.)
    find "$SRC" -type f -exec touch {} +
    (cd "$SRC" && CARGO_TARGET_DIR="$BASE_TARGET_DIR" cargo build -p portcullis --release)
    cp "$BASE_TARGET_DIR/release/portcullis" "$BASE_BIN"
  fi
  BASE_BINS+=("$BASE_BIN")
  BASE_LABELS+=("base ${BASE_COMMIT:0:7}")
done
BINS=("${BASE_BINS[@]}" "${BINS[@]}")
LABELS=("${BASE_LABELS[@]}" "${LABELS[@]}")


small_image # (acme/web:1.0)

# Starts build $1 on a fresh data dir, seeded (seed_acme); sets PORT_i,
# VENDOR_i, CUSTOMER_i.
start() {
  local i=$1 bin=${BINS[$1]} dir="$DATA/data$1" port
  port=$(free_port)
  mkdir -p "$dir"
  PORTCULLIS_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$dir" >"$WORK/server$i.log" 2>&1 &
  echo $! >"$WORK/pid$i"
  wait_http "http://127.0.0.1:$port/v2/"
  seed_acme "http://127.0.0.1:$port" "config layer" "$bin" --data-dir "$dir" admin
  eval "PORT_$i=$port VENDOR_$i=$VENDOR CUSTOMER_$i=$CUSTOMER"
}
for i in "${!BINS[@]}"; do start "$i"; done

rps() { awk '/Requests\/sec/{printf "%.0f", $2}'; }
p99() { awk '$1=="99%"{print $2}'; }
requests() { awk '/requests in/{print $1}'; }
get() { # i who
  local port auth; port=$(eval echo "\$PORT_$1"); auth=$(eval echo "\$$(echo "$2" | tr a-z A-Z)_$1")
  wrk -t2 -c32 -d"${DURATION}s" --latency -H "Authorization: Basic $auth" \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$port/v2/acme/web/manifests/1.0"
}
# Before each push batch: the previous batch's 400 MB written back to disk
# now, not during this batch, and (where allowed) the page cache emptied, so
# no batch pays for reclaiming its predecessor's pages. (Measured without
# this: one build's server CPU per push ranged 2.4-3.7 ms within a run.)
settle() { sync; { echo 1 >/proc/sys/vm/drop_caches; } 2>/dev/null || true; }
# Build $1's server's CPU time so far (cpu_ticks, bench/lib.sh).
server_ticks() { cpu_ticks "$(cat "$WORK/pid$1")"; }
# Push layouts (see the top): pinned needs a CPU for the server and one for
# its clients.
NCPU=$(nproc)
SERVER_CPU=$((NCPU - 1)) CLIENT_CPUS="0-$((NCPU > 1 ? NCPU - 2 : 0))" ALL_CPUS="0-$((NCPU - 1))"
LAYOUTS="shared"
[ "$NCPU" -ge 2 ] && LAYOUTS="shared pinned"
# results: lines "<i> <measure> <value>"
R="$WORK/results"; : >"$R"
# The builds take turns in one order in odd runs and the other in even
# runs: on this machine a batch that comes later in a run is often faster
# (measured: the same binary +10 % when second), so a fixed order would
# favour the last build. (An even RUNS balances it.)
FORWARD=("${!BINS[@]}") BACKWARD=()
for ((k = ${#BINS[@]} - 1; k >= 0; k--)); do BACKWARD+=("$k"); done
for run in $(seq "$RUNS"); do
  if [ $((run % 2)) -eq 0 ]; then order=("${BACKWARD[@]}"); else order=("${FORWARD[@]}"); fi
  for i in "${order[@]}"; do
    log "run $run: ${LABELS[$i]}: 1 MB pushes"
    port=$(eval echo "\$PORT_$i"); auth=$(eval echo "\$VENDOR_$i")
    for mode in monolithic patch chunks; do
      for layout in $LAYOUTS; do
        key=push_$mode client=()
        if [ "$layout" = pinned ]; then
          key=push_${mode}_pinned client=(taskset -c "$CLIENT_CPUS")
          # Every thread of the server, and so every thread it starts.
          taskset -a -p -c "$SERVER_CPU" "$(cat "$WORK/pid$i")" >/dev/null
        fi
        settle
        cpu0=$(server_ticks "$i")
        rate=$("${client[@]}" python3 "$BENCH/push.py" "127.0.0.1:$port" "acme/push-$run-$mode-$layout" "$PUSHES" 8 "$auth" "$mode" 2>"$WORK/push.err") ||
          { cat "$WORK/push.err" >&2; exit 1; }
        cpu1=$(server_ticks "$i")
        [ "$layout" = pinned ] && taskset -a -p -c "$ALL_CPUS" "$(cat "$WORK/pid$i")" >/dev/null
        echo "$i $key $rate" >>"$R"
        # As for GETs below: the server's own CPU time per push; and from
        # push.py, the client's and how idle the machine was meanwhile (idle
        # cores while 8 clients push: the pushes wait on something), and,
        # pinned, how idle the server's CPU was (none: the server set the
        # rate).
        echo "$i ${key}_cpu_ms $(per_op "$cpu0" "$cpu1" "$PUSHES" 1e3)" >>"$R"
        sed -n 's/^push.py: client CPU \([0-9.]*\) ms per push, machine idle \([0-9]*\) %.*/'"$i ${key}_client_ms \1\n$i ${key}_idle_pct \2/p" \
          "$WORK/push.err" >>"$R"
        sed -n 's/^push.py: idle by CPU: .*cpu'"$SERVER_CPU"' \([0-9]*\) %.*/'"$i ${key}_server_cpu_idle_pct \1/p" \
          "$WORK/push.err" >>"$R"
      done
    done
    # Vendor, customer, customer, vendor: the pair's ratio is not skewed by
    # a machine that speeds up or slows down during the run (this one's
    # neighbours do, by 10 % and more).
    for who in vendor customer customer vendor; do
      log "run $run: ${LABELS[$i]}: manifest GET as $who, ${DURATION}s"
      cpu0=$(server_ticks "$i")
      out=$(get "$i" "$who")
      cpu1=$(server_ticks "$i")
      # The server's own CPU time per GET (user + system, from /proc): what
      # the server spends, whatever wrk and the neighbours take.
      echo "$i ${who}_cpu_us $(per_op "$cpu0" "$cpu1" "$(echo "$out" | requests)" 1e6)" >>"$R"
      echo "$i ${who}_rps $(echo "$out" | rps)" >>"$R"
      echo "$i ${who}_p99 $(echo "$out" | p99)" >>"$R"
      [ "$who" = customer ] && echo "$i customer_gets $(echo "$out" | requests)" >>"$R"
    done
  done
done

# A graceful stop writes what the pull log still holds; then count.
for i in "${!BINS[@]}"; do
  kill -TERM "$(cat "$WORK/pid$i")"
  while kill -0 "$(cat "$WORK/pid$i")" 2>/dev/null; do sleep 0.1; done
  # (Pulls, not rows: a row stands for `count` identical pulls where the
  # build has that column.)
  echo "$i pulls_logged $(python3 - "$DATA/data$i/portcullis.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
columns = [c[1] for c in db.execute("pragma table_info(pulls)")]
total = "sum(count)" if "count" in columns else "count(*)"
print(db.execute(f"select coalesce({total}, 0), count(*) from pulls").fetchone()[0])
PY
)" >>"$R"
  grep -i "dropped" "$WORK/server$i.log" | tail -1 || true
done

python3 - "$R" "${LABELS[@]}" <<'PY'
import sys
from collections import defaultdict
path, labels = sys.argv[1], sys.argv[2:]
v = defaultdict(list)
for line in open(path):
    i, measure, value = line.split()
    v[(int(i), measure)].append(value)
def num(s):
    for unit, f in (("ms", 1.0), ("us", 0.001), ("s", 1000.0)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float(s)
def mean(i, m):
    xs = [num(x) for x in v[(i, m)]]
    return sum(xs) / len(xs) if xs else float("nan")
rows = [("manifest GET vendor, rps", "vendor_rps"), ("manifest GET vendor, p99", "vendor_p99"),
        ("manifest GET customer, rps", "customer_rps"), ("manifest GET customer, p99", "customer_p99"),
        ("server CPU per GET vendor, us", "vendor_cpu_us"), ("server CPU per GET customer, us", "customer_cpu_us"),
        ("1 MB push/s monolithic, 8 clients", "push_monolithic"),
        ("1 MB push/s POST+PATCH+PUT, 8 clients", "push_patch"),
        ("1 MB push/s 4 chunks, 8 clients", "push_chunks"),
        ("server CPU per push monolithic, ms", "push_monolithic_cpu_ms"),
        ("server CPU per push POST+PATCH+PUT, ms", "push_patch_cpu_ms"),
        ("server CPU per push 4 chunks, ms", "push_chunks_cpu_ms"),
        ("client CPU per push monolithic, ms", "push_monolithic_client_ms"),
        ("machine idle, monolithic pushes, %", "push_monolithic_idle_pct"),
        ("pinned: 1 MB push/s monolithic", "push_monolithic_pinned"),
        ("pinned: 1 MB push/s POST+PATCH+PUT", "push_patch_pinned"),
        ("pinned: 1 MB push/s 4 chunks", "push_chunks_pinned"),
        ("pinned: server CPU/push monolithic, ms", "push_monolithic_pinned_cpu_ms"),
        ("pinned: server's CPU idle, monol., %", "push_monolithic_pinned_server_cpu_idle_pct"),
        ("pinned: machine idle, monolithic, %", "push_monolithic_pinned_idle_pct")]
n = len(labels)
print()
print(f"{'measure':40}" + "".join(f"  {l:>24}" for l in labels) + (f"{'last/first (means)':>20}" if n > 1 else ""))
for title, m in rows:
    if not any(v[(i, m)] for i in range(n)):
        continue  # (not measured here: pinned on one CPU)
    cells = [" / ".join(v[(i, m)]) for i in range(n)]
    line = f"{title:40}" + "".join(f"  {c:>24}" for c in cells)
    if n > 1:
        # (No ratio to a zero, such as 0 % idle.)
        first = mean(0, m)
        line += f"{mean(n - 1, m) / first:>19.2f}x" if first else f"{'-':>20}"
    print(line)
ratio = [f"{mean(i, 'customer_rps') / mean(i, 'vendor_rps'):.3f}" for i in range(n)]
print(f"{'customer/vendor rps (means)':40}" + "".join(f"  {r:>24}" for r in ratio))
# Each run's own ratio (its two customer runs over its two vendor runs: a
# run adds two of each, in order), then their median: what the paired order
# is for.
def run_ratios(i):
    c = [num(x) for x in v[(i, "customer_rps")]]
    w = [num(x) for x in v[(i, "vendor_rps")]]
    return [sum(c[k:k + 2]) / sum(w[k:k + 2]) for k in range(0, len(w), 2)]
def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2
cpu = [f"{mean(i, 'vendor_cpu_us') / mean(i, 'customer_cpu_us'):.3f}" for i in range(n)]
print(f"{'vendor/customer server CPU per GET':40}" + "".join(f"  {r:>24}" for r in cpu))
per_run = [run_ratios(i) for i in range(n)]
print(f"{'customer/vendor rps (each run)':40}" + "".join(f"  {' / '.join(f'{r:.3f}' for r in rs):>24}" for rs in per_run))
print(f"{'customer/vendor rps (median run)':40}" + "".join(f"  {median(rs):>24.3f}" for rs in per_run))
logged = [f"{v[(i, 'pulls_logged')][0]} of {sum(int(x) for x in v[(i, 'customer_gets')])}" for i in range(n)]
print(f"{'pulls logged of customer GETs (wrk)':40}" + "".join(f"  {r:>24}" for r in logged))
PY
