"""One item per documented default, and reports whose verdict is pytest's:
whatever way a run ends, the JSON report's ``ok``, the Markdown headline and
the step summary agree with pytest's exit status."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest
from conftest import QUIET, Project

APP = """
    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.get("/")
    def index():
        return {"ok": True}

    @app.middleware("http")
    async def security_headers(request, call_next):
        response = await call_next(request)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/login")
    def login(response: Response):
        response.set_cookie("session", "opaque", secure=True, httponly=True, path="/")
        return {"ok": True}

    @app.get("/refresh")
    def refresh(response: Response):
        response.set_cookie("session", "opaque", secure=False, httponly=True, path="/")
        return {"ok": True}
"""

HOLDS = """
    [[header]]
    name = "X-Frame-Options"
    equals = "DENY"

    [[header]]
    name = "X-Content-Type-Options"
    equals = "nosniff"
"""

DOCUMENTS_ONE = """
    [[header]]
    name = "X-Frame-Options"
    equals = "DENY"
"""
"""X-Content-Type-Options is then undocumented."""

DRIFTS = """
    [[header]]
    name = "X-Frame-Options"
    equals = "SAMEORIGIN"
"""


def manifest(entries: str, tail: str = QUIET) -> str:
    return f"""
        [service]
        name = "shop-api"

        [target]
        app = "app:app"
        timeout = 2
        {textwrap.dedent(entries)}
        {tail}
    """


def reports(project: Project) -> tuple[dict[str, Any], str, str]:
    document = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    markdown = (project.path / "r.md").read_text(encoding="utf-8")
    summary = (project.path / "step-summary.md").read_text(encoding="utf-8")
    return document, markdown, summary


def test_two_entries_on_one_header_and_path_are_two_items_and_the_report_counts_both(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest(HOLDS + DRIFTS))
    result = project.run("--defaults-report", "r.json")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::header:X-Frame-Options[[]/[]]",
            "FAILED defaults.toml::header:X-Frame-Options:2[[]/[]]*",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(["*_ header:X-Frame-Options:2[[]/[]] _*", "header X-Frame-Options on /: documented *"])
    document = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    assert document["ok"] is False
    assert [(r["id"], r["outcome"]) for r in document["results"]] == [
        ("header:X-Frame-Options[/]", "held"),
        ("header:X-Content-Type-Options[/]", "held"),
        ("header:X-Frame-Options:2[/]", "drifted"),
    ]
    assert document["results"][2]["manifest"] == "defaults.toml:17"


def test_one_cookie_set_by_two_paths_is_documented_by_two_entries_with_their_own_items(project: Project) -> None:
    project.app(APP)
    project.manifest(
        manifest(
            """
            [[cookie]]
            name = "session"
            path = "/login"
            secure = true

            [[cookie]]
            name = "session"
            path = "/refresh"
            secure = true
            """
        )
    )
    result = project.run("--defaults-report", "r.json")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::cookie:session[[]secure[]]",
            "PASSED defaults.toml::cookie:session:2[[]set[]]",
            "FAILED defaults.toml::cookie:session:2[[]secure[]]*",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(["*_ cookie:session:2[[]secure[]] _*", "cookie session Secure: documented *"])
    # The id selects exactly that entry's item, as pytest's -k and --lf do.
    only = project.run("-k", "session:2")
    only.assert_outcomes(passed=1, failed=1, deselected=2)


# How a run can end, and what pytest's exit status is then.
SCENARIOS: dict[str, tuple[str, dict[str, str], tuple[str, ...], int]] = {
    "every default holds": (manifest(HOLDS), {}, (), 0),
    "a drift": (manifest(HOLDS + DRIFTS), {}, (), 1),
    "an undocumented header under fail": (
        manifest(DOCUMENTS_ONE, '[undocumented]\nheaders = "fail"\nsettings = "off"\nmiddleware = "off"'),
        {},
        (),
        1,
    ),
    "an undocumented header under warn": (
        manifest(DOCUMENTS_ONE, '[undocumented]\nheaders = "warn"\nsettings = "off"\nmiddleware = "off"'),
        {},
        ("-W", "default::pytest.PytestWarning"),  # this suite makes warnings errors in-process
        0,
    ),
    "a waiver": (manifest(DRIFTS.rstrip() + '\n    skip = "next sprint"\n'), {}, (), 0),
    "an app that does not import": (manifest(HOLDS).replace("app:app", "missing_module:app"), {}, (), 1),
    "a test outside the manifest fails": (
        manifest(HOLDS),
        {"test_unit.py": "def test_arithmetic():\n    assert 1 + 1 == 3\n"},
        (),
        1,
    ),
    "a conftest hook fails the setup of a default": (
        manifest(HOLDS),
        {
            "conftest.py": """
                def pytest_runtest_setup(item):
                    if "Content-Type" in item.name:
                        raise RuntimeError("the staging proxy is down")
            """
        },
        (),
        1,
    ),
    "a teardown fails after the default held": (
        manifest(HOLDS),
        {
            "conftest.py": """
                def pytest_runtest_teardown(item):
                    if "Frame" in item.name:
                        raise RuntimeError("could not release the lock")
            """
        },
        (),
        1,
    ),
    "the run is interrupted": (
        manifest(HOLDS),
        {
            "conftest.py": """
                def pytest_runtest_setup(item):
                    if "Content-Type" in item.name:
                        raise KeyboardInterrupt
            """
        },
        (),
        2,
    ),
    "stopped at the first failure with -x": (manifest(DRIFTS + HOLDS), {}, ("-x",), 1),
    "nothing to check": (manifest(""), {}, (), 5),
    "two xdist workers and a drift": (manifest(HOLDS + DRIFTS), {}, ("-n", "2"), 1),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_reports_verdict_is_pytests_exit_status(
    project: Project, scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml, files, args, exit_status = SCENARIOS[scenario]
    project.app(APP)
    project.manifest(toml)
    for name, source in files.items():
        (project.path / name).write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project.path / "step-summary.md"))
    if "-n" in args or "KeyboardInterrupt" in files.get("conftest.py", ""):
        # xdist, and an interrupt, are only whole in a process of their own
        result = project.run_subprocess("--defaults-report", "r.json", "--defaults-report", "r.md", *args)
    else:
        result = project.run("--defaults-report", "r.json", "--defaults-report", "r.md", *args)
    assert result.ret == exit_status, result.stdout.str()
    document, markdown, summary = reports(project)
    assert document["exit_status"] == exit_status
    assert document["ok"] is (exit_status == 0)
    for text in (markdown, summary):
        headline = text.splitlines()[0]
        assert headline.startswith("## ✅" if exit_status == 0 else "## ❌"), headline
    if exit_status and not any(
        r["outcome"] in ("drifted", "undocumented", "unavailable", "error") for r in document["results"]
    ):
        assert document["run_failure"].startswith(f"pytest exited {exit_status}: "), document["run_failure"]
        assert document["run_failure"] in markdown.splitlines()[0]
    else:
        assert document["run_failure"] is None


def test_a_default_failed_by_a_hook_is_an_error_in_the_report_with_its_cause(project: Project) -> None:
    project.app(APP)
    project.manifest(manifest(HOLDS))
    (project.path / "conftest.py").write_text(
        textwrap.dedent(SCENARIOS["a conftest hook fails the setup of a default"][1]["conftest.py"]), encoding="utf-8"
    )
    result = project.run("--defaults-report", "r.json")
    result.assert_outcomes(passed=1, errors=1)
    document = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    failed = [r for r in document["results"] if r["outcome"] != "held"]
    assert [(r["id"], r["outcome"]) for r in failed] == [("header:X-Content-Type-Options[/]", "error")]
    assert failed[0]["note"] == "failed in setup: RuntimeError: the staging proxy is down"
    assert failed[0]["manifest"] == "defaults.toml:13"
