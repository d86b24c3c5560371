# Shared by scripts/run and scripts/test: install what is missing, then build.
# Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Build output lives outside the clone so a second clone (CI) reuses it;
# nothing depends on it being there.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/portcullis/target}"
export PATH="$HOME/.cargo/bin:$PATH"
WASM_BINDGEN_VERSION=0.2.129

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

setup_build_tools() {
  command -v cargo >/dev/null || { echo "cargo (rustup) is required" >&2; exit 1; }
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --locked
  fi
}

# Builds the browser bundle into $CARGO_TARGET_DIR/site: the hydrate build of
# `app` for wasm32, wasm-bindgen, the stylesheet and public assets.
# $1 = dev | release
build_site() {
  local profile="${1:-dev}" cargo_profile dir
  if [ "$profile" = release ]; then cargo_profile=wasm-release; dir=wasm-release; else cargo_profile=dev; dir=debug; fi
  log "building the browser bundle ($profile)"
  cargo build -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate --profile "$cargo_profile"
  local site="$CARGO_TARGET_DIR/site"
  mkdir -p "$site/pkg"
  wasm-bindgen --target web --no-typescript --out-name portcullis --out-dir "$site/pkg" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$dir/app.wasm"
  if [ "$profile" = release ] && command -v wasm-opt >/dev/null && wasm-opt --version | grep -q "version 1[2-9][0-9]"; then
    wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int -o "$site/pkg/portcullis_bg.wasm" "$site/pkg/portcullis_bg.wasm"
  fi
  cp style/main.css "$site/pkg/portcullis.css"
  cp -r public/. "$site/"
}

build_server() {
  local profile="${1:-dev}"
  log "building the server ($profile)"
  if [ "$profile" = release ]; then cargo build -p portcullis --release; else cargo build -p portcullis; fi
}
