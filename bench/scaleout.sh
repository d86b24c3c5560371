#!/usr/bin/env bash
# Scale-out benchmark (issue 12, the database half): the delay from an
# entitlement save to the open portal showing it (bench/live.py: p50/p95),
#  1. the embedded default (SQLite, one server),
#  2. PostgreSQL, one server,
#  3. PostgreSQL, two servers: the save through A, the portal open on B.
# The PostgreSQL server is a throwaway cluster (Debian's postgresql) in a
# temporary directory. Not a test: run it by hand.
#   bench/scaleout.sh                  (release build)
#   BENCH_PROFILE=dev bench/scaleout.sh (the debug build: quicker to build)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib.sh"
source "$(dirname "$0")/lib.sh"
BENCH="$(cd "$(dirname "$0")" && pwd)"
PROFILE="${BENCH_PROFILE:-release}"
apt_install python3 curl postgresql
build_server "$PROFILE"
BIN="$(server_bin "$PROFILE")"

WORK="$(mktemp -d)"
chmod 755 "$WORK"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  stop_pg
  rm -rf "$WORK"
}
trap cleanup EXIT

log "PostgreSQL (throwaway cluster)"
start_pg
psql_() { "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -c "$1"; }

with_db() { # url command...: the command with DATABASE_URL set to url, or unset
  local url=$1; shift
  if [ -n "$url" ]; then DATABASE_URL="$url" "$@"; else env -u DATABASE_URL "$@"; fi
}
serve() { # name data-dir [database-url]
  local port; port=$(free_port)
  with_db "${3:-}" env PORTCULLIS_LOG=warn "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$2" >"$WORK/$1.log" 2>&1 &
  for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break; sleep 0.1; done
  echo "http://127.0.0.1:$port"
}

# An org, 3 artifacts with tags, a customer with the entitlement live.py
# saves, the customer's session; then live.py.
run() { # label data-dir database-url save-base portal-base
  local label=$1 data=$2 url=$3 base=$4 portal=$5
  admin() { with_db "$url" "$BIN" --data-dir "$data" admin "$@"; }
  printf 'bench password\n' | admin create-org --slug acme --name Acme --admin-email bench@acme.test --plan pro >/dev/null
  local vendor; vendor=$(admin create-token --email bench@acme.test --label bench)
  python3 - "$base" "bench@acme.test:$vendor" <<'PY'
import base64, hashlib, http.client, json, sys, urllib.parse
base, creds = sys.argv[1], sys.argv[2]
conn = http.client.HTTPConnection(urllib.parse.urlparse(base).netloc)
auth = {"Authorization": "Basic " + base64.b64encode(creds.encode()).decode()}
def req(method, path, body=b"", headers={}):
    conn.request(method, path, body=body, headers={**auth, **headers})
    r = conn.getresponse(); r.read()
    assert r.status < 300, (method, path, r.status)
    return r
for art, tags in [("art-1", [f"1.{i}" for i in range(10)]), ("art-2", ["1.0"]), ("art-3", ["1.50", "1.60"])]:
    for tag in tags:
        config = json.dumps({"architecture": "amd64", "os": "linux", "tag": f"{art}:{tag}"}).encode()
        digest = "sha256:" + hashlib.sha256(config).hexdigest()
        loc = req("POST", f"/v2/acme/{art}/blobs/uploads/").getheader("Location")
        loc = urllib.parse.urlparse(loc)
        path = loc.path + "?" + (loc.query + "&" if loc.query else "") + "digest=" + digest
        req("PUT", path, config, {"Content-Type": "application/octet-stream"})
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": len(config)},
            "layers": []}).encode()
        req("PUT", f"/v2/acme/{art}/manifests/{tag}", manifest,
            {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
PY
  api() { curl -sf -X "$1" -H "Authorization: Bearer $vendor" -H 'Content-Type: application/json' ${3:+--data "$3"} "$base$2"; }
  local customer entitlement cookie
  customer=$(api POST /api/v1/customers '{"name":"Bench customer"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  api POST "/api/v1/customers/$customer/users" '{"email":"bench@customer.test","password":"customer password","role":"member"}' >/dev/null
  entitlement=$(api POST "/api/v1/customers/$customer/entitlements" \
    '{"name":"bench","artifacts":[{"artifact":"art-3","tags":["1.50"]}]}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -c "$WORK/jar-$label" -o /dev/null -H 'Accept: text/html' \
    --data-urlencode email=bench@customer.test --data-urlencode password='customer password' --data-urlencode next=/portal "$base/api/sign_in"
  cookie=$(awk '$6=="portcullis_session"{print $6"="$7}' "$WORK/jar-$label")
  [ -n "$cookie" ] || { echo "sign-in failed"; exit 1; }
  printf '%s: ' "$label"
  PORTAL_BASE="$portal" python3 "$BENCH/live.py" "$base" "$vendor" "$entitlement" "$cookie" "${ROUNDS:-100}"
}

log "entitlement save -> open portal shows it"
BASE=$(serve sqlite "$WORK/sqlite")
run "SQLite, one server" "$WORK/sqlite" "" "$BASE" "$BASE"
psql_ "CREATE DATABASE one" && URL1="postgres://postgres@127.0.0.1:$PGPORT/one"
BASE=$(serve pg-one "$WORK/pg-one" "$URL1")
run "PostgreSQL, one server" "$WORK/pg-one" "$URL1" "$BASE" "$BASE"
psql_ "CREATE DATABASE two" && URL2="postgres://postgres@127.0.0.1:$PGPORT/two"
A=$(serve pg-a "$WORK/pg-two" "$URL2")
B=$(serve pg-b "$WORK/pg-two" "$URL2")
run "PostgreSQL, two servers (save on A, portal on B)" "$WORK/pg-two" "$URL2" "$A" "$B"
