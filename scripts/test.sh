#!/usr/bin/env bash
# Runs every test: formatting and lints, the native suite (loaders, subsets, model files,
# downloads, training, unlearning, attacks), the wasm suite in headless Chromium (flex and
# WebGPU), the page's build and its Playwright tests, and the CLI end to end on real CIFAR-10.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

ensure_wasm_target
ensure_wasm_bindgen
ensure_chromium

step "one build of each dependency per target (cargo's unit graphs)"
bash scripts/check-unification.sh

step "the README's copies of the experiment reports"
python3 tests/readme_reports.py

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (native and wasm32) -D warnings"
cargo clippy --release --all-targets -- -D warnings
cargo clippy --profile wasm --target wasm32-unknown-unknown --lib --test web -- -D warnings

step "native tests (release)"
cargo test --release

step "wasm tests in headless Chromium: flex and WebGPU"
cargo test --profile wasm --target wasm32-unknown-unknown --test web

step "formatting of the page and its tests (prettier --check)"
ensure_node_modules
npx prettier --check www tests/e2e vite.config.js index.html

build_web

step "the lab end to end in headless Chromium (Playwright): tutorial flow, WebGPU, links"
node --test --test-concurrency=1 tests/e2e/*.test.mjs

build_cli
step "CLI end to end on CIFAR-10 from $OVERUNLEARN_DATA"
bash tests/cli.sh "$OVERUNLEARN"
