# Helpers the bench scripts share (sourced after scripts/lib.sh; they use
# $WORK, the script's temporary directory).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
basic() { printf '%s:%s' "$1" "$2" | base64 -w0; }
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
# wait_http URL: until URL answers (30 s at most, else fails).
wait_http() {
  for _ in $(seq 300); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "no answer from $1" >&2; return 1
}
# cpu_ticks PID: the process's CPU time so far, in clock ticks (utime +
# stime, every thread): what a server spends, whatever its clients take.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# per_op TICKS0 TICKS1 COUNT SCALE: CPU time per operation between two
# cpu_ticks readings, in 1/SCALE s (1e3: ms, 1e6: us).
per_op() { python3 -c "print(f'{($2 - $1) * $4 / $(getconf CLK_TCK) / $3:.3f}')"; }

# start_pg: a throwaway PostgreSQL cluster (Debian's postgresql) in
# $WORK/pg on a free port; sets PGBIN and PGPORT. stop_pg stops it.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
start_pg() {
  PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  mkdir -p "$WORK/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
  PGPORT=$(free_port)
  as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/data/log" -w \
    -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1" start >/dev/null
}
stop_pg() {
  [ -d "$WORK/pg/data" ] && as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" stop -m immediate >/dev/null 2>&1 || true
}

# docker_registry PORT [STORAGE-EXTRA]: Debian's docker-registry (no auth)
# on PORT, its storage in $WORK/dr (STORAGE-EXTRA, e.g. ", delete: { enabled:
# true }", is added to the storage section), its log in $WORK/dr.log.
docker_registry() {
  cat >"$WORK/registry.yml" <<YML
version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $WORK/dr }${2:-} }
http: { addr: 127.0.0.1:$1 }
YML
  docker-registry serve "$WORK/registry.yml" >"$WORK/dr.log" 2>&1 &
}

# seed_acme BASE FILES ADMIN...: org acme (pro plan) and its admin
# bench@acme.test through the CLI ADMIN... (`portcullis --data-dir D admin`),
# image acme/web:1.0 pushed to the server at BASE (the blobs $WORK/<f> for
# each f in FILES, then $WORK/manifest), and a customer user
# bench@customer.test entitled to it; sets VENDOR and CUSTOMER (Basic
# credentials).
seed_acme() {
  local base=$1 files=$2; shift 2
  local admin=("$@")
  printf 'bench password\n' | "${admin[@]}" create-org --slug acme --name Acme --admin-email bench@acme.test --plan pro >/dev/null
  local vendor; vendor=$("${admin[@]}" create-token --email bench@acme.test --label bench)
  local auth=(-H "Authorization: Bearer $vendor") f
  for f in $files; do
    curl -sf "${auth[@]}" -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$WORK/$f" \
      "$base/v2/acme/web/blobs/uploads/?digest=$(sha "$WORK/$f")" -o /dev/null
  done
  curl -sf "${auth[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$WORK/manifest" "$base/v2/acme/web/manifests/1.0" -o /dev/null
  api() { curl -sf -X "$1" "${auth[@]}" -H 'Content-Type: application/json' --data "$3" "$base$2"; }
  local id; id=$(api POST /api/v1/customers '{"name":"Bench customer"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  api POST "/api/v1/customers/$id/users" '{"email":"bench@customer.test","password":"customer password","role":"member"}' >/dev/null
  api POST "/api/v1/customers/$id/entitlements" '{"name":"bench","artifacts":[{"artifact":"web","tags":["1.0"]}]}' >/dev/null
  local customer; customer=$("${admin[@]}" create-token --email bench@customer.test --label bench)
  VENDOR=$(basic bench@acme.test "$vendor")
  CUSTOMER=$(basic bench@customer.test "$customer")
}

# small_image: a config ($WORK/config), one 4 KiB layer ($WORK/layer) and
# the manifest naming them ($WORK/manifest), as seed_acme pushes them.
small_image() {
  echo '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' >"$WORK/config"
  head -c 4096 /dev/urandom >"$WORK/layer"
  cat >"$WORK/manifest" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$(sha "$WORK/config")","size":$(stat -c%s "$WORK/config")},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$(sha "$WORK/layer")","size":4096}]}
JSON
}

# mount_journal_fs SIZE: a fresh ext4 filesystem with a journal, sparse
# (it takes only what is written), loop-mounted on $WORK/fs (root and loop
# devices needed); `umount "$WORK/fs"` before removing $WORK. Why: a push
# creates a file, and on ext4 *without* a journal (some VMs' root
# filesystem) creating one scans inodes freed in the last minutes, so its
# cost depends on what was deleted before.
mount_journal_fs() {
  truncate -s "$1" "$WORK/fs.img"
  mkfs.ext4 -q -F -O has_journal "$WORK/fs.img"
  mkdir "$WORK/fs" && mount -o loop "$WORK/fs.img" "$WORK/fs"
}
