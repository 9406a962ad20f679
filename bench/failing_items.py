"""Thousands of failing defaults: where the time goes.

N header defaults that all fail (the app sends none of them), at two sizes,
as the plugin reports them past a thousand failures (its own FAILURES
section, written in one pass) and with ``--tb=long`` (pytest's own summary).
pytest's summary looks up each failure's teardown sections among every
report of the run (``TerminalReporter._get_teardown_reports``), so it grows
with failures times items: quadrupling N takes well over four times as long.

Usage: ``.venv/bin/python bench/failing_items.py [--runs 3] [--items 2000]``
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchlib import interleaved, machine, median, print_table, pytest_command, pytest_env, run_process, spread

APP = """
from fastapi import FastAPI

app = FastAPI()

@app.get("/")
def index():
    return {"ok": True}
"""


def write_project(folder: Path, items: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(APP, encoding="utf-8")
    entries = "".join(f'\n[[header]]\nname = "X-H{n}"\nequals = "v"\n' for n in range(items))
    quiet = '[undocumented]\nheaders = "off"\nsettings = "off"\nmiddleware = "off"\nconfig = "off"\n'
    (folder / "defaults.toml").write_text(f'[target]\napp = "app:app"\n{quiet}{entries}', encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--items", type=int, default=2000, help="the smaller size; the larger is four times it")
    options = parser.parse_args()
    env = pytest_env()
    with tempfile.TemporaryDirectory() as scratch:
        sizes = (options.items, options.items * 4)
        for size in sizes:
            write_project(Path(scratch) / str(size), size)

        def scenario(size: int, *args: str) -> float:
            run = run_process(pytest_command("--check-defaults", *args), Path(scratch) / str(size), env)
            if f"{size} failed" not in run.last_line:
                raise SystemExit(f"unexpected end of a run of {size}: {run.last_line}")
            return run.seconds

        scenarios = {
            f"{size} failing, {style}": (lambda size=size, args=args: scenario(size, *args))
            for size in sizes
            for style, args in (("plugin's one pass", ()), ("pytest's, --tb=long", ("--tb=long",)))
        }
        results = interleaved(options.runs, scenarios)
    print(f"failing defaults ({machine()}), {options.runs} runs each, whole process:")
    print_table([("scenario", "seconds"), *((name, spread(values)) for name, values in results.items())])
    for style in ("plugin's one pass", "pytest's, --tb=long"):
        small, large = (median(results[f"{size} failing, {style}"]) for size in sizes)
        print(f"{style}: 4x the failures take {large / small:.1f}x as long")


if __name__ == "__main__":
    main()
