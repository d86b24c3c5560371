#!/usr/bin/env bash
# Mirroring benchmark (issue 14; not a test): the time Portcullis takes to
# sync a 200 MB image (two 100 MB random layers) from a loopback upstream
# (Debian's docker-registry, no auth), beside `skopeo copy` of the same
# image from the same upstream into the same Portcullis. Prints both and
# their ratio.
#   bench/mirror.sh                  (release server, built if needed)
#   BIN=path/to/portcullis bench/mirror.sh
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"
apt_install docker-registry skopeo python3 curl
if [ -z "${BIN:-}" ]; then
  log "building the server (release, no embedded site: pages are not used)"
  RUSTFLAGS="$RELEASE_RUSTFLAGS" cargo build -p portcullis --release
  BIN="$CARGO_TARGET_DIR/release/portcullis"
fi
SIZE_MB="${SIZE_MB:-100}"   # per layer; two layers

WORK="$(mktemp -d)"
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
P1=$(free_port); P2=$(free_port)

PORTCULLIS_LOG=warn PORTCULLIS_UPSTREAM_ALLOW_PRIVATE=true PORTCULLIS_UPSTREAM_ALLOW_HTTP=true \
  "$BIN" serve --listen "127.0.0.1:$P1" --data-dir "$WORK/pc" >"$WORK/pc.log" 2>&1 &
docker_registry "$P2"
for p in $P1 $P2; do
  wait_http "http://127.0.0.1:$p/v2/"
done
printf 'bench password\n' | "$BIN" --data-dir "$WORK/pc" admin create-org --slug acme --name Acme --admin-email bench@acme.test >/dev/null
TOKEN=$("$BIN" --data-dir "$WORK/pc" admin create-token --email bench@acme.test --label bench)

# The upstream image: an OCI layout with a config and two random layers,
# copied into docker-registry with skopeo.
L="$WORK/layout"; mkdir -p "$L/blobs/sha256"
echo '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
blob() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); mv "$1" "$L/blobs/sha256/$d"; echo "$d"; }
head -c $((SIZE_MB * 1000000)) /dev/urandom >"$WORK/l1"; S1=$(stat -c%s "$WORK/l1"); D1=$(blob "$WORK/l1")
head -c $((SIZE_MB * 1000000)) /dev/urandom >"$WORK/l2"; S2=$(stat -c%s "$WORK/l2"); D2=$(blob "$WORK/l2")
echo '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$WORK/c"; SC=$(stat -c%s "$WORK/c"); DC=$(blob "$WORK/c")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$DC" "$SC" "$D1" "$S1" "$D2" "$S2" >"$WORK/m"; SM=$(stat -c%s "$WORK/m"); DM=$(blob "$WORK/m")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"1.0"}}]}' "$DM" "$SM" >"$L/index.json"
skopeo copy --quiet --dest-tls-verify=false "oci:$L:1.0" "docker://127.0.0.1:$P2/vendor/big:1.0"
log "upstream holds vendor/big:1.0 ($((2 * SIZE_MB)) MB)"

now() { date +%s.%N; }
# 1. skopeo copy, upstream -> Portcullis (artifact "copied").
T0=$(now)
skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false --dest-creds "bench@acme.test:$TOKEN" \
  "docker://127.0.0.1:$P2/vendor/big:1.0" "docker://127.0.0.1:$P1/acme/copied:1.0"
T1=$(now)
SKOPEO=$(echo "$T1 - $T0" | bc)

# 2. A second, empty Portcullis mirrors it (a sync skips blobs already
#    stored, so not into the first one): from creating the upstream to its
#    state being idle after the sync, polled every 50 ms.
P3=$(free_port)
PORTCULLIS_LOG=warn PORTCULLIS_UPSTREAM_ALLOW_PRIVATE=true PORTCULLIS_UPSTREAM_ALLOW_HTTP=true \
  "$BIN" serve --listen "127.0.0.1:$P3" --data-dir "$WORK/pc2" >"$WORK/pc2.log" 2>&1 &
wait_http "http://127.0.0.1:$P3/v2/"
printf 'bench password\n' | "$BIN" --data-dir "$WORK/pc2" admin create-org --slug acme --name Acme --admin-email bench@acme.test >/dev/null
TOKEN2=$("$BIN" --data-dir "$WORK/pc2" admin create-token --email bench@acme.test --label bench)
T0=$(now)
ID=$(curl -sf -H "Authorization: Bearer $TOKEN2" -H 'Content-Type: application/json' \
  -d "{\"artifact\":\"mirrored\",\"url\":\"http://127.0.0.1:$P2\",\"repository\":\"vendor/big\",\"tags\":[\"1.0\"]}" \
  "http://127.0.0.1:$P3/api/v1/upstreams" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
  STATE=$(curl -sf -H "Authorization: Bearer $TOKEN2" "http://127.0.0.1:$P3/api/v1/upstreams/$ID")
  echo "$STATE" | python3 -c 'import json,sys; u=json.load(sys.stdin); sys.exit(0 if (u["state"]=="idle" and u["last_synced_at"]) else 2 if u["state"]=="failed" else 1)' && break || rc=$?
  [ "${rc:-1}" = 2 ] && { echo "sync failed: $STATE" >&2; exit 1; }
  sleep 0.05
done
T1=$(now)
MIRROR=$(echo "$T1 - $T0" | bc)
curl -sf -o /dev/null -u "bench@acme.test:$TOKEN2" "http://127.0.0.1:$P3/v2/acme/mirrored/manifests/1.0"

printf '\n%-44s %8.2f s\n' "skopeo copy upstream -> Portcullis ($((2 * SIZE_MB)) MB)" "$SKOPEO"
printf '%-44s %8.2f s\n' "Portcullis mirror sync (create -> idle)" "$MIRROR"
printf '%-44s %8.2f\n' "ratio mirror / skopeo" "$(echo "scale=3; $MIRROR / $SKOPEO" | bc)"
