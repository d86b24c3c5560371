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
# wasm-opt for the release bundle: npm's binaryen (Debian's 108 breaks
# hydration), installed once into the cache, outside the clone.
BINARYEN_VERSION=132
BINARYEN_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/portcullis/binaryen-$BINARYEN_VERSION"
WASM_OPT="$BINARYEN_DIR/node_modules/.bin/wasm-opt"
# -O1, not -Oz: measured on this bundle, -O1 gives the smallest *gzipped*
# wasm (722 KB; no wasm-opt 732 KB, -Oz 827 KB, -Os 828 KB, -O2 843 KB) and
# runs 4-6x faster than -Oz/-Os. The `name` section is already gone (the
# wasm-release profile strips; wasm-opt without -g would drop it too).
WASM_OPT_FLAGS=(-O1 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)
# `release` (the default of ./scripts/run) or `dev` (tests, development).
PROFILE="${PROFILE:-release}"
# The release build (server and browser bundle alike) type-erases Leptos
# components (`--cfg erase_components`): the same HTML, with far fewer
# monomorphized views in the bundle (measured: 827 KB -> 584 KB of gzipped
# wasm). Both halves must agree, or hydration fails; dev builds keep the
# types (better errors, what the tests run).
RELEASE_RUSTFLAGS="${RUSTFLAGS:-} --cfg erase_components"

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
  if [ "$PROFILE" = release ]; then setup_wasm_opt; fi
}

setup_wasm_opt() {
  if [ "$("$WASM_OPT" --version 2>/dev/null)" = "wasm-opt version $BINARYEN_VERSION (version_$BINARYEN_VERSION)" ]; then
    return
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi
  log "npm install binaryen@$BINARYEN_VERSION into $BINARYEN_DIR (wasm-opt, once)"
  mkdir -p "$BINARYEN_DIR"
  npm install --prefix "$BINARYEN_DIR" --no-audit --no-fund --no-save --silent "binaryen@$BINARYEN_VERSION" >&2
  "$WASM_OPT" --version >/dev/null
}

# The site a profile's server uses: `site` (dev; what the tests pass as
# PORTCULLIS_SITE_ROOT) or `site-release` (embedded in the release binary).
site_dir() {
  if [ "${1:-$PROFILE}" = release ]; then echo "$CARGO_TARGET_DIR/site-release"; else echo "$CARGO_TARGET_DIR/site"; fi
}

# Copies $1 to $2 unless $2 has the same bytes: an unchanged site keeps its
# timestamps, so the release server is not rebuilt to embed the same bundle.
copy_if_changed() {
  mkdir -p "$(dirname "$2")"
  cmp -s "$1" "$2" || cp "$1" "$2"
}

# Builds the browser bundle into $(site_dir): the hydrate build of `app` for
# wasm32, wasm-bindgen (and for release wasm-opt), the stylesheet and public
# assets.
# $1 = dev | release (default: $PROFILE)
build_site() {
  local profile="${1:-$PROFILE}" cargo_profile dir
  if [ "$profile" = release ]; then cargo_profile=wasm-release; dir=wasm-release; else cargo_profile=dev; dir=debug; fi
  log "building the browser bundle ($profile)"
  local rustflags="${RUSTFLAGS:-}"
  [ "$profile" = release ] && rustflags="$RELEASE_RUSTFLAGS"
  RUSTFLAGS="$rustflags" cargo build -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate --profile "$cargo_profile"
  local site wasm stamp tmp recipe=""
  site="$(site_dir "$profile")"
  wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/$dir/app.wasm"
  [ "$profile" = release ] && recipe="$RELEASE_RUSTFLAGS; wasm-opt $BINARYEN_VERSION ${WASM_OPT_FLAGS[*]}"
  recipe="wasm-bindgen $WASM_BINDGEN_VERSION; $recipe"
  # Beside the site (not served): how its pkg/ was made, from which app.wasm.
  stamp="$site.stamp"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$recipe" ] || [ "$wasm" -nt "$stamp" ] || [ ! -f "$site/pkg/portcullis_bg.wasm" ]; then
    tmp="$(mktemp -d)"
    wasm-bindgen --target web --no-typescript --out-name portcullis --out-dir "$tmp" "$wasm"
    if [ "$profile" = release ]; then
      log "wasm-opt ${WASM_OPT_FLAGS[0]} (binaryen $BINARYEN_VERSION)"
      "$WASM_OPT" "${WASM_OPT_FLAGS[@]}" -o "$tmp/portcullis_bg.opt.wasm" "$tmp/portcullis_bg.wasm"
      mv "$tmp/portcullis_bg.opt.wasm" "$tmp/portcullis_bg.wasm"
    fi
    (cd "$tmp" && find . -type f) | while read -r f; do copy_if_changed "$tmp/$f" "$site/pkg/$f"; done
    rm -rf "$tmp"
    printf '%s' "$recipe" >"$stamp"
  fi
  copy_if_changed style/main.css "$site/pkg/portcullis.css"
  (cd public && find . -type f) | while read -r f; do copy_if_changed "public/$f" "$site/$f"; done
}

# The release server embeds the release site (build.rs), so build_site first.
build_server() {
  local profile="${1:-$PROFILE}"
  log "building the server ($profile)"
  if [ "$profile" = release ]; then
    if [ ! -f "$(site_dir release)/pkg/portcullis_bg.wasm" ]; then setup_build_tools; setup_wasm_opt; build_site release; fi
    RUSTFLAGS="$RELEASE_RUSTFLAGS" PORTCULLIS_EMBED_SITE="$(site_dir release)" cargo build -p portcullis --release
  else
    cargo build -p portcullis
  fi
}

# The server binary a profile builds.
server_bin() {
  if [ "${1:-$PROFILE}" = release ]; then echo "$CARGO_TARGET_DIR/release/portcullis"; else echo "$CARGO_TARGET_DIR/debug/portcullis"; fi
}
