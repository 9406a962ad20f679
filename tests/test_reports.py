"""``--defaults-report`` (Markdown and JSON), GitHub's step summary, JUnit
properties, the terminal summary, exit codes, and the example workflow."""

from __future__ import annotations

import json
import shlex
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import QUIET, Project

ROOT = Path(__file__).resolve().parents[1]
SESSION_SECRET = "SESSION-SECRET-0451"
TOKEN = "tok-7f3a9c-never-shown"


SHOP_APP = f"""
    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.get("/")
    def index(response: Response):
        response.headers["Strict-Transport-Security"] = "max-age=300"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.set_cookie("session", "{SESSION_SECRET}")
        return {{}}
"""

SHOP_MANIFEST = (
    """
    version = 1

    [service]
    name = "shop-api"
    owner = "platform-team"

    [target]
    app = "app:app"
    headers = { Authorization = "Bearer ${SHOP_TOKEN}" }

    [[header]]
    name = "Strict-Transport-Security"
    equals = "max-age=63072000; includeSubDomains"
    why = "browsers must only ever speak HTTPS to us"
    rollback = "send max-age=0 for one max-age period before removing"

    [[header]]
    name = "X-Content-Type-Options"
    equals = "nosniff"

    [[header]]
    name = "Set-Cookie"
    absent = true
    why = "the home page is public: no session"
    owner = "identity-team"

    [[header]]
    name = "Content-Security-Policy"
    equals = "default-src 'self'"
    skip = "CSP rolls out next sprint"
    until = 2999-01-01
"""
    + QUIET
)

HOLDING_APP = """
    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.get("/")
    def index(response: Response):
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        return {}
"""

HOLDING_MANIFEST = (
    """
    version = 1

    [service]
    name = "shop-api"

    [target]
    app = "app:app"

    [[header]]
    name = "X-Content-Type-Options"
    equals = "nosniff"

    [[header]]
    name = "X-Frame-Options"
    equals = "DENY"
"""
    + QUIET
)


def line_of(toml: str, needle: str, occurrence: int = 1) -> int:
    """The line of the ``occurrence``-th ``needle`` in the written manifest."""
    lines = textwrap.dedent(toml).splitlines()
    found = [number for number, line in enumerate(lines, start=1) if line.strip() == needle]
    return found[occurrence - 1]


def junit_properties(path: Path) -> dict[str, dict[str, str]]:
    """Each testcase's properties, by testcase name."""
    tree = ET.parse(path)
    return {
        case.attrib["name"]: {prop.attrib["name"]: prop.attrib["value"] for prop in case.iter("property")}
        for case in tree.iter("testcase")
    }


@pytest.fixture(autouse=True)
def outside_github(monkeypatch: pytest.MonkeyPatch) -> None:
    """These sessions must not add to a real GitHub job's summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def shop(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("SHOP_TOKEN", TOKEN)
    project.app(SHOP_APP)
    project.manifest(SHOP_MANIFEST)
    return project


def test_a_drifted_run_writes_markdown_json_and_junit_with_documented_and_live_values(shop: Project) -> None:
    result = shop.run(
        "--defaults-report", "reports/defaults.md", "--defaults-report", "reports/defaults.json",
        "--junitxml", "junit.xml",
    )  # fmt: skip
    assert result.ret == 1
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*= production defaults =*",
            "production defaults: 4 checked, 2 drifted, 0 undocumented, 1 waived, 0 skipped",
            "report written: reports/defaults.md",
            "report written: reports/defaults.json",
        ]
    )
    hsts_line = line_of(SHOP_MANIFEST, "[[header]]", 1)
    cookie_line = line_of(SHOP_MANIFEST, "[[header]]", 3)
    csp_line = line_of(SHOP_MANIFEST, "[[header]]", 4)

    markdown = (shop.path / "reports" / "defaults.md").read_text(encoding="utf-8")
    assert markdown.startswith("## ❌ Production defaults of shop-api: 2 drifted\n")
    assert "| default | documented | live | why | owner | rollback | manifest |" in markdown
    assert (
        "| `header:Strict-Transport-Security[/]` | 'max-age=63072000; includeSubDomains' "
        "| 'max-age=300'<br>(GET / answered 200) | browsers must only ever speak HTTPS to us | platform-team "
        f"| send max-age=0 for one max-age period before removing | `defaults.toml:{hsts_line}` |"
    ) in markdown
    assert (
        "| `header:Set-Cookie[/]` | absent | \\<redacted\\><br>(GET / answered 200) "
        f"| the home page is public: no session | identity-team |  | `defaults.toml:{cookie_line}` |"
    ) in markdown
    assert (
        "| `header:Content-Security-Policy[/]` | CSP rolls out next sprint (waived until 2999-01-01) "
        f"| platform-team | `defaults.toml:{csp_line}` |"
    ) in markdown
    sections = [line for line in markdown.splitlines() if line.startswith("### ")]
    assert sections == ["### Drifted (2)", "### Waived (1)", "### Held (1)"]

    document = json.loads((shop.path / "reports" / "defaults.json").read_text(encoding="utf-8"))
    assert document["format"] == "pytest-prod-defaults/report"
    assert document["version"] == 1
    assert (document["service"], document["manifest"], document["target"]) == (
        "shop-api",
        "defaults.toml",
        {"mode": "asgi", "url": None},
    )
    assert document["ok"] is False
    assert document["summary"] == {
        "checked": 4, "held": 1, "drifted": 2, "undocumented": 0, "warned": 0,
        "waived": 1, "skipped": 0, "unavailable": 0, "error": 0,
    }  # fmt: skip
    results = {r["id"]: r for r in document["results"]}
    assert [(r["id"], r["outcome"]) for r in document["results"]] == [
        ("header:Strict-Transport-Security[/]", "drifted"),
        ("header:X-Content-Type-Options[/]", "held"),
        ("header:Set-Cookie[/]", "drifted"),
        ("header:Content-Security-Policy[/]", "waived"),
    ]
    hsts = results["header:Strict-Transport-Security[/]"]
    assert (hsts["documented"], hsts["live"], hsts["manifest"]) == (
        "'max-age=63072000; includeSubDomains'",
        "'max-age=300'",
        f"defaults.toml:{hsts_line}",
    )
    assert (hsts["why"], hsts["owner"], hsts["note"]) == (
        "browsers must only ever speak HTTPS to us",
        "platform-team",
        "GET / answered 200",
    )
    assert results["header:Set-Cookie[/]"]["live"] == "<redacted>"
    assert results["header:Content-Security-Policy[/]"]["waiver"] == "CSP rolls out next sprint"

    properties = junit_properties(shop.path / "junit.xml")
    assert properties["header:Strict-Transport-Security[/]"] == {
        "kind": "header",
        "documented": "'max-age=63072000; includeSubDomains'",
        "live": "'max-age=300'",
    }
    assert properties["header:Set-Cookie[/]"] == {"kind": "header", "documented": "absent", "live": "<redacted>"}
    assert properties["header:X-Content-Type-Options[/]"] == {"kind": "header"}


def test_no_secret_reaches_a_report_junit_or_the_terminal(shop: Project) -> None:
    result = shop.run("--defaults-report", "r.md", "--defaults-report", "r.json", "--junitxml", "junit.xml")
    assert result.ret == 1
    outputs = {
        "terminal": result.stdout.str() + result.stderr.str(),
        **{name: (shop.path / name).read_text(encoding="utf-8") for name in ("r.md", "r.json", "junit.xml")},
    }
    assert all("redacted" in text for name, text in outputs.items() if name != "terminal")
    leaks = [(name, secret) for name, text in outputs.items() for secret in (SESSION_SECRET, TOKEN) if secret in text]
    assert leaks == []


def test_markdown_cells_escape_pipes_and_newlines_and_many_held_defaults_are_collapsed(project: Project) -> None:
    project.app(
        """
        async def app(scope, receive, send):
            assert scope["type"] == "http"
            headers = [(b"x-frame-options", b"DENY"), (b"content-type", b"text/plain")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"ok"})
        """
    )
    paths = ", ".join(f'"/page/{n}"' for n in range(11))
    project.manifest(
        textwrap.dedent(f"""
        version = 1

        [target]
        app = "app:app"
        lifespan = "off"

        [[header]]
        name = "X-Frame-Options"
        equals = "DENY"
        paths = [{paths}]

        [[header]]
        name = "X-Frame-Options"
        equals = "SAMEORIGIN | DENY"
        paths = ["/"]
        why = '''clickjacking:
        no site may frame ours'''
        owner = "web <security> & *platform*"

        [settings]
        debug = false
        """)
        + textwrap.dedent(QUIET)
    )
    result = project.run("--defaults-report", "report.md")
    assert result.ret == 1
    result.assert_outcomes(passed=11, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["production defaults: 13 checked, 1 drifted, 0 undocumented, 0 waived, 1 skipped"])
    markdown = (project.path / "report.md").read_text(encoding="utf-8")
    assert markdown.startswith("## ❌ Production defaults: 1 drifted\n")
    assert (
        "| `header:X-Frame-Options[/]` | 'SAMEORIGIN \\| DENY' | 'DENY'<br>(GET / answered 200) "
        "| clickjacking:<br>no site may frame ours | web \\<security\\> \\& \\*platform\\* |  |"
    ) in markdown
    assert "| `settings:debug` | settings need a FastAPI or Starlette application; " in markdown
    sections = [line for line in markdown.splitlines() if line.startswith(("### ", "<summary>"))]
    assert sections == ["### Drifted (1)", "### Skipped (1)", "<summary>Held (11)</summary>"]
    held = markdown.split("<summary>Held (11)</summary>\n\n", 1)[1]
    assert held.splitlines()[2].startswith("| `header:X-Frame-Options[/page/0]` | ")
    assert held.rstrip().endswith("</details>")
    # every table row has as many cells as its header: no pipe or newline broke one
    for block in markdown.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        widths = {len(row.replace("\\|", "").split("|")) for row in rows}
        assert len(widths) <= 1, block


def test_warn_findings_are_listed_in_the_one_summary_section_and_the_report(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI, Response

        app = FastAPI()

        @app.get("/")
        def index(response: Response):
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["X-Powered-By"] = "FastAPI"
            return {}
        """
    )
    project.manifest(
        """
        version = 1

        [target]
        app = "app:app"

        [[header]]
        name = "X-Frame-Options"
        equals = "DENY"

        [undocumented]
        headers = "warn"
        settings = "off"
        middleware = "off"
        config = "off"
        """
    )
    result = project.run("-W", "default::pytest.PytestWarning", "--defaults-report", "report.md")
    assert result.ret == 0
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*= production defaults =*",
            "production defaults: 2 checked, 0 drifted, 0 undocumented, 0 waived, 0 skipped, 1 warned",
            "undocumented production defaults (warn):",
            "undocumented:headers[[]/[]]: response headers on / that no entry documents *: x-powered-by",
            "report written: report.md",
        ]
    )
    titles = [line for line in result.stdout.lines if line.startswith("=") and "production defaults" in line]
    assert len(titles) == 1
    markdown = (project.path / "report.md").read_text(encoding="utf-8")
    assert markdown.startswith("## ✅ Production defaults: 2 of 2 documented defaults hold\n")
    assert "### Undocumented, reported under a warn policy (1)" in markdown
    assert "| `undocumented:headers[/]` | response headers on / that no entry documents " in markdown


def test_the_markdown_is_appended_to_the_github_step_summary(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("## tests\n\nall green\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    project.app(HOLDING_APP)
    project.manifest(HOLDING_MANIFEST)

    result = project.run("--defaults-report", "report.json")
    assert result.ret == 0
    appended = summary.read_text(encoding="utf-8")
    assert appended.startswith("## tests\n\nall green\n## ✅ Production defaults of shop-api: 2 of 2 documented")
    assert "| `header:X-Frame-Options[/]` | " in appended
    assert not (project.path / "report.md").exists()

    # Without a report asked for, a run inside a GitHub job leaves the summary alone.
    assert project.run().ret == 0
    assert summary.read_text(encoding="utf-8") == appended


@pytest.mark.parametrize(
    ("app", "manifest", "code", "headline"),
    [
        (HOLDING_APP, HOLDING_MANIFEST, 0, "## ✅ Production defaults of shop-api: 2 of 2 documented defaults hold"),
        (
            HOLDING_APP.replace('"DENY"', '"SAMEORIGIN"'),
            HOLDING_MANIFEST,
            1,
            "## ❌ Production defaults of shop-api: 1 drifted",
        ),
    ],
    ids=["all-hold", "drift"],
)
def test_exit_code_is_0_when_every_default_holds_and_1_on_drift(
    project: Project, app: str, manifest: str, code: int, headline: str
) -> None:
    project.app(app)
    project.manifest(manifest)
    result = project.run("--defaults-report", "report.md")
    assert result.ret == code
    assert (project.path / "report.md").read_text(encoding="utf-8").splitlines()[0] == headline


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ("report.txt", "ERROR: --defaults-report report.txt: a report must end in .md or .json (got '.txt')"),
        ("report", "ERROR: --defaults-report report: a report must end in .md or .json (got 'no extension')"),
        ("existing.md", "ERROR: --defaults-report existing.md: is a directory"),
    ],
)
def test_an_unusable_report_path_is_a_usage_error(project: Project, report: str, message: str) -> None:
    project.app(HOLDING_APP)
    project.manifest(HOLDING_MANIFEST)
    (project.path / "existing.md").mkdir()
    result = project.run("--defaults-report", report)
    assert result.ret == 4
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_an_unusable_manifest_is_exit_4_and_writes_no_report(project: Project) -> None:
    project.app(HOLDING_APP)
    project.manifest(HOLDING_MANIFEST.replace('equals = "DENY"', 'equal = "DENY"'))
    result = project.run("--defaults-report", "report.md", "--defaults-report", "report.json")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*defaults.toml:*header[[]2[]].equal*"])
    assert not (project.path / "report.md").exists()
    assert not (project.path / "report.json").exists()


def test_an_unreachable_url_target_is_reported_without_its_credentials(project: Project) -> None:
    project.manifest(HOLDING_MANIFEST)
    url = "http://ops:hunter2@127.0.0.1:9/base?token=abc123#frag"
    result = project.run("--defaults-url", url, "--defaults-report", "r.md", "--defaults-report", "r.json")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["production defaults: 2 checked, 0 drifted, 0 undocumented, 0 waived, 0 skipped, 2 unavailable"]
    )
    document = json.loads((project.path / "r.json").read_text(encoding="utf-8"))
    assert document["target"] == {"mode": "url", "url": "http://127.0.0.1:9/base"}
    assert {r["outcome"] for r in document["results"]} == {"unavailable"}
    markdown = (project.path / "r.md").read_text(encoding="utf-8")
    assert "### Could not be checked (2)" in markdown
    assert "| `header:X-Frame-Options[/]` | unavailable | GET /: ConnectError" in markdown
    for text in (markdown, json.dumps(document)):
        assert "hunter2" not in text
        assert "abc123" not in text


def test_collect_only_writes_no_report(project: Project) -> None:
    project.app(HOLDING_APP)
    project.manifest(HOLDING_MANIFEST)
    result = project.run("--collect-only", "--defaults-report", "report.md")
    assert result.ret == 0
    assert not (project.path / "report.md").exists()
    assert "production defaults:" not in result.stdout.str()


def _keys(document: dict[str, Any]) -> set[str]:
    result_keys = {key for result in document["results"] for key in result}
    finding_keys = {key for result in document["results"] for f in result["findings"] for key in f}
    return set(document) | set(document["summary"]) | set(document["target"]) | result_keys | finding_keys


def test_docs_describe_every_field_of_the_json_report(project: Project) -> None:
    project.app(HOLDING_APP.replace('"DENY"', '"SAMEORIGIN"\n        response.headers["X-Powered-By"] = "x"'))
    project.manifest(HOLDING_MANIFEST.replace('headers = "off"', 'headers = "warn"'))
    project.run("-W", "default::pytest.PytestWarning", "--defaults-report", "report.json")
    document = json.loads((project.path / "report.json").read_text(encoding="utf-8"))
    assert {result["outcome"] for result in document["results"]} == {"held", "drifted", "warned"}
    docs = (ROOT / "docs" / "report-format.md").read_text(encoding="utf-8")
    undocumented = sorted(key for key in _keys(document) if f"`{key}`" not in docs)
    assert undocumented == []
    assert f"`{document['format']}`" in docs or f'"{document["format"]}"' in docs


# -- the example GitHub Actions workflow ---------------------------------


def workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load((ROOT / "examples" / "github-actions.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def gate_command() -> str:
    """The step that runs the README's command."""
    commands = [
        step["run"]
        for job in workflow()["jobs"].values()
        for step in job["steps"]
        if "run" in step and step["run"].startswith("pytest ")
    ]
    assert len(commands) == 1, commands
    return str(commands[0])


def test_the_example_workflow_is_a_valid_workflow_gating_pull_requests() -> None:
    loaded = workflow()
    # YAML 1.1 reads the key `on` as True.
    triggers = loaded.get("on", loaded.get(True))
    assert isinstance(triggers, dict)
    assert "pull_request" in triggers
    assert isinstance(loaded["name"], str)
    assert loaded["permissions"] == {"contents": "read"}
    for job in loaded["jobs"].values():
        assert isinstance(job["runs-on"], str)
        assert job["steps"]
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step
    args = shlex.split(gate_command())
    assert args[:2] == ["pytest", "--check-defaults"]
    reports = [args[i + 1] for i, arg in enumerate(args) if arg == "--defaults-report"]
    assert any(report.endswith(".md") for report in reports)
    upload = next(
        step for job in loaded["jobs"].values() for step in job["steps"] if "upload-artifact" in step.get("uses", "")
    )
    assert "cancelled()" in upload["if"] or "always()" in upload["if"]
    assert set(reports) <= set(upload["with"]["path"].split())


@pytest.mark.parametrize(("app", "code"), [(HOLDING_APP, 0), (HOLDING_APP.replace('"nosniff"', '"sniff"'), 1)])
def test_the_workflow_command_gates_a_service(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, app: str, code: int
) -> None:
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    project.app(app)
    project.manifest(HOLDING_MANIFEST)
    args = shlex.split(gate_command())
    result = project.pytester.runpytest(*args[1:])
    assert result.ret == code
    reports = [args[i + 1] for i, arg in enumerate(args) if arg == "--defaults-report"]
    assert all((project.path / report).is_file() for report in reports)
    assert summary.read_text(encoding="utf-8").startswith("## ✅" if code == 0 else "## ❌")


def test_past_a_thousand_failures_they_are_written_in_one_pass_unless_a_style_is_asked(project: Project) -> None:
    project.app("from fastapi import FastAPI\napp = FastAPI()\n")
    entries = "".join(f'\n[[header]]\nname = "X-H{n}"\nequals = "v"\n' for n in range(1001))
    project.manifest(f'[target]\napp = "app:app"\n{entries}' + QUIET)
    result = project.run()
    result.assert_outcomes(failed=1001)
    result.stdout.fnmatch_lines(
        [
            "*= FAILURES =*",
            "*_ header:X-H0[[]/[]] _*",
            "header X-H0 on /: documented 'v', live missing (GET / answered 404)",
            "  manifest: defaults.toml:*",
            "*_ header:X-H1000[[]/[]] _*",
            "1001 failures, written above in one pass: *(pass --tb=long for it)",
        ]
    )
    assert result.stdout.str().count("= FAILURES =") == 1  # pytest's own summary stood aside
    asked = project.run("--tb=short")
    asked.assert_outcomes(failed=1001)
    asked.stdout.fnmatch_lines(["*= FAILURES =*", "*_ header:X-H0[[]/[]] _*"])
    asked.stdout.no_fnmatch_line("*written above in one pass*")
