"""Goal 5: pytest-xdist gives identical results, and costs no more than its
own start-up.

The 1,000 header defaults of bench/header_items.py, with a few drifted and
one waived so that every outcome shows, run with and without ``-n 2``;
the same for the 1,000 bare Items. Results are compared item by item from
JUnit XML (outcome and first line of the message). xdist's own start-up
cost is what ``-n 2`` adds to the bare Items; the plugin's is what it adds
to ``--check-defaults`` (each worker imports and starts the app once).

Usage: ``.venv/bin/python bench/xdist_compare.py [--runs 5]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from benchlib import interleaved, machine, median, print_table, pytest_command, pytest_env, run_process, spread
from header_items import write_projects

DRIFTED = (3, 41, 77)
WAIVED = 12
PLUGINS = ("pytest_prod_defaults.plugin", "xdist.plugin")

Outcomes = dict[str, tuple[str, str]]


def junit_outcomes(path: Path) -> Outcomes:
    """``{test name: (outcome, first line of its message)}``."""
    found: Outcomes = {}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            element = case.find(kind)
            if element is not None:
                outcome, message = kind, ((element.get("message") or "").splitlines() or [""])[0]
        found[f"{case.get('classname')}::{case.get('name')}"] = (outcome, message)
    return found


def with_outcomes(project: Path) -> None:
    """Make some entries drift and one waived, so every outcome is compared."""
    manifest = project / "defaults.toml"
    text = manifest.read_text()
    for number in DRIFTED:
        text = text.replace(f'equals = "value-{number}"\n', f'equals = "value-{number}-documented"\n')
    text = text.replace(f'equals = "value-{WAIVED}"\n', f'equals = "value-{WAIVED}"\nskip = "waived for the bench"\n')
    manifest.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of each scenario (default 5)")
    options = parser.parse_args()
    env = pytest_env()
    results: dict[str, Outcomes] = {}
    summaries: dict[str, str] = {}

    with tempfile.TemporaryDirectory(prefix="bench-xdist-") as tmp:
        plugin, bare, _ = write_projects(Path(tmp))
        with_outcomes(plugin)

        def scenario(name: str, folder: Path, *args: str) -> float:
            xml = folder / f"{name}.xml"
            run = run_process(pytest_command(*args, f"--junitxml={xml}", plugins=PLUGINS), folder, env)
            results[name] = junit_outcomes(xml)
            summaries[name] = run.last_line
            return run.seconds

        scenarios = {
            "plugin": lambda: scenario("plugin", plugin, "--check-defaults", "-n", "0"),
            "plugin -n 2": lambda: scenario("plugin -n 2", plugin, "--check-defaults", "-n", "2"),
            "bare": lambda: scenario("bare", bare, "items.toml", "-n", "0"),
            "bare -n 2": lambda: scenario("bare -n 2", bare, "items.toml", "-n", "2"),
        }
        scenarios["plugin -n 2"]()  # warm the file cache; not counted
        times = interleaved(options.runs, scenarios)

    identical = results["plugin"] == results["plugin -n 2"] and len(results["plugin"]) == 1000
    outcome_counts: dict[str, int] = {}
    for outcome, _ in results["plugin"].values():
        outcome_counts[outcome] = outcome_counts.get(outcome, 0) + 1
    plugin_cost = median(times["plugin -n 2"]) - median(times["plugin"])
    xdist_cost = median(times["bare -n 2"]) - median(times["bare"])
    print(f"goal 5: pytest-xdist on 1,000 items; {options.runs} runs, {machine()}")
    print_table(
        [
            ("scenario", "wall time", "outcome"),
            *((name, spread(values), summaries[name]) for name, values in times.items()),
        ]
    )
    print(f"per-item results with and without -n 2 identical: {identical} ({outcome_counts})")
    print(
        f"summary: results {'identical' if identical else 'DIFFER'} with -n 2; -n 2 adds {plugin_cost:+.2f} s to"
        f" --check-defaults and {xdist_cost:+.2f} s to bare Items (xdist's own start-up), so the plugin's share is"
        f" {plugin_cost - xdist_cost:+.2f} s: each worker imports and starts the app once"
    )
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
