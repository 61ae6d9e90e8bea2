# Sourced by the other scripts: installs what the project needs (idempotently) and sets the
# environment. A persistent CARGO_TARGET_DIR outside the clone keeps builds incremental.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/overunlearn/target}"
export CARGO_TERM_PROGRESS_WHEN=never
# The data directory: a flag or OVERUNLEARN_DATA; the shared datasets beside the clone otherwise.
if [ -z "${OVERUNLEARN_DATA:-}" ]; then
  if [ -d "$ROOT/../shared/datasets" ]; then
    OVERUNLEARN_DATA="$(cd "$ROOT/../shared/datasets" && pwd)"
  else
    OVERUNLEARN_DATA="$ROOT/data"
  fi
fi
export OVERUNLEARN_DATA
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-900}"

step() { printf '\n==> %s\n' "$*" >&2; }

# The Rust wasm target, and std's sources for the multi-threaded build (-Zbuild-std).
ensure_wasm_target() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown ||
    rustup target add wasm32-unknown-unknown
  rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src
}

# wasm-bindgen's CLI at exactly the version in Cargo.lock (without --locked: see TOOLCHAIN.md).
ensure_wasm_bindgen() {
  local want
  want="$(grep -A1 '^name = "wasm-bindgen"$' "$ROOT/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    step "installing wasm-bindgen-cli $want"
    cargo install wasm-bindgen-cli --version "$want" --force
  fi
}

# Debian's Chromium and ChromeDriver for the browser tests.
ensure_chromium() {
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    step "installing chromium and chromium-driver"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  fi
}

# The release CLI.
build_cli() {
  step "building the CLI (release)"
  (cd "$ROOT" && cargo build --release --bin overunlearn)
  OVERUNLEARN="$CARGO_TARGET_DIR/release/overunlearn"
}

# The wasm core's three builds and their bindings: pkg/ runs on flex alone in one thread, the
# fallback where the page is not cross-origin isolated; pkg/threads/ is the same on all the
# browser's cores (what a flex page loads where it is isolated); pkg/webgpu/ has burn's WebGPU
# backend too (a third of the size is flex; issue 16).
build_pkg() {
  ensure_wasm_target
  ensure_wasm_bindgen
  local wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown"
  step "building the wasm core: the CPU build (profile wasm-cpu, flex only) into pkg/"
  (cd "$ROOT" && cargo build --lib --target wasm32-unknown-unknown --profile wasm-cpu \
    --no-default-features)
  wasm-bindgen --target web --out-dir "$ROOT/pkg" "$wasm/wasm-cpu/overunlearn.wasm"
  step "building the wasm core: the multi-threaded CPU build (profile wasm-threads) into pkg/threads/"
  # std rebuilt with atomics (the pinned stable toolchain allows -Zbuild-std with
  # RUSTC_BOOTSTRAP=1), a shared memory the browser's workers import, and the TLS symbols
  # wasm-bindgen's thread start-up needs. RUSTFLAGS replaces .cargo/config.toml's, so +simd128
  # is repeated here.
  (cd "$ROOT" && RUSTC_BOOTSTRAP=1 RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+simd128 \
    -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296 \
    -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
    -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base" \
    cargo build --lib --target wasm32-unknown-unknown --profile wasm-threads \
    --no-default-features --features threads -Z build-std=panic_abort,std)
  # (std rebuilt here keeps its symbol names: 14 MB of name section, dropped.)
  wasm-bindgen --target web --remove-name-section --out-dir "$ROOT/pkg/threads" \
    "$wasm/wasm-threads/overunlearn.wasm"
  # wasm-bindgen-rayon's worker imports the bindings as its package, three folders up.
  printf '{ "name": "overunlearn-threads", "type": "module", "main": "overunlearn.js" }\n' \
    > "$ROOT/pkg/threads/package.json"
  step "building the wasm core: the WebGPU build (profile wasm) into pkg/webgpu/"
  (cd "$ROOT" && cargo build --lib --target wasm32-unknown-unknown --profile wasm)
  wasm-bindgen --target web --out-dir "$ROOT/pkg/webgpu" "$wasm/wasm/overunlearn.wasm"
}

# The npm packages of the page and its tests (npm ci again only when package-lock.json changed).
ensure_node_modules() {
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] ||
    [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    step "installing npm packages (npm ci)"
    (cd "$ROOT" && npm ci --no-audit --no-fund)
  fi
}

# Shrinks a wasm file in place with binaryen's wasm-opt -Oz (from npm): about half the size.
# It takes minutes on 2 cores, so results are cached by the input's hash.
optimize_wasm() {
  local wasm="$1" cache="$HOME/.cache/overunlearn/wasm-opt" sum
  sum="$(sha256sum "$wasm" | cut -c1-32)"
  mkdir -p "$cache"
  if [ ! -s "$cache/$sum.wasm" ]; then
    step "optimising the wasm for size (wasm-opt -Oz; cached afterwards)"
    "$ROOT/node_modules/.bin/wasm-opt" -Oz --enable-bulk-memory --enable-sign-ext --enable-threads \
      --enable-mutable-globals --enable-nontrapping-float-to-int --enable-reference-types \
      --enable-multivalue "$wasm" -o "$cache/$sum.wasm.tmp"
    mv "$cache/$sum.wasm.tmp" "$cache/$sum.wasm"
  fi
  cp "$cache/$sum.wasm" "$wasm"
}

# The three builds in pkg/ through wasm-opt, as the lab ships them.
optimize_pkg() {
  local build
  for build in "" threads/ webgpu/; do optimize_wasm "$ROOT/pkg/${build}overunlearn_bg.wasm"; done
}

# The lab page: pkg/, then the static build in dist/ (deployable to any static host). Reports
# the release wasm's size and, in headless Chromium, the time from page load to the first
# training step.
build_web() {
  build_pkg
  ensure_node_modules
  optimize_pkg
  step "building the page (vite build -> dist/)"
  (cd "$ROOT" && npx vite build --logLevel warn)
  local wasm
  for wasm in "$ROOT"/dist/assets/*.wasm; do
    printf 'release wasm: %s bytes, %s bytes gzipped (%s)\n' "$(stat -c %s "$wasm")" \
      "$(gzip -9 -c "$wasm" | wc -c)" "${wasm#"$ROOT"/}" >&2
  done
  ensure_chromium
  (cd "$ROOT" && node tests/e2e/first-step.mjs) >&2
}
