"""Issue 18, point 4: what finding the lines of manifest keys costs, before
and after they are looked up only when a report or a problem needs them.

A manifest of 10,000 ``[[header]]`` entries (100 header names, each on 100
paths of its own entry) is loaded and checked with two checkouts of this
package, in turns: ``--before`` (a checkout of the commit to compare with,
e.g. ``git worktree add /tmp/before <commit>``) and this one. Each child
process imports its checkout through ``PYTHONPATH``.

In-process, per load (after one untimed load, so pydantic's models are
built): ``tomllib.loads`` alone, the line scan alone (``key_lines``),
``load_manifest``, and ``load_manifest`` followed by asking every entry and
every check for its line (what a report of every item needs). Whole
process: ``pytest --check-defaults`` on the same manifest against a plain
ASGI app serving the headers (where pytest asks every item's location, so
every line is needed), and ``pytest --check-defaults --collect-only``
(where none is).

Usage: ``.venv/bin/python bench/manifest_load.py --before /tmp/before [--runs 7] [--entries 10000]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import (
    PLAIN_APP,
    PYTHON,
    ROOT,
    interleaved,
    machine,
    median,
    paired_ratio,
    print_table,
    pytest_command,
    pytest_env,
    run_process,
    spread,
)

HEADERS = 100


# Run in a child with one checkout on PYTHONPATH: prints the seconds of
# each step, the best of ``repeat`` (a load is short, a child is not).
LOAD = """
import json, sys, time, tomllib
from pathlib import Path

import pytest_prod_defaults
from pytest_prod_defaults.manifest import load_manifest
from pytest_prod_defaults.registry import ordered_kinds, standalone_plugin_manager
from pytest_prod_defaults.toml_positions import key_lines

path, repeat = Path(sys.argv[1]), int(sys.argv[2])
text = path.read_text()
kinds = ordered_kinds(standalone_plugin_manager().hook.pytest_prod_defaults_kinds())
load_manifest(path, kinds)  # builds pydantic's entry models: once per process, in either checkout


def every_line(manifest):
    found = 0
    for key, entries in manifest.sections.items():
        kind = manifest.kinds[key]
        for entry in entries:
            found += bool(entry.line) + bool(entry.inherited)
            for check in kind.checks(entry, manifest):
                own = check.own_line() if hasattr(check, "own_line") else check.line
                found += bool(own or check.entry.line)
    return found


def best(step):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return min(times)


print(json.dumps({
    "checkout": str(Path(pytest_prod_defaults.__file__).parent.parent),
    "parse": best(lambda: tomllib.loads(text)),
    "scan": best(lambda: key_lines(text)),
    "load": best(lambda: load_manifest(path, kinds)),
    "load_lines": best(lambda: every_line(load_manifest(path, kinds))),
}))
"""


def write_project(root: Path, entries: int) -> Path:
    project = root / "project"
    project.mkdir()
    paths_count = entries // HEADERS
    (project / "app.py").write_text(PLAIN_APP.format(headers=HEADERS))
    manifest = ["version = 1", "", "[service]", 'owner = "platform-team"', "", "[target]", 'app = "app:app"', ""]
    for n in range(paths_count):
        for i in range(HEADERS):
            manifest += [
                "[[header]]",
                f'name = "X-Default-{i:03d}"',
                f'equals = "value-{i}"',
                f'paths = ["/page/{n}"]',
                f'why = "documented default {i} of page {n}"',
                "",
            ]
    (project / "defaults.toml").write_text("\n".join(manifest))
    return project


def load_times(checkout: Path, manifest: Path, repeat: int) -> dict[str, float]:
    env = {**pytest_env(), "PYTHONPATH": str(checkout)}
    # Run from the manifest's folder: ``-c`` puts the current directory first
    # on sys.path, where a checkout would shadow the one on PYTHONPATH.
    done = subprocess.run(
        [PYTHON, "-c", LOAD, str(manifest), str(repeat)],
        cwd=manifest.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"the load bench failed in {checkout}:\n{done.stderr}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(found.pop("checkout")).resolve() != checkout.resolve():
        raise SystemExit(f"the load bench imported another checkout than {checkout}")
    return {step: float(seconds) for step, seconds in found.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the commit to compare with")
    parser.add_argument("--runs", type=int, default=7, help="runs of each scenario (default 7)")
    parser.add_argument("--repeat", type=int, default=3, help="loads per child; the best counts (default 3)")
    parser.add_argument("--entries", type=int, default=10_000, help="[[header]] entries (default 10000)")
    options = parser.parse_args()
    checkouts = {"before": options.before.resolve(), "after": ROOT}
    outcomes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-manifest-load-") as tmp:
        project = write_project(Path(tmp), options.entries)
        manifest = project / "defaults.toml"
        loads: dict[str, list[dict[str, float]]] = {name: [] for name in checkouts}

        def loaded(name: str) -> float:
            times = load_times(checkouts[name], manifest, options.repeat)
            loads[name].append(times)
            return times["load"]

        def pytest_run(name: str, *args: str) -> float:
            env = {**pytest_env(), "PYTHONPATH": str(checkouts[name])}
            run = run_process(pytest_command("--check-defaults", *args), project, env)
            outcomes[" ".join((name, *args))] = run.last_line
            return run.seconds

        for name in checkouts:  # warm the file and bytecode caches; not counted
            loaded(name)
            pytest_run(name)
            loads[name].clear()
        times = interleaved(
            options.runs,
            {
                "load before": lambda: loaded("before"),
                "load after": lambda: loaded("after"),
                "run before": lambda: pytest_run("before"),
                "run after": lambda: pytest_run("after"),
                "collect before": lambda: pytest_run("before", "--collect-only"),
                "collect after": lambda: pytest_run("after", "--collect-only"),
            },
        )

    def step(name: str, key: str) -> list[float]:
        return [times[key] for times in loads[name]]

    print(
        f"manifest lines, found on every load (before) or when asked (after): {options.entries:,} [[header]] entries;"
        f" {options.runs} runs, best of {options.repeat} loads each; {machine()}"
    )
    print(f"before: {checkouts['before']}; after: {checkouts['after']}")
    rows = [("step", "before", "after", "after / before (paired)")]
    for key, label in (
        ("parse", "tomllib.loads"),
        ("scan", "key_lines (the line scan)"),
        ("load", "load_manifest"),
        ("load_lines", "load_manifest, then every entry's and check's line"),
    ):
        before, after = step("before", key), step("after", key)
        rows.append((label, spread(before, "ms", 1, 1000), spread(after, "ms", 1, 1000), paired_ratio(after, before)))
    for key, label in (("run", "pytest --check-defaults"), ("collect", "pytest --check-defaults --collect-only")):
        before, after = times[f"{key} before"], times[f"{key} after"]
        rows.append((label, spread(before), spread(after), paired_ratio(after, before)))
    print_table(rows)
    for scenario, outcome in outcomes.items():
        print(f"  {scenario}: {outcome}")
    scan_share = median(step("before", "scan")) / median(step("before", "parse"))
    saved = 1 - median(step("after", "load")) / median(step("before", "load"))
    run_ratio = median(times["run after"]) / median(times["run before"])
    print(
        f"summary: the line scan costs {scan_share:.2f}x the TOML parse; a plain load_manifest of"
        f" {options.entries:,} entries takes {saved:.0%} less time; a whole pytest run where every line is"
        f" asked for takes {run_ratio:.2f}x as long as before"
    )
    return 0


if __name__ == "__main__":
    os.environ.pop("PYTHONPATH", None)  # each child gets the checkout it measures
    sys.exit(main())
