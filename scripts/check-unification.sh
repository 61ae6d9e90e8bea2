#!/usr/bin/env bash
# Checks that every dependency the CLI's and the page's builds compile is a unit the test builds
# compile too (same features, same profile), so a cold `scripts/test.sh` compiles burn once per
# target (issue 16). Reads cargo's unit graphs (`--unit-graph`, unstable: RUSTC_BOOTSTRAP=1 lets
# the pinned stable cargo print them); builds nothing. The page's two CPU builds are further
# wasm32 builds by design (scripts/env.sh): burn without its WebGPU backend (profile wasm-cpu), and
# the same with std rebuilt for threads (profile wasm-threads).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
export RUSTC_BOOTSTRAP=1
graph() { cargo "$@" --unit-graph -Z unstable-options 2>/dev/null; }
wasm=(--target wasm32-unknown-unknown --profile wasm)
python3 - <(graph build --release --bin overunlearn) <(graph test --release --no-run) \
  <(graph build --lib "${wasm[@]}") <(graph test "${wasm[@]}" --test web --no-run) <<'PY'
import json, sys

def units(path):
    out = {}
    for u in json.load(open(path))["units"]:
        if u["mode"] == "build":
            key = (tuple(sorted(u["features"])), json.dumps(u["profile"], sort_keys=True))
            out.setdefault(u["pkg_id"], set()).add(key)
    return out

failed = False
for name, built, tested in [("CLI", sys.argv[1], sys.argv[2]), ("wasm", sys.argv[3], sys.argv[4])]:
    b, t = units(built), units(tested)
    extra = sorted(p.split("#")[-1] for p in b if not b[p] <= t.get(p, set()))
    print(f"{name}: {len(b)} units, {len(extra)} not shared with the test build {extra[:8]}")
    failed |= bool(extra)
sys.exit(1 if failed else 0)
PY
