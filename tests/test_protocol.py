"""Every default takes pytest's own setup/call/teardown protocol, so every
plugin and conftest.py sees every phase of every item; what the plugin adds
for speed (pytest_prod_defaults/heap.py) changes no report and no output, and
the garbage collector is handed back when the session ends."""

from __future__ import annotations

import ast
import gc
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import QUIET, Project

from pytest_prod_defaults.outcomes import Drift, TargetUnavailable
from pytest_prod_defaults.probes import Reads
from pytest_prod_defaults.registry import builtin_kind_modules, ordered_kinds
from pytest_prod_defaults.runner import DefaultsRun
from pytest_prod_defaults.target import ProbeRequest
from pytest_prod_defaults.view import UndeclaredRead

HEADERS = 5
PATHS = ("/a", "/b")

# Every request prints and logs a line (and appends to requests.log), so a
# test can see where the app's output went and how many requests were sent.
APP = f"""
    import logging
    from pathlib import Path

    from fastapi import FastAPI, Request

    HEADERS = {{f"X-Default-{{i}}": f"value-{{i}}" for i in range({HEADERS})}}
    log = logging.getLogger("shop")
    app = FastAPI()


    @app.middleware("http")
    async def documented_defaults(request: Request, call_next):
        print(f"served {{request.url.path}}")
        log.warning("logged %s", request.url.path)
        with Path("requests.log").open("a") as requests:
            requests.write(f"{{request.method}} {{request.url.path}}\\n")
        response = await call_next(request)
        response.headers.update(HEADERS)
        return response


    @app.get("/a")
    def a():
        return {{"page": "a"}}


    @app.get("/b")
    def b():
        return {{"page": "b"}}


    @app.post("/upload")
    async def upload(request: Request):
        return {{"received": len(await request.body())}}
"""


def manifest(values: dict[int, str] | None = None, extra: str = "") -> str:
    """``HEADERS`` header entries on both paths; ``values`` overrides the
    documented value of some (a drift)."""
    values = values or {}
    lines = ["[target]", 'app = "app:app"', f"paths = {json.dumps(list(PATHS))}", ""]
    for i in range(HEADERS):
        lines += ["[[header]]", f'name = "X-Default-{i}"', f'equals = "{values.get(i, f"value-{i}")}"', ""]
    return "\n".join(lines) + extra + QUIET


def item_ids() -> list[str]:
    return [f"defaults.toml::header:X-Default-{i}[{path}]" for i in range(HEADERS) for path in PATHS]


class PhaseRecorder:
    """A plugin object (not a conftest.py) with a per-phase hook and no
    report hook (as pytest-randomly reseeding), noting which items went
    through pytest's setup phase, and the garbage collector's state after
    each."""

    def __init__(self) -> None:
        self.setup: list[str] = []
        self.frozen: list[int] = []

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.setup.append(item.nodeid)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.frozen.append(gc.get_freeze_count())


def run(project: Project, *args: str, plugins: tuple[object, ...] = ()) -> pytest.RunResult:
    return project.pytester.runpytest("--check-defaults", "-p", "no:cacheprovider", "-rA", *args, plugins=plugins)


def test_a_plugin_with_a_per_phase_hook_alone_sees_every_item_set_up(project: Project) -> None:
    # pytest-randomly's shape: its reseeding must happen for every item.
    project.app(APP)
    project.manifest(manifest())
    recorder = PhaseRecorder()
    result = run(project, plugins=(recorder,))
    result.assert_outcomes(passed=HEADERS * len(PATHS))
    assert recorder.setup == item_ids()
    # Still one request per path: the items after the first on a path read
    # the response it fetched.
    assert (project.path / "requests.log").read_text().splitlines() == ["GET /a", "GET /b"]


class LoggedPhases:
    """Which phases each item's reports were logged for, in order."""

    def __init__(self) -> None:
        self.logged: dict[str, list[str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.logged.setdefault(report.nodeid, []).append(report.when)


class MadePhases(LoggedPhases):
    """And which phases pytest_runtest_makereport was called for.
    pytest-rerunfailures, for one, sets per-item state up there on the setup
    report and reads it on the next; pytest-html decorates reports there."""

    def __init__(self) -> None:
        super().__init__()
        self.made: dict[str, list[str]] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        self.made.setdefault(item.nodeid, []).append(call.when)
        return report


def test_every_phase_goes_through_makereport_when_a_plugin_implements_it(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest())
    phases = MadePhases()
    run(project, plugins=(phases,)).assert_outcomes(passed=HEADERS * len(PATHS))
    every_phase = {nodeid: ["setup", "call", "teardown"] for nodeid in item_ids()}
    assert phases.made == every_phase
    assert phases.logged == every_phase


class NamesInSetup:
    """A plugin whose setup hook prepares what its report hook reads, as
    allure-pytest names its test result in pytest_runtest_setup."""

    def __init__(self) -> None:
        self.named: dict[str, str] = {}
        self.reported: list[str] = []

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.named[item.nodeid] = item.name

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            self.reported.append(self.named[report.nodeid])


class UnhashableNamesInSetup(NamesInSetup):
    __hash__ = None  # type: ignore[assignment]


@pytest.mark.parametrize(
    "plugin_class",
    [
        NamesInSetup,
        pytest.param(
            UnhashableNamesInSetup,
            marks=pytest.mark.skipif(pytest.version_tuple < (9,), reason="pytest 8 itself needs hashable plugins"),
            id="unhashable",
        ),
    ],
)
def test_a_plugin_whose_setup_prepares_its_reports_sees_every_item_set_up(
    project: Project, plugin_class: type[NamesInSetup]
) -> None:
    project.app(APP)
    project.manifest(manifest())
    plugin = plugin_class()
    run(project, plugins=(plugin,)).assert_outcomes(passed=HEADERS * len(PATHS))
    assert plugin.reported == [nodeid.split("::")[1] for nodeid in item_ids()]


def test_every_phase_of_every_item_is_logged(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest())
    phases = LoggedPhases()
    run(project, plugins=(phases,)).assert_outcomes(passed=HEADERS * len(PATHS))
    assert phases.logged == {nodeid: ["setup", "call", "teardown"] for nodeid in item_ids()}


def test_the_ini_switch_leaves_the_garbage_collector_alone(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest())
    recorder = PhaseRecorder()
    result = run(project, "-o", "defaults_full_protocol=true", plugins=(recorder,))
    result.assert_outcomes(passed=HEADERS * len(PATHS))
    assert recorder.setup == item_ids()
    assert recorder.frozen == [0] * len(item_ids())  # and the garbage collector is left alone


def test_a_conftest_phase_hook_sees_every_item(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest())
    project.pytester.makeconftest(
        """
        from pathlib import Path

        def pytest_runtest_setup(item):
            with Path("setups.log").open("a") as log:
                log.write(item.nodeid + "\\n")
        """
    )
    run(project).assert_outcomes(passed=HEADERS * len(PATHS))
    assert (project.path / "setups.log").read_text().splitlines() == item_ids()


def _junit_cases(path: Path) -> list[tuple[Any, ...]]:
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        properties = [(p.get("name"), p.get("value")) for p in case.iter("property")]
        children = [child.tag for child in case if child.tag != "properties"]
        cases.append(
            (case.get("classname"), case.get("name"), case.get("file"), case.get("line"), properties, children)
        )
    return cases


def _report_results(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["results"])


def test_the_garbage_collectors_freeze_changes_no_report(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest({3: "drifted"}))
    frozen = run(project, "--junitxml=frozen.xml", "--defaults-report=frozen.json", "-v")
    unfrozen = run(
        project, "-o", "defaults_full_protocol=true", "--junitxml=unfrozen.xml", "--defaults-report=unfrozen.json", "-v"
    )
    for result in (frozen, unfrozen):
        result.assert_outcomes(passed=HEADERS * len(PATHS) - 2, failed=2)
    assert _junit_cases(project.path / "frozen.xml") == _junit_cases(project.path / "unfrozen.xml")
    assert _report_results(project.path / "frozen.json") == _report_results(project.path / "unfrozen.json")

    def verdicts(result: pytest.RunResult) -> list[str]:
        return [line for line in result.outlines if line.startswith("defaults.toml::")]

    assert verdicts(frozen) == verdicts(unfrozen)
    assert len(verdicts(frozen)) == HEADERS * len(PATHS)


def test_a_drift_among_passing_defaults_fails_with_its_explanation_and_x_stops_there(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest({2: "drifted"}))
    result = run(project, "-x")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*header X-Default-2 on /a: documented 'drifted', live 'value-2'*",
            "FAILED defaults.toml::header:X-Default-2[[]/a[]]*",
        ]
    )


def test_the_apps_output_is_captured_by_the_item_that_sent_the_request(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest())
    result = run(project)
    result.assert_outcomes(passed=HEADERS * len(PATHS))
    output = result.stdout.str()
    # Shown once each, in the PASSES section, under the items that sent the
    # requests: nothing the app printed or logged escaped capture.
    for path in PATHS:
        assert output.count(f"served {path}") == 1
        assert output.count(f"logged {path}") == 1
    passes = output.index("= PASSES =")
    assert output.index("served /a") > passes
    result.stdout.fnmatch_lines(
        ["*_ header:X-Default-0[[]/a[]] _*", "*Captured stdout call*", "served /a", "*Captured log call*", "*logged /a"]
    )


def test_a_strict_xfail_on_a_default_that_holds_fails_as_xpass(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest())
    # A strict xfail on a default that holds must fail as XPASS(strict).
    project.pytester.makeconftest(
        """
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                if item.name == "header:X-Default-2[/a]":
                    item.add_marker(pytest.mark.xfail(strict=True, reason="known"))
        """
    )
    result = run(project)
    result.assert_outcomes(passed=HEADERS * len(PATHS) - 1, failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*known*"])


def test_a_waiver_among_passing_defaults_is_skipped_with_its_reason(project: Project) -> None:
    project.app(APP)
    text = manifest()
    text = text.replace('name = "X-Default-2"\n', 'name = "X-Default-2"\nskip = "rolled back, INC-7"\n')
    project.manifest(text)
    result = run(project)
    result.assert_outcomes(passed=HEADERS * len(PATHS) - 2, skipped=2)
    result.stdout.fnmatch_lines(["SKIPPED [[]2[]] defaults.toml: rolled back, INC-7"])


def test_the_garbage_collector_is_frozen_while_reporting_and_handed_back(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest())
    recorder = PhaseRecorder()
    assert gc.get_freeze_count() == 0
    run(project, plugins=(recorder,)).assert_outcomes(passed=HEADERS * len(PATHS))
    assert recorder.frozen[0] == 0  # the first item loaded the app and sent a request: nothing frozen yet
    assert all(count > 0 for count in recorder.frozen[2:])  # the app has answered: frozen from then on
    assert gc.get_freeze_count() == 0


def test_a_freeze_of_the_users_is_left_as_it_was(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest())
    project.pytester.makeconftest("import gc\n\ndef pytest_configure(config):\n    gc.freeze()\n")
    try:
        run(project).assert_outcomes(passed=HEADERS * len(PATHS))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


# -- the pytest side: pytest's public API only, no import cycle -------------

PYTEST_SIDE = ("plugin", "items", "heap", "reporting")
"""The modules that import pytest; nothing else in the package does."""
PACKAGE = Path(__file__).resolve().parent.parent / "pytest_prod_defaults"


def _private_uses(path: Path) -> list[str]:
    """What ``path`` reaches of pytest's (or pluggy's) private side: an
    import of ``_pytest``, an ``_``-name read from anything but ``self`` or
    ``cls``, an ``_``-keyword argument, a module name ``_pytest...`` written
    as a string (recognising pytest's plugins by module)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [alias.name for alias in node.names]
            if isinstance(node, ast.ImportFrom) and node.module:
                modules.append(node.module)
            found += [f"import {module}" for module in modules if module.startswith(("_pytest", "pluggy._"))]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append(ast.unparse(node))
        elif isinstance(node, ast.keyword) and node.arg is not None and node.arg.startswith("_"):
            found.append(f"{node.arg}=")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("_pytest"):
            found.append(repr(node.value))
    return [f"{path.name}:{use}" for use in found]


def test_the_pytest_side_uses_only_pytests_public_api() -> None:
    assert [use for name in PYTEST_SIDE for use in _private_uses(PACKAGE / f"{name}.py")] == []


def _imported_siblings(path: Path) -> set[str]:
    """The package's modules ``path`` imports, wherever the import stands
    (inside a function, under ``TYPE_CHECKING``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "pytest_prod_defaults":
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pytest_prod_defaults."):
            found.add(node.module.split(".")[1])  # type: ignore[union-attr]
    return found


def test_the_pytest_side_imports_no_cycle() -> None:
    imports = {name: _imported_siblings(PACKAGE / f"{name}.py") & set(PYTEST_SIDE) for name in PYTEST_SIDE}

    def cycle_from(module: str, path: tuple[str, ...]) -> tuple[str, ...] | None:
        if module in path:
            return (*path[path.index(module) :], module)
        return next((found for nxt in imports[module] if (found := cycle_from(nxt, (*path, module)))), None)

    assert {name: cycle_from(name, ()) for name in PYTEST_SIDE} == dict.fromkeys(PYTEST_SIDE)
    # The entry module is the one that imports the others (lazily).
    assert imports["plugin"] == {"items", "heap", "reporting"}


UNRAISABLE_TEST = """
    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            raise RuntimeError("raised in __del__")


    def test_leaves_a_cycle_behind():
        Cycle()
"""


def test_an_unraisable_exception_after_the_defaults_is_still_reported_by_pytest(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest())
    project.pytester.makepyfile(test_leak=UNRAISABLE_TEST)
    # In a child process: the warning filters of this suite would turn the
    # warning into an error. Without hypothesis's plugin: its lazy import at
    # the terminal summary compiles code, and CPython 3.11 fails that compile
    # if the cycle's finalizer runs inside it, with or without this plugin.
    options = ("-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:hypothesispytest")
    plain = project.pytester.runpytest_subprocess(*options)
    result = project.pytester.runpytest_subprocess("--check-defaults", *options)
    plain.assert_outcomes(passed=1)
    result.assert_outcomes(passed=HEADERS * len(PATHS) + 1)
    # As pytest reports it without --check-defaults, at the end of the run:
    # a PytestUnraisableExceptionWarning (pytest 8.4 on), or Python's own
    # "Exception ignored in" (pytest 8.0 leaves the collection after the run to it).
    assert "RuntimeError: raised in __del__" in unraisable_report(plain)
    assert unraisable_report(result) == unraisable_report(plain)


def unraisable_report(result: pytest.RunResult) -> list[str]:
    """The lines of stderr that report the finalizer's exception, addresses
    masked."""
    return [
        re.sub(r"0x[0-9a-f]+", "0x...", line)
        for line in result.stderr.lines
        if "Cycle.__del__" in line or "raised in __del__" in line
    ]


# -- checks that declare their reads: a read-only view, each check run once ---

# A third-party kind noting every run of each check: the first item of each
# path fetches it, the others read what is fetched; one drifts and one finds
# something.
COUNTED_KIND = """
    from pathlib import Path

    from pytest_prod_defaults import BaseKind, Check, Drift, Entry, Finding, ProbeRequest, Reads


    class CountedEntry(Entry):
        path: str
        header: str
        value: str
        finds: bool = False


    class CountedKind(BaseKind):
        key = "counted"
        many = True
        model = CountedEntry

        def checks(self, entry, manifest):
            def run(target):
                with Path("runs.log").open("a") as runs:
                    runs.write(entry.name + "\\n")
                live = target.response(ProbeRequest(entry.path)).first(entry.header)
                if live != entry.value:
                    raise Drift(f"counted {entry.name}", repr(entry.value), repr(live))
                return [Finding(f"counted {entry.name} found", ("something",))] if entry.finds else []

            yield Check("counted", entry.name, None, entry, run, READS)


    def pytest_prod_defaults_kinds():
        return [CountedKind()]
"""
COUNTED = [
    ("first", "/a", "X-Default-0", "value-0", False),  # GETs /a
    ("cached", "/a", "X-Default-1", "value-1", False),
    ("drifts", "/a", "X-Default-2", "drifted", False),
    ("finds", "/a", "X-Default-3", "value-3", True),
    ("fetches-b", "/b", "X-Default-0", "value-0", False),  # GETs /b
    ("cached-b", "/b", "X-Default-1", "value-1", False),
    ("last", "/b", "X-Default-4", "value-4", False),
]


def counted_project(project: Project, reads: str) -> None:
    project.app(APP)
    project.pytester.makeconftest(COUNTED_KIND.replace("READS", reads))
    lines = ["[target]", 'app = "app:app"', ""]
    for name, path, header, value, finds in COUNTED:
        lines += ["[[counted]]", f'name = "{name}"', f'path = "{path}"', f'header = "{header}"', f'value = "{value}"']
        lines += ["finds = true", ""] if finds else [""]
    project.manifest("\n".join(lines) + QUIET)


def counted_runs(project: Project) -> list[str]:
    return (project.path / "runs.log").read_text().splitlines()


@pytest.mark.parametrize(
    "reads",
    ["reads=Reads(ProbeRequest(entry.path))", "reads_only_target=True", "line=None"],
    ids=["declared", "the-older-spelling", "nothing-declared"],
)
def test_no_check_runs_twice(project: Project, reads: str) -> None:
    counted_project(project, reads)
    recorder = PhaseRecorder()
    result = run(project, "-W", "default::pytest.PytestWarning", plugins=(recorder,))
    result.assert_outcomes(passed=len(COUNTED) - 1, failed=1, warnings=1)
    result.stdout.fnmatch_lines(["*counted drifts: documented 'drifted', live 'value-2'*"])
    result.stdout.fnmatch_lines(["*counted finds found: something*"])
    # Each check ran exactly once, in manifest order, each item through
    # pytest's protocol; each distinct request was sent once.
    assert counted_runs(project) == [name for name, *_ in COUNTED]
    assert recorder.setup == [f"defaults.toml::counted:{name}" for name, *_ in COUNTED]
    assert requests_sent(project) == ["GET /a", "GET /b"]


def test_a_check_that_reads_what_it_does_not_declare_fails_saying_so(project: Project) -> None:
    # Handed a view of /b alone, the check cannot read /a: not even once /a
    # has been fetched for the item before it.
    counted_project(project, 'reads=Reads(ProbeRequest("/b"))')
    result = run(project)
    result.assert_outcomes(passed=3, failed=4)
    result.stdout.fnmatch_lines(
        ["*UndeclaredRead: the check read the response to GET /a, which its Check.reads does not declare"]
    )
    assert requests_sent(project) == ["GET /b"]


# -- the pytest-free side: the view a check reads through -------------------


def open_run(project: Project, text: str) -> DefaultsRun:
    project.manifest(text)
    kinds = ordered_kinds([module.pytest_prod_defaults_kinds() for module in builtin_kind_modules()])
    return DefaultsRun.open(project.path / "defaults.toml", kinds)


def requests_sent(project: Project) -> list[str]:
    log = project.path / "requests.log"
    return log.read_text().splitlines() if log.exists() else []


def test_a_check_reads_a_view_of_what_it_declares_fetched_once_for_every_check(project: Project) -> None:
    project.app(APP)
    run_ = open_run(project, manifest({1: "drifted"}))
    try:
        by_id = {check.id: check for check in run_.checks()}
        holding, drifting = by_id["header:X-Default-0[/a]"], by_id["header:X-Default-1[/a]"]
        on_b = by_id["header:X-Default-0[/b]"]
        assert holding.reads == Reads(ProbeRequest("/a"))
        assert holding.reads_only_target is True
        # Nothing fetched yet: the app is not even imported.
        assert run_.target._app is None
        assert requests_sent(project) == []
        assert run_.run_check(holding) == []  # imports, starts, GETs /a
        assert requests_sent(project) == ["GET /a"]
        with pytest.raises(Drift, match="X-Default-1 on /a"):
            run_.run_check(drifting)  # the same response: nothing sent
        view = run_.target.view(Reads(ProbeRequest("/a")))
        assert view.response(ProbeRequest("/a")) is run_.target.response(ProbeRequest("/a"))
        assert requests_sent(project) == ["GET /a"]
        assert run_.run_check(on_b) == []
        assert requests_sent(project) == ["GET /a", "GET /b"]
    finally:
        run_.close()


def test_only_a_check_that_may_run_the_app_is_named_to_the_crash_witness(project: Project) -> None:
    # The witness names the check running when the process ends abruptly:
    # one judged from responses already here runs none of the app's code.
    project.app(APP)
    text = manifest() + '\n[[upload]]\nname = "avatar"\npath = "/upload"\nmax_bytes = 100\n'
    run_ = open_run(project, text)
    try:
        by_id = {check.id: check for check in run_.checks()}
        first, second = by_id["header:X-Default-0[/a]"], by_id["header:X-Default-1[/a]"]
        upload = next(check for check in run_.checks() if check.kind == "upload")
        assert run_.reaches_the_app(first) and run_.reaches_the_app(second)
        run_.run_check(first)  # GET /a
        assert not run_.reaches_the_app(second)
        assert run_.reaches_the_app(by_id["header:X-Default-0[/b]"])  # /b not fetched yet
        assert run_.reaches_the_app(upload)  # sends its own requests, every time
        assert not run_.target.holds(Reads(ProbeRequest("/a"), objects=["app:settings"]))
        assert run_.target.holds(Reads(ProbeRequest("/a"), app=True))  # the app started with the GET
    finally:
        run_.close()


def test_checks_that_send_requests_declare_no_reads_and_are_handed_the_target(project: Project) -> None:
    project.app(APP)
    text = manifest() + '\n[[upload]]\nname = "avatar"\npath = "/upload"\nmax_bytes = 100\n'
    run_ = open_run(project, text)
    try:
        upload = next(check for check in run_.checks() if check.kind == "upload")
        assert upload.reads is None
        assert upload.reads_only_target is False
        assert run_.run_check(upload) == []
        assert requests_sent(project) == ["POST /upload"]
    finally:
        run_.close()


def test_a_view_reads_only_what_its_check_declares_and_never_does_io(project: Project) -> None:
    project.app(APP)
    run_ = open_run(project, manifest())
    target = run_.target
    try:
        view = target.view(Reads())  # declares nothing: holds nothing, fetches nothing
        with pytest.raises(UndeclaredRead, match="application object"):
            view.app()
        with pytest.raises(UndeclaredRead, match="GET /a"):
            view.response(ProbeRequest("/a"))
        with pytest.raises(UndeclaredRead, match="sends GET /a"):
            view.fetch(ProbeRequest("/a"))
        with pytest.raises(UndeclaredRead, match="sends POST /upload"):
            view.send_body(ProbeRequest("/upload", "POST"), lambda: _no_chunks())
        with pytest.raises(UndeclaredRead, match="'app:app'"):
            view.load("app:app")
        assert target._app is None
    finally:
        run_.close()
    assert requests_sent(project) == []


def test_a_declared_read_that_fails_fails_the_check_where_it_reads_it(project: Project) -> None:
    project.app(APP)
    run_ = open_run(project, manifest().replace('app = "app:app"', 'app = "no_such_module:app"'))
    try:
        view = run_.target.view(Reads(ProbeRequest("/a"), app=True))
        for read in (lambda: view.response(ProbeRequest("/a")), view.app, view.app):
            with pytest.raises(TargetUnavailable, match="cannot import 'no_such_module'"):
                read()
    finally:
        run_.close()


async def _no_chunks() -> Any:
    return
    yield
