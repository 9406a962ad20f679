"""Goal 1: installed but off, the plugin costs nothing.

- The pytest11 entry module (``pytest_prod_defaults.plugin``) imported in a
  fresh interpreter after pytest: its time (goal <= 5 ms) and the heavy
  modules it loads (goal: none of fastapi, starlette, httpx, pydantic,
  uvicorn, anyio).
- ``pytest --collect-only`` on 10 plain tests with the plugin loaded but not
  asked for, against the same run without it: the whole-process difference.

Usage: ``.venv/bin/python bench/import_cost.py [--runs 15]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchlib import PYTHON, interleaved, machine, median, print_table, pytest_command, pytest_env, run_process, spread

GOAL_MS = 5.0
HEAVY = ("fastapi", "starlette", "httpx", "pydantic", "uvicorn", "anyio", "asgi_lifespan")

MEASURE = f"""
import json, sys, time
import pytest
before = set(sys.modules)
started = time.perf_counter()
import pytest_prod_defaults.plugin
elapsed = time.perf_counter() - started
added = sorted(set(sys.modules) - before)
heavy = [name for name in added if name.split(".")[0] in {HEAVY!r}]
print(json.dumps({{"seconds": elapsed, "heavy": heavy, "added": len(added)}}))
"""

TESTS = "\n".join(f"def test_{n}():\n    assert {n} == {n}\n" for n in range(10))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="runs of each scenario (default 15)")
    options = parser.parse_args()
    env = pytest_env()
    heavy: set[str] = set()
    added: list[int] = []

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        (folder / "test_plain.py").write_text(TESTS)

        def entry_module() -> float:
            run = run_process([PYTHON, "-c", MEASURE], folder, env)
            found = json.loads(run.output.strip().splitlines()[-1])
            heavy.update(found["heavy"])
            added.append(found["added"])
            return float(found["seconds"])

        def with_plugin() -> float:
            return run_process(pytest_command("--collect-only"), folder, env).seconds

        def without_plugin() -> float:
            return run_process(pytest_command("--collect-only", plugins=()), folder, env).seconds

        with_plugin()  # warm the file cache; not counted
        times = interleaved(options.runs, {"entry": entry_module, "with": with_plugin, "without": without_plugin})

    entry_ms = median(times["entry"]) * 1000
    difference_ms = (median(times["with"]) - median(times["without"])) * 1000
    print(f"goal 1: installed but off; {options.runs} runs, {machine()}")
    print_table(
        [
            ("scenario", "time"),
            ("import pytest_prod_defaults.plugin, after pytest", spread(times["entry"], "ms", 2, 1000)),
            ("pytest --collect-only, 10 tests, plugin loaded, off", spread(times["with"], "s", 3)),
            ("pytest --collect-only, 10 tests, no plugin", spread(times["without"], "s", 3)),
        ]
    )
    print(f"modules the entry module adds: {median(added):.0f}; heavy among them: {sorted(heavy) or 'none'}")
    verdict = "meets the goal" if entry_ms <= GOAL_MS and not heavy else "MISSES the goal"
    print(
        f"summary: the entry module imports in {entry_ms:.2f} ms after pytest and loads"
        f" {'none of ' + ', '.join(HEAVY) if not heavy else ', '.join(sorted(heavy))}"
        f" (goal <= {GOAL_MS:g} ms, none: {verdict}); whole-process difference with the plugin off:"
        f" {difference_ms:+.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
