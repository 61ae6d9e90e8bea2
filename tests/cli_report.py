"""Checks on the CLI's JSON reports (used by tests/cli.sh)."""
import json
import sys

TIME_KEYS = {"seconds", "images_per_sec", "timings"}


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


if __name__ == "__main__":
    commands = {"check": check, "same": same, "eval": evaluation, "shipped": shipped}
    commands[sys.argv[1]](*sys.argv[2:])
