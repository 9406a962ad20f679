"""Under pytest-xdist (``-n 2``) the same items run with the same results as
in a serial run, and the controller writes each report once, with every
worker's results."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from conftest import Project

APP = """
    from fastapi import FastAPI, Response

    app = FastAPI(debug=True)

    @app.get("/{page}")
    @app.get("/")
    def page(response: Response):
        response.headers["Strict-Transport-Security"] = "max-age=300"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        return {}
"""

MANIFEST = """
    version = 1

    [service]
    name = "shop-api"
    owner = "platform-team"

    [target]
    app = "app:app"
    paths = ["/", "/a", "/b", "/c", "/d", "/e"]

    [[header]]
    name = "Strict-Transport-Security"
    equals = "max-age=63072000"
    why = "browsers must only ever speak HTTPS to us"

    [[header]]
    name = "X-Content-Type-Options"
    equals = "nosniff"

    [[header]]
    name = "X-Frame-Options"
    equals = "DENY"

    [[header]]
    name = "Content-Security-Policy"
    equals = "default-src 'self'"
    skip = "CSP rolls out next sprint"

    [settings]
    debug = false
    docs_url = "/docs"

    [undocumented]
    headers = "off"
    settings = "off"
    middleware = "off"
    config = "off"
"""

ITEMS = 6 * 4 + 2
SUMMARY = "production defaults: 26 checked, 7 drifted, 0 undocumented, 6 waived, 0 skipped"
SHORT_SUMMARY_LINE = re.compile(r"^(PASSED|FAILED) (defaults\.toml::\S+)")


def short_summary(result: pytest.RunResult) -> list[tuple[str, str]]:
    """(outcome, node id) of each passed and failed item, from ``-rA``."""
    found = (SHORT_SUMMARY_LINE.match(line) for line in result.stdout.lines)
    return sorted((match[1], match[2]) for match in found if match)


def run_with_reports(project: Project, name: str, *args: str) -> tuple[pytest.RunResult, dict[str, Any], str]:
    result = project.run(
        "--defaults-report", f"{name}.json", "--defaults-report", f"{name}.md", "--junitxml", f"{name}.xml", *args
    )  # fmt: skip
    document = json.loads((project.path / f"{name}.json").read_text(encoding="utf-8"))
    return result, document, (project.path / f"{name}.md").read_text(encoding="utf-8")


def test_two_workers_give_the_serial_items_results_and_reports(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project.app(APP)
    project.manifest(MANIFEST)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    serial, serial_document, serial_markdown = run_with_reports(project, "serial")

    step_summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    parallel, parallel_document, parallel_markdown = run_with_reports(project, "parallel", "-n", "2")

    for result in (serial, parallel):
        assert result.ret == 1
        result.assert_outcomes(passed=13, failed=7, skipped=6)
        result.stdout.fnmatch_lines([SUMMARY, "report written: *.json", "report written: *.md"])
    parallel.stdout.fnmatch_lines(["created: 2/2 workers"])
    assert short_summary(parallel) == short_summary(serial)
    assert len(short_summary(serial)) == ITEMS - 6

    # The controller writes every worker's results once, in manifest order.
    assert parallel_document == serial_document
    assert parallel_markdown == serial_markdown
    assert parallel_document["summary"]["checked"] == ITEMS
    assert [r["id"] for r in parallel_document["results"]][:3] == [
        "header:Strict-Transport-Security[/]",
        "header:Strict-Transport-Security[/a]",
        "header:Strict-Transport-Security[/b]",
    ]
    appended = step_summary.read_text(encoding="utf-8")
    assert appended == parallel_markdown + "\n"
    assert appended.count("## ❌ Production defaults of shop-api: 7 drifted") == 1


def test_junit_properties_come_back_from_the_workers(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    project.app(APP)
    project.manifest(MANIFEST)
    result, _, _ = run_with_reports(project, "parallel", "-n", "2")
    assert result.ret == 1
    cases = {case.attrib["name"]: case for case in ET.parse(project.path / "parallel.xml").iter("testcase")}
    assert len(cases) == ITEMS
    properties = {prop.attrib["name"]: prop.attrib["value"] for prop in cases["settings:debug"].iter("property")}
    assert properties == {"kind": "settings", "documented": "false", "live": "true"}
    hsts = {
        prop.attrib["name"]: prop.attrib["value"]
        for prop in cases["header:Strict-Transport-Security[/e]"].iter("property")
    }
    assert hsts == {"kind": "header", "documented": "'max-age=63072000'", "live": "'max-age=300'"}
