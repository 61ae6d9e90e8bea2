"""The README's copies of the committed experiment reports, kept identical to them.

A report is the one home of its numbers: `experiments/reports/NAME.md`, written by
`overunlearn reproduce --markdown`. The README shows it between the markers

    <!-- report: NAME -->
    ...
    <!-- /report -->

and this script checks (default) that every such block holds exactly the report's text, and
that every report of a run experiment is shown; `--write` refills the blocks from the reports.
Run by scripts/test.sh.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
REPORTS = ROOT / "experiments" / "reports"
BLOCK = re.compile(r"(<!-- report: ([\w.-]+) -->\n)(.*?)(<!-- /report -->)", re.S)
# Reports the README shows in another form (the defences' condensed table).
SHOWN_OTHERWISE = {"defend-cifar10-lab"}


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

    updated = BLOCK.sub(refill, readme)
    shown = {m.group(2) for m in BLOCK.finditer(readme)}
    missing = sorted(
        p.stem for p in REPORTS.glob("*.md") if p.stem not in shown | SHOWN_OTHERWISE
    )
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
