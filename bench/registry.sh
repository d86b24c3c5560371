#!/usr/bin/env bash
# Registry benchmark: Portcullis (release build, authentication on) against
# Debian's docker-registry (CNCF distribution, no auth) on loopback.
# Measures manifest GET by tag at 32 connections (rps, p99), 100 MB blob GET
# throughput, and 1 MB blob push rate (POST then PUT), and prints each as the
# ratio portcullis / docker-registry. Not a test: run it by hand.
#   bench/registry.sh            (DURATION=10 seconds per wrk run by default)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"
DURATION="${DURATION:-10}"
BLOB_CONNS="${BLOB_CONNS:-1}"   # connections for the 100 MB blob GET
apt_install wrk docker-registry python3
build_server release
BIN="$CARGO_TARGET_DIR/release/portcullis"

WORK="$(mktemp -d)"
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

P1=$(free_port); P2=$(free_port)

# Portcullis
PORTCULLIS_LOG=warn "$BIN" serve --listen "127.0.0.1:$P1" --data-dir "$WORK/pc" >"$WORK/pc.log" 2>&1 &
# docker-registry
docker_registry "$P2" ", delete: { enabled: true }"
for p in $P1 $P2; do
  wait_http "http://127.0.0.1:$p/v2/"
done
printf 'bench password\n' | "$BIN" --data-dir "$WORK/pc" admin create-org --slug acme --name Acme --admin-email bench@acme.test >/dev/null
TOKEN=$("$BIN" --data-dir "$WORK/pc" admin create-token --email bench@acme.test --label bench)
AUTH=$(printf 'bench@acme.test:%s' "$TOKEN" | base64 -w0)

# The same image in both: a config, a 100 MB layer, a manifest.
head -c 100000000 /dev/urandom >"$WORK/layer"
echo '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$WORK/config"
LD="sha256:$(sha256sum "$WORK/layer" | cut -d' ' -f1)"
CD="sha256:$(sha256sum "$WORK/config" | cut -d' ' -f1)"
cat >"$WORK/manifest" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$CD","size":$(stat -c%s "$WORK/config")},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$LD","size":100000000}]}
JSON
push() { # port auth-header
  local h=(-H "$2")
  for f in config layer; do
    local d="sha256:$(sha256sum "$WORK/$f" | cut -d' ' -f1)"
    local loc; loc=$(curl -sf "${h[@]}" -X POST -D - -o /dev/null "http://127.0.0.1:$1/v2/acme/web/blobs/uploads/" | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
    case "$loc" in http*) ;; *) loc="http://127.0.0.1:$1$loc" ;; esac
    case "$loc" in *\?*) sep='&' ;; *) sep='?' ;; esac
    curl -sf "${h[@]}" -X PUT --data-binary "@$WORK/$f" -H 'Content-Type: application/octet-stream' "$loc${sep}digest=$d" -o /dev/null
  done
  curl -sf "${h[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$WORK/manifest" "http://127.0.0.1:$1/v2/acme/web/manifests/1.0" -o /dev/null
}
push "$P1" "Authorization: Basic $AUTH"
push "$P2" "X-Nothing: 1"

ACCEPT='Accept: application/vnd.oci.image.manifest.v1+json'
manifest_get() { # port [auth]
  local args=(-t2 -c32 -d"${DURATION}s" --latency -H "$ACCEPT")
  [ -n "${2:-}" ] && args+=(-H "Authorization: Basic $2")
  wrk "${args[@]}" "http://127.0.0.1:$1/v2/acme/web/manifests/1.0"
}
blob_get() { # port [auth]
  local args=(-t1 -c"$BLOB_CONNS" -d"${DURATION}s")
  [ "$BLOB_CONNS" -gt 1 ] && args[0]=-t2
  [ -n "${2:-}" ] && args+=(-H "Authorization: Basic $2")
  wrk "${args[@]}" "http://127.0.0.1:$1/v2/acme/web/blobs/$LD"
}
rps() { awk '/Requests\/sec/{print $2}'; }
p99() { awk '$1=="99%"{print $2}'; }
to_mb() { # wrk "Transfer/sec: 1.23GB" -> MB/s
  awk '/Transfer\/sec/{v=$2; u=substr(v,length(v)-1); n=substr(v,1,length(v)-2);
       if(u=="GB")n*=1024; else if(u=="KB")n/=1024; else if(u!="MB"){n=v/1048576}; printf "%.0f\n", n}'
}

echo "== manifest GET by tag, 32 connections, ${DURATION}s"
PC_M=$(manifest_get "$P1" "$AUTH"); DR_M=$(manifest_get "$P2")
echo "== 100 MB blob GET, $BLOB_CONNS connection(s), ${DURATION}s"
PC_B=$(blob_get "$P1" "$AUTH"); DR_B=$(blob_get "$P2")
echo "== 1 MB blob push (POST + PUT), 200 blobs, 8 clients"
PC_P=$(python3 "$(dirname "$0")/push.py" "127.0.0.1:$P1" acme/pushbench 200 8 "$AUTH")
DR_P=$(python3 "$(dirname "$0")/push.py" "127.0.0.1:$P2" acme/pushbench 200 8)

ratio() { python3 -c "print(f'{float($1)/float($2):.2f}')"; }
printf '\n%-34s %14s %16s %8s\n' "measure" "portcullis" "docker-registry" "ratio"
printf '%-34s %14s %16s %8s\n' "manifest GET rps (c=32)" "$(echo "$PC_M" | rps)" "$(echo "$DR_M" | rps)" "$(ratio "$(echo "$PC_M" | rps)" "$(echo "$DR_M" | rps)")x"
printf '%-34s %14s %16s\n' "manifest GET p99" "$(echo "$PC_M" | p99)" "$(echo "$DR_M" | p99)"
printf '%-34s %14s %16s %8s\n' "100 MB blob GET (MB/s, c=$BLOB_CONNS)" "$(echo "$PC_B" | to_mb)" "$(echo "$DR_B" | to_mb)" "$(ratio "$(echo "$PC_B" | to_mb)" "$(echo "$DR_B" | to_mb)")x"
printf '%-34s %14s %16s %8s\n' "1 MB blob push (pushes/s, 8 clients)" "$PC_P" "$DR_P" "$(ratio "$PC_P" "$DR_P")x"
