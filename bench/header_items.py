"""Goal 2: ``pytest --check-defaults`` on 1,000 header defaults (100 headers
on 10 paths) against the same number of bare custom pytest Items read from
a TOML file, whole process, in-process target (mode asgi).

The bare items are pytest's own non-Python-test example: a ``pytest.File``
reading ``items.toml`` and one ``pytest.Item`` per entry comparing two
strings. The plugin run imports the FastAPI app, starts it, sends one GET per
path (10 in all) and compares 1,000 header values; both runs have the plugin
installed (``-p pytest_prod_defaults.plugin``) and no other third-party
plugin (``--autoload`` keeps whatever else is installed).

A third scenario runs the bare Items from a conftest that also imports the
app: the floor any plugin checking this app starts from, since the bare
Items never pay for FastAPI's import or its teardown at exit. ``--app asgi``
serves the same headers from a plain ASGI app, so the app's own import is
left out and what remains is the plugin's cost.

``--paths 100`` puts the same 100 headers on 100 paths (10,000 items): what
each further item costs, once the app's start is shared by many.

``--against CHECKOUT`` runs the plugin of another checkout of this project
too (its folder first on ``PYTHONPATH``), in turns with this one: a change's
before and after in one invocation. ``--unfrozen`` adds this checkout's run
with ``defaults_full_protocol = true`` (the garbage collector left alone):
what the freeze of the long-lived objects is worth.

Usage: ``.venv/bin/python bench/header_items.py [--runs 7] [--autoload] [--app fastapi|asgi] [--paths 10]
[--against ../main] [--unfrozen]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from benchlib import (
    PLAIN_APP,
    ProcessRun,
    interleaved,
    machine,
    median,
    paired_ratio,
    print_table,
    pytest_command,
    pytest_env,
    run_process,
    spread,
    verdict,
)

HEADERS = 100
PATHS = 10
GOAL = 1.5

APP = """
from fastapi import FastAPI

HEADERS = {{f"X-Default-{{i:03d}}": f"value-{{i}}" for i in range({headers})}}

app = FastAPI()


@app.middleware("http")
async def documented_defaults(request, call_next):
    response = await call_next(request)
    response.headers.update(HEADERS)
    return response


def page():
    return {{"ok": True}}


for number in range({paths}):
    app.add_api_route(f"/page/{{number}}", page, methods=["GET"])
"""


BARE_CONFTEST = """
import tomllib

import pytest


class ItemsFile(pytest.File):
    def collect(self):
        for entry in tomllib.loads(self.path.read_text())["item"]:
            yield CompareItem.from_parent(self, name=entry["name"], documented=entry["documented"], live=entry["live"])


class CompareItem(pytest.Item):
    def __init__(self, *, documented, live, **kwargs):
        super().__init__(**kwargs)
        self.documented = documented
        self.live = live

    def runtest(self):
        if self.documented != self.live:
            raise AssertionError(f"documented {self.documented!r}, live {self.live!r}")

    def reportinfo(self):
        return self.path, None, self.name


def pytest_collect_file(parent, file_path):
    if file_path.name == "items.toml":
        return ItemsFile.from_parent(parent, path=file_path)
"""


def write_projects(root: Path, app: str = "fastapi", paths_count: int = PATHS) -> tuple[Path, Path, Path]:
    """The plugin's project, the bare Items, and the bare Items importing the app."""
    plugin, bare, bare_app = root / "plugin", root / "bare", root / "bare_app"
    for folder in (plugin, bare, bare_app):
        folder.mkdir()
    source = (APP if app == "fastapi" else PLAIN_APP).format(headers=HEADERS, paths=paths_count)
    (plugin / "app.py").write_text(source)
    (bare_app / "app.py").write_text(source)
    paths = ", ".join(f'"/page/{n}"' for n in range(paths_count))
    manifest = ["version = 1", "", "[target]", 'app = "app:app"', f"paths = [{paths}]", ""]
    for i in range(HEADERS):
        manifest += ["[[header]]", f'name = "X-Default-{i:03d}"', f'equals = "value-{i}"', ""]
    manifest += ["[undocumented]", 'headers = "off"', 'settings = "off"', 'middleware = "off"', 'config = "off"']
    (plugin / "defaults.toml").write_text("\n".join(manifest) + "\n")
    (bare / "conftest.py").write_text(BARE_CONFTEST)
    items = []
    for n in range(paths_count):
        for i in range(HEADERS):
            items += [
                "[[item]]",
                f'name = "header:X-Default-{i:03d}[/page/{n}]"',
                f'documented = "value-{i}"',
                f'live = "value-{i}"',
                "",
            ]
    (bare / "items.toml").write_text("\n".join(items))
    (bare_app / "conftest.py").write_text("import app  # noqa: F401  (what importing the app costs)\n" + BARE_CONFTEST)
    (bare_app / "items.toml").write_text("\n".join(items))
    return plugin, bare, bare_app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs of each scenario (default 7)")
    parser.add_argument("--autoload", action="store_true", help="load every installed pytest plugin too")
    parser.add_argument(
        "--app", choices=("fastapi", "asgi"), default="fastapi", help="FastAPI app (default) or a plain ASGI one"
    )
    parser.add_argument("--paths", type=int, default=PATHS, help=f"paths each header is checked on (default {PATHS})")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT", help="also run another checkout's plugin, in turns")
    parser.add_argument("--unfrozen", action="store_true", help="also run with defaults_full_protocol = true")
    options = parser.parse_args()
    env = pytest_env(options.autoload)
    if options.against is not None:
        against = options.against.resolve()
        if not (against / "pytest_prod_defaults" / "plugin.py").is_file():
            parser.error(f"--against {options.against}: no pytest_prod_defaults/plugin.py there")
        # Ahead of the editable install's finder: that checkout's package is imported.
        against_env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(against), env.get("PYTHONPATH")]))}
    # Auto-loaded, the plugin comes from its entry point; named, it would load twice.
    plugins = () if options.autoload else ("pytest_prod_defaults.plugin",)
    outcomes: dict[str, str] = {}
    cpu: dict[str, list[float]] = {}
    """CPU seconds of each timed run, by scenario (see ``ProcessRun.cpu_seconds``)."""

    def timed(name: str, run: ProcessRun) -> float:
        outcomes[name] = run.last_line
        cpu.setdefault(name, []).append(run.cpu_seconds)
        return run.seconds

    with tempfile.TemporaryDirectory(prefix="bench-headers-") as tmp:
        plugin, bare, bare_app = write_projects(Path(tmp), options.app, options.paths)

        def checked() -> float:
            return timed("plugin", run_process(pytest_command("--check-defaults", plugins=plugins), plugin, env))

        def checked_against() -> float:
            command = pytest_command("--check-defaults", plugins=plugins)
            return timed("against", run_process(command, plugin, against_env))

        def checked_unfrozen() -> float:
            command = pytest_command("--check-defaults", "-o", "defaults_full_protocol=true", plugins=plugins)
            return timed("unfrozen", run_process(command, plugin, env))

        def bare_items() -> float:
            return timed("bare", run_process(pytest_command("items.toml", plugins=plugins), bare, env))

        def bare_items_and_app() -> float:
            return timed("bare_app", run_process(pytest_command("items.toml", plugins=plugins), bare_app, env))

        def collect_only() -> float:
            command = pytest_command("--collect-only", "items.toml", plugins=plugins)
            return timed("collect", run_process(command, bare, env))

        scenarios = {"plugin": checked}
        if options.against is not None:
            scenarios["against"] = checked_against
        if options.unfrozen:
            scenarios["unfrozen"] = checked_unfrozen
        scenarios.update(bare=bare_items, bare_app=bare_items_and_app, collect=collect_only)
        for scenario in scenarios.values():
            scenario()  # warm the file and bytecode caches; not counted
        cpu.clear()
        times = interleaved(options.runs, scenarios)

    total = HEADERS * options.paths
    loaded = "every installed pytest plugin" if options.autoload else "no other pytest plugin"
    print(
        f"goal 2: {total} header defaults ({options.app} app) vs {total} bare pytest Items, whole process,"
        f" {loaded}; {options.runs} runs, {machine()}"
    )
    labels = {
        "plugin": f"pytest --check-defaults ({total:,} header items)",
        "against": f"the same, plugin from {options.against}",
        "unfrozen": "the same, defaults_full_protocol = true",
        "bare": f"pytest on {total:,} bare Items from items.toml",
        "bare_app": "the same bare Items, the conftest importing the app",
        "collect": "pytest --collect-only on the same bare Items",
    }
    print_table(
        [("scenario", "wall time", "CPU time", "outcome")]
        + [
            (label, spread(times[name]), spread(cpu[name]), outcomes[name] if name != "collect" else "")
            for name, label in labels.items()
            if name in times
        ]
    )
    ratio = median(times["plugin"]) / median(times["bare"])
    per_item = (median(times["plugin"]) - median(times["bare"])) / total * 1000
    print(f"paired ratios: {paired_ratio(times['plugin'], times['bare'])}")
    cpu_ratio = median(cpu["plugin"]) / median(cpu["bare"])
    print(f"CPU time: {cpu_ratio:.2f}x bare Items (paired {paired_ratio(cpu['plugin'], cpu['bare'])})")
    for name, label in (("against", str(options.against)), ("unfrozen", "defaults_full_protocol = true")):
        if name in times:
            print(
                f"{label}: {median(times[name]) / median(times['bare']):.2f}x bare Items"
                f" (paired {paired_ratio(times[name], times['bare'])}); this checkout / it:"
                f" {median(times['plugin']) / median(times[name]):.2f}x"
                f" (paired {paired_ratio(times['plugin'], times[name])});"
                f" CPU time: {median(cpu[name]) / median(cpu['bare']):.2f}x bare Items, this checkout / it:"
                f" {median(cpu['plugin']) / median(cpu[name]):.2f}x (paired {paired_ratio(cpu['plugin'], cpu[name])})"
            )
    floor = median(times["bare_app"]) / median(times["bare"])
    print(
        f"the app's own import: bare Items importing it = {floor:.2f}x bare Items"
        f" (paired {paired_ratio(times['bare_app'], times['bare'])}); the plugin run ="
        f" {median(times['plugin']) / median(times['bare_app']):.2f}x that"
    )
    print(
        f"summary: --check-defaults on {total} header defaults ({options.app} app, {loaded}) = {ratio:.2f}x"
        " the same number of bare Items"
        f" (goal <= {GOAL}x: {verdict(ratio, GOAL)}); {per_item:+.3f} ms per item over bare, app start included"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
