"""What every bench script shares: running a process and timing it, and
printing medians with their spread.

Runs of the scenarios being compared are interleaved (A B A B ...), so a
change in the machine's load during a bench hits all of them alike, and
every ratio is taken between figures of the same run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass(frozen=True)
class ProcessRun:
    seconds: float
    peak_rss_mib: float
    returncode: int
    output: str
    cpu_seconds: float = 0.0
    """User and system time of the process (and of the children it waited
    for): less swayed than wall time by a neighbour's load on the machine."""

    @property
    def last_line(self) -> str:
        lines = self.output.strip().splitlines()
        return lines[-1] if lines else f"exit {self.returncode}"


def run_process(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> ProcessRun:
    """Run ``command`` to its end: wall time, its own peak RSS, its output."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command), cwd=cwd, stdout=output, stderr=subprocess.STDOUT, env=dict(env) if env else None
        )
        # wait4 gives this one child's own peak RSS (ru_maxrss, KiB on Linux)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    return ProcessRun(seconds, usage.ru_maxrss / 1024, process.returncode, text, usage.ru_utime + usage.ru_stime)


# ``{headers}`` headers from a plain ASGI app (no FastAPI to import): the
# plugin's own cost, without an app's. A template: ``.format(headers=N)``.
PLAIN_APP = """
HEADERS = [(f"x-default-{{i:03d}}".encode(), f"value-{{i}}".encode()) for i in range({headers})]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"11"), *HEADERS]
    await send({{"type": "http.response.start", "status": 200, "headers": headers}})
    await send({{"type": "http.response.body", "body": b'{{"ok":true}}'}})
"""


PYCACHE = Path(tempfile.gettempdir()) / "pytest-prod-defaults-bench-pycache"


def pytest_env(autoload: bool = False) -> dict[str, str]:
    """The environment for a pytest child.

    By default third-party plugins are not auto-loaded (every command names
    its plugins with ``-p``), so the floor measured is pytest's own and not
    whatever else is installed. Bytecode is cached (in ``PYCACHE``) even if
    this shell says ``PYTHONDONTWRITEBYTECODE``: an installed package has
    its ``.pyc`` files, and an editable one compiled afresh on every run
    would be measured slower than users will see it.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    if autoload:
        env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    else:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def pytest_command(*args: str, plugins: Sequence[str] = ("pytest_prod_defaults.plugin",)) -> list[str]:
    command = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    for plugin in plugins:
        command += ["-p", plugin]
    return command + list(args)


def interleaved(runs: int, scenarios: Mapping[str, Callable[[], float]]) -> dict[str, list[float]]:
    """Each scenario ``runs`` times, in turns (A B C A B C ...)."""
    results: dict[str, list[float]] = {name: [] for name in scenarios}
    for _ in range(runs):
        for name, scenario in scenarios.items():
            results[name].append(scenario())
    return results


def spread(values: Sequence[float], unit: str = "s", digits: int = 2, scale: float = 1.0) -> str:
    """``median (min x, max y) unit``."""
    scaled = [value * scale for value in values]
    return f"{statistics.median(scaled):.{digits}f} {unit} (min {min(scaled):.{digits}f}, max {max(scaled):.{digits}f})"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def paired_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> str:
    """Median of the ratios of paired runs, with their spread."""
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True)]
    return f"{statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f})"


def verdict(value: float, limit: float) -> str:
    return "meets the goal" if value <= limit else "MISSES the goal"


def print_table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{os.cpu_count()} CPUs, load {load:.2f}, Python {sys.version.split()[0]}"
