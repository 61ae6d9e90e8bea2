#!/usr/bin/env bash
# Runs every test: formatting and lints, the native suite (loaders, subsets, model files,
# downloads, training), the wasm suite in headless Chromium (flex and WebGPU), the pkg/ build,
# and an end-to-end CLI run on the real CIFAR-10 files.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

ensure_wasm_target
ensure_wasm_bindgen
ensure_chromium

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (native and wasm32) -D warnings"
cargo clippy --release --all-targets -- -D warnings
cargo clippy --profile wasm --target wasm32-unknown-unknown --lib --test web -- -D warnings

step "native tests (release)"
cargo test --release

step "wasm tests in headless Chromium: flex and WebGPU"
cargo test --profile wasm --target wasm32-unknown-unknown --test web

build_pkg
test -s pkg/overunlearn_bg.wasm

build_cli
step "CLI end to end on CIFAR-10 from $OVERUNLEARN_DATA"
bash tests/cli.sh "$OVERUNLEARN"
