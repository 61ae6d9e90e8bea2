"""The README's copies of the committed experiment reports, kept identical to them.

A report is the one home of its numbers: `experiments/reports/NAME.md`, written by
`overunlearn reproduce --markdown`. The README shows it between the markers

    <!-- report: NAME -->
    ...
    <!-- /report -->

and this script checks (default) that every such block holds exactly the report's text, and
that every report of a run experiment is shown; `--write` refills the blocks from the reports.
A defence report is shown condensed instead (one row a defence), between
`<!-- condensed: NAME -->` and `<!-- /condensed -->`, made here from `NAME.json`.
Run by scripts/test.sh.
"""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
REPORTS = ROOT / "experiments" / "reports"
BLOCK = re.compile(r"(<!-- report: ([\w.-]+) -->\n)(.*?)(<!-- /report -->)", re.S)
CONDENSED = re.compile(r"(<!-- condensed: ([\w.-]+) -->\n)(.*?)(<!-- /condensed -->)", re.S)


def defence_label(d):
    """A defence's name with its setting, as the report's markdown writes it."""
    name = d["defence"].replace("_", "-")
    for key, label in (("tolerance", "RMS"), ("false_rejection", "FRR"), ("margin", "margin")):
        if key in d:
            return f"{name} ({label} {d[key]})"
    return name


def condensed_text(name):
    """The defence report NAME.json as one row a defence: how often each request kind is
    flagged, class A's accuracy after Pushing-I, a request's cost and what the defence keeps."""
    r = json.loads((REPORTS / f"{name}.json").read_text())
    kinds = {k["kind"]: k for k in r["kinds"]}
    a = r["config"]["class_a"]
    push10, push50 = "Pushing-I 10% (original)", "Pushing-I 50% (original)"
    pct = lambda v: f"{100 * v:.1f}"
    head = (
        "| defence | normal 10% flagged (plain / JPEG) | over 500 normal (plain / JPEG) "
        "| blending 10% | Pushing-I 10% | Pushing-II 10% | Pushing-I 50% "
        f"| {a} % after Pushing-I 10% / 50% | ms a request | kept |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = [
        f"| none | - | - | - | - | - | - | {pct(kinds[push10]['accuracy_a'])} / "
        f"{pct(kinds[push50]['accuracy_a'])} (normal: {pct(kinds['normal 10%']['accuracy_a'])} / "
        f"{pct(kinds['normal 50%']['accuracy_a'])}) | - | - |"
    ]
    for state in r["state"]:
        d = state["defence"]
        cell = {x["kind"]: x for x in r["defences"] if x["defence"] == d}
        flagged = lambda kind: f"{cell[kind]['flagged']}/{cell[kind]['requests']}"
        fr = [x for x in r["false_rejection"] if x["defence"] == d]
        over = (
            f"{fr[0]['plain']}/{fr[0]['requests']} / {fr[0]['reencoded']}/{fr[0]['requests']}"
            if fr
            else "- (needs updates)"
        )
        b = state["bytes"]
        kept = f"{b / 1000:.1f} kB" if b >= 1000 else f"{b} B"
        rows.append(
            f"| {defence_label(d)} | {flagged('normal 10%')} / {flagged('normal 10% (JPEG 90)')} "
            f"| {over} | {flagged('blending r=0.5 10% (original)')} | {flagged(push10)} "
            f"| {flagged('Pushing-II 10% (original)')} | {flagged(push50)} "
            f"| {pct(cell[push10]['accuracy_a'])} / {pct(cell[push50]['accuracy_a'])} "
            f"| {round(1000 * cell['normal 10%']['seconds'])} | {kept} |"
        )
    return head + "\n".join(rows) + "\n"


def report_text(name):
    path = REPORTS / f"{name}.md"
    if not path.exists():
        sys.exit(f"README.md shows a report block for {name}, but {path} does not exist")
    return path.read_text().rstrip("\n") + "\n"


def main():
    write = "--write" in sys.argv[1:]
    readme = README.read_text()
    stale = []

    def refill(match):
        name = match.group(2)
        text = report_text(name)
        if match.group(3) != text:
            stale.append(name)
        return match.group(1) + text + match.group(4)

    def refill_condensed(match):
        name = match.group(2)
        text = condensed_text(name)
        if match.group(3) != text:
            stale.append(f"{name} (condensed)")
        return match.group(1) + text + match.group(4)

    updated = CONDENSED.sub(refill_condensed, BLOCK.sub(refill, readme))
    shown = {m.group(2) for m in BLOCK.finditer(readme)}
    shown |= {m.group(2) for m in CONDENSED.finditer(readme)}
    missing = sorted(p.stem for p in REPORTS.glob("*.md") if p.stem not in shown)
    if write:
        README.write_text(updated)
        print(f"README.md: {len(stale)} report block(s) refilled {stale}")
    elif stale:
        sys.exit(
            f"README.md's copies of {stale} differ from experiments/reports/: "
            "run python3 tests/readme_reports.py --write"
        )
    if missing:
        sys.exit(f"reports not shown in README.md (add a report block): {missing}")
    print(f"README.md shows {len(shown)} experiment reports, each identical to its file")


if __name__ == "__main__":
    main()
