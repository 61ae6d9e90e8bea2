"""Checks on the CLI's JSON reports (used by tests/cli.sh)."""
import json
import struct
import sys

TIME_KEYS = {
    "seconds",
    "images_per_sec",
    "timings",
    "train_seconds",
    "seconds_per_request",
    "first_order_seconds",
}


def load(path):
    with open(path) as f:
        return json.load(f)


def without_times(value):
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in TIME_KEYS}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def check(report):
    r = load(report)
    assert r["config"]["seed"] == 11 and r["config"]["preset"] == "tutorial", r["config"]
    assert r["backend"] == "flex" and r["version"], r
    assert r["images"] == {"train": 540, "validation": 60, "test": 300}, r["images"]
    assert len(r["history"]) == 2 and 0 <= r["test"]["accuracy"] <= 1
    assert len(r["test"]["per_class"]) == 10 and len(r["test"]["confusion"]) == 10
    assert r["timings"]["train"] > 0


def same(a, b):
    assert without_times(load(a)) == without_times(load(b)), "runs differ"


def evaluation(report, evaluation):
    r, e = load(report), load(evaluation)
    assert e["test"]["accuracy"] == r["test"]["accuracy"], (e["test"], r["test"])
    assert e["test"]["confusion"] == r["test"]["confusion"]


def shipped(record, evaluation):
    r, e = load(record)["test"], load(evaluation)["test"]
    assert e["count"] == r["count"], (e["count"], r["count"])
    assert abs(e["accuracy"] - r["accuracy"]) <= 0.001, (e["accuracy"], r["accuracy"])


def half(f16, f32):
    """The f16 model file records its precision and holds the same values in half the bytes."""

    def parts(path):
        data = open(path, "rb").read()
        version, length = struct.unpack("<II", data[8:16])
        return version, json.loads(data[16 : 16 + length]), len(data) - 16 - length

    (v16, h16, n16), (v32, h32, n32) = parts(f16), parts(f32)
    assert (v16, h16["precision"], v32, h32["precision"]) == (3, "f16", 3, "f32"), (h16, h32)
    assert h16["tensors"] == h32["tensors"] and 2 * n16 == n32, (n16, n32)


def tiny_defend_config(base, out, defences="two"):
    """The shipped defend experiment cut to a tutorial model trained in seconds (with two
    defences, or `none`)."""
    c = load(base)
    c.pop("model", None)
    c["run"].update(preset="tutorial", blocks=None, test_per_class=30)
    c["run"]["train_subset"]["per_class"] = 100
    c["run"]["train"].update(epochs=4, patience=None)
    c.update(percentages=[20.0], attacks=[{"attack": "pushing_i", "targeted": False}])
    c["defences"] = [
        {"defence": "fingerprint"},
        {"defence": "boundary", "false_rejection": 0.01},
    ][: 0 if defences == "none" else 2]
    with open(out, "w") as f:
        json.dump(c, f)


def defend(report):
    """Every kind drawn twice and met by each defence: the fingerprints pass the plain normal
    requests and refuse every re-encoded one and the pushed samples; the boundary check passes
    the normal requests and flags the pushed ones; two floors and SISA measured; over 20 more
    normal requests, the fingerprints pass every plain one and flag every re-encoded one; each
    defence's kept state and SISA's models counted."""
    r = load(report)
    kinds = {k["kind"]: k for k in r["kinds"]}
    assert len(kinds) == 3 and all(k["requests"] == 2 for k in kinds.values()), kinds
    assert len(r["defences"]) == 6, r["defences"]
    for row in r["defences"]:
        name, kind = row["defence"]["defence"], row["kind"]
        if row["malicious"]:
            assert row["flagged"] == 2, row
            if name == "fingerprint":
                assert row["samples_rejected"] > 0.5, row
        elif name == "fingerprint" and "JPEG" in kind:
            assert row["flagged"] == 2 and row["samples_rejected"] == 1.0, row
        else:
            assert row["flagged"] == 0, row
    assert [p["floor"] for p in r["adaptive"]] == [0.0, 0.2], r["adaptive"]
    assert r["sisa"]["requests"] == 1, r["sisa"]
    screened = {row["defence"]["defence"]: row for row in r["false_rejection"]}
    assert sorted(screened) == ["boundary", "fingerprint"], screened
    assert all(row["requests"] == 20 for row in screened.values()), screened
    assert screened["fingerprint"]["plain"] == 0, screened
    assert screened["fingerprint"]["reencoded"] == 20, screened
    kept = {row["defence"]["defence"]: row["bytes"] for row in r["state"]}
    assert kept["fingerprint"] > 0 and kept["fingerprint"] % 32 == 0, kept
    assert kept["boundary"] > 0, kept
    s = r["sisa"]
    assert s["kept_bytes"] == s["shards"] * s["slices"] * s["model_bytes"] > 0, s


if __name__ == "__main__":
    commands = {
        "check": check,
        "same": same,
        "eval": evaluation,
        "shipped": shipped,
        "half": half,
        "tiny-defend-config": tiny_defend_config,
        "defend": defend,
    }
    commands[sys.argv[1]](*sys.argv[2:])
