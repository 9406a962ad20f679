"""``prod-defaults`` and ``extends``: ``init --extends`` writes only what
differs from the bases and still passes against the same app (and fails
against a drifted one); ``docs`` shows where inherited defaults come from and
what each base follows; ``docs`` reads a base or a profile; ``profiles``
lists the bundled ones.

``init`` runs in a subprocess, as a user runs it; the checks run in real
pytest sessions through the ``project`` fixture; ``docs`` and ``profiles``
import no app and run in-process through ``main(argv)``."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import CORS_VARY, NEWER_SETTINGS, Project

from pytest_prod_defaults.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def prod_defaults(project: Project, *args: str) -> pytest.RunResult:
    """``python -m pytest_prod_defaults ARGS`` in the project's folder."""
    return project.pytester.run(sys.executable, "-m", "pytest_prod_defaults", *args, timeout=120)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``prod-defaults ARGS`` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    try:
        ret = main(list(args))
    except SystemExit as exc:
        ret = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return ret, captured.out, captured.err


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def read(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def failed_items(result: pytest.RunResult) -> list[str]:
    return sorted(line.split(" - ")[0] for line in result.stdout.lines if line.startswith("FAILED "))


BASELINE = """\
    # The platform team's baseline.

    [profile]
    name = "platform-baseline"
    title = "Security baseline for every HTTP service"
    source = "https://wiki.example.com/platform/http-baseline"
    date = 2026-10-01

    [service]
    owner = "platform-team"

    [[header]]
    name = "strict-transport-security"
    equals = "max-age=63072000; includeSubDomains"
    why = "HTTPS only"

    [[header]]
    name = "X-Frame-Options"
    equals = "DENY"
    why = "no framing"

    [[header]]
    name = "X-Content-Type-Options"
    equals = "nosniff"
    why = "no MIME sniffing"

    [[header]]
    name = "Server"
    absent = true

    [[cookie]]
    name = "session"
    path = "/login"
    secure = true
    http_only = true
    why = "sessions only over HTTPS"

    [settings]
    debug = false
    docs_url = false
    why = "no tracebacks and no API explorer in production"

    [[middleware]]
    class = "CORSMiddleware"
    options = { allow_origins = ["https://orders.example"] }

    [undocumented]
    headers = "fail"
"""

ORDERS_APP = """
    import os

    from fastapi import FastAPI, Response
    from fastapi.middleware.cors import CORSMiddleware

    DRIFT = os.environ.get("APP_DRIFT") == "1"
    app = FastAPI(title="orders", docs_url="/docs", redoc_url=None, openapi_url=None)


    @app.middleware("http")
    async def security_headers(request, call_next):
        response = await call_next(request)
        hsts = "max-age=60" if DRIFT else "max-age=63072000; includeSubDomains"
        response.headers["Strict-Transport-Security"] = hsts
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response


    @app.middleware("http")
    async def served_by(request, call_next):
        response = await call_next(request)
        response.headers["X-Served-By"] = "orders"
        response.headers["Referrer-Policy"] = "strict-origin" if DRIFT else "no-referrer"
        return response


    app.add_middleware(CORSMiddleware, allow_origins=["https://orders.example"])


    @app.get("/")
    def index():
        return {}


    @app.get("/login")
    def login(response: Response):
        response.set_cookie("session", "cookie-value-never-shown", secure=not DRIFT, httponly=True, samesite="lax")
        return {}
"""


@pytest.fixture
def orders(project: Project) -> Project:
    """The orders app, captured against the platform baseline into defaults.toml."""
    write(project.path / "platform" / "baseline.toml", BASELINE)
    project.app(ORDERS_APP)
    result = prod_defaults(project, "init", "--app", "app:app", "--extends", "platform/baseline.toml")
    assert result.ret == 0, result.stderr.str()
    result.stderr.fnmatch_lines(
        [
            f"prod-defaults: wrote defaults.toml: {3 + CORS_VARY} headers, {6 + NEWER_SETTINGS} settings, 2 middleware;"
            " 4 inherited defaults hold, not repeated",
            "  note: [[][[]header[]][]] X-Frame-Options replaces the inherited entry of platform/baseline.toml:17,"
            " which does not hold: header X-Frame-Options on /: documented 'DENY', live 'SAMEORIGIN'*",
            "  note: [[]settings[]] docs_url: replaces platform/baseline.toml:40, which does not hold:"
            " setting docs_url: documented false, live '/docs'",
            "  note: waived with a TODO: the inherited [[][[]header[]][]] X-Content-Type-Options"
            " of platform/baseline.toml:22 does not hold",
        ],
        consecutive=False,
    )
    return project


def test_init_extends_writes_only_what_differs_from_the_bases(orders: Project) -> None:
    document = read(orders.path / "defaults.toml")
    assert document["extends"] == ["platform/baseline.toml"]
    # What holds as inherited is not repeated: HSTS, the session cookie, CORS, debug, the headers policy.
    assert [header["name"] for header in document["header"]] == [
        "X-Frame-Options",
        "X-Served-By",
        "Referrer-Policy",
        *["Vary"] * CORS_VARY,  # CORSMiddleware's Vary: Origin, where it says it to any request
        "X-Content-Type-Options",
    ]
    assert "cookie" not in document
    assert document["header"][0]["equals"] == "SAMEORIGIN"  # replaces the inherited DENY
    waiver = document["header"][-1]
    assert set(waiver) == {"name", "skip"}  # amends the inherited entry: its value stays the base's
    assert waiver["skip"].startswith(
        "TODO: does not hold against the app as captured (header X-Content-Type-Options on /:"
        " documented 'nosniff', live missing"
    )
    settings = document["settings"]
    assert "debug" not in settings
    assert settings["docs_url"] == "/docs"
    assert "why" not in settings  # the base's why is not written over with a TODO
    # Both @app.middleware functions are kept: one identity, two entries of one layer.
    assert [(item["class"], item["options"]) for item in document["middleware"]] == [
        ("BaseHTTPMiddleware", {"dispatch": "app.served_by"}),
        ("BaseHTTPMiddleware", {"dispatch": "app.security_headers"}),
    ]
    assert "headers" not in document["undocumented"]  # the base's "fail" already holds
    assert document["undocumented"]["middleware"] == "fail"
    # The base's cookie path is probed too, so what it answers is documented.
    assert document["target"]["paths"] == ["/", "/login"]

    text = (orders.path / "defaults.toml").read_text(encoding="utf-8")
    assert "cookie-value-never-shown" not in text
    assert (
        "# replaces the inherited entry of platform/baseline.toml:17, which does not hold:"
        " header X-Frame-Options on /: documented 'DENY', live 'SAMEORIGIN' (GET / answered 200)\n"
        "[[header]]\n"
        'name = "X-Frame-Options"\n'
    ) in text
    assert '# inherited from platform/baseline.toml:22\n[[header]]\nname = "X-Content-Type-Options"\n' in text
    assert (
        "# Inherited and holding against the app as captured, so not repeated here:\n"
        "# [[header]] strict-transport-security, [[cookie]] session, [settings] debug,\n"
        "# [[middleware]] CORSMiddleware\n"
    ) in text


def test_init_extends_round_trips_against_the_same_app(orders: Project) -> None:
    result = orders.run()
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=27 + 2 * CORS_VARY + NEWER_SETTINGS, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::header:strict-transport-security[[]/login[]]",
            "PASSED defaults.toml::header:X-Frame-Options[[]/[]]",
            "PASSED defaults.toml::cookie:session[[]secure[]]",
            "PASSED defaults.toml::settings:debug",
            "PASSED defaults.toml::middleware:CORSMiddleware",
            "PASSED defaults.toml::middleware:BaseHTTPMiddleware[[]2[]]",
            "PASSED defaults.toml::undocumented:middleware",
            "SKIPPED [[]2[]] defaults.toml: TODO: does not hold against the app as captured"
            " (header X-Content-Type-Options*",
        ],
        consecutive=False,
    )


def test_init_extends_fails_against_a_drifted_app(orders: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_DRIFT", "1")
    result = orders.run()
    result.assert_outcomes(passed=22 + 2 * CORS_VARY + NEWER_SETTINGS, failed=5, skipped=2)
    assert failed_items(result) == [
        "FAILED defaults.toml::cookie:session[secure]",
        "FAILED defaults.toml::header:Referrer-Policy[/]",
        "FAILED defaults.toml::header:Referrer-Policy[/login]",
        "FAILED defaults.toml::header:strict-transport-security[/]",
        "FAILED defaults.toml::header:strict-transport-security[/login]",
    ]
    result.stdout.fnmatch_lines(
        [
            "header strict-transport-security on /: documented 'max-age=63072000; includeSubDomains',"
            " live 'max-age=60' (GET / answered 200)",
            "  why:      HTTPS only",
            "  owner:    platform-team",
            "  manifest: platform/baseline.toml:12",
        ],
        consecutive=False,
    )


PROFILE_APP = """
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "X-Served-By": "api"}


    @app.get("/")
    def index():
        return JSONResponse({}, headers=HEADERS)
"""


def test_init_extends_a_bundled_profile(project: Project) -> None:
    project.app(PROFILE_APP)
    result = prod_defaults(project, "init", "--app", "app:app", "--extends", "profile:owasp-api")
    assert result.ret == 0, result.stderr.str()
    document = read(project.path / "defaults.toml")
    assert document["extends"] == ["profile:owasp-api"]
    names = [(header["name"], header.get("equals"), "skip" in header) for header in document["header"]]
    assert names == [
        ("X-Served-By", "api", False),
        ("Cache-Control", None, True),
        ("Content-Security-Policy", None, True),
        ("Strict-Transport-Security", None, True),
    ]
    text = (project.path / "defaults.toml").read_text(encoding="utf-8")
    assert '# inherited from profile:owasp-api:13\n[[header]]\nname = "Cache-Control"\n' in text

    checked = project.run()
    assert checked.ret == 0
    checked.assert_outcomes(passed=14 + NEWER_SETTINGS, skipped=3)
    checked.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::header:Content-Type[[]/[]]",
            "PASSED defaults.toml::header:X-Frame-Options[[]/[]]",
            "PASSED defaults.toml::header:X-Served-By[[]/[]]",
        ],
        consecutive=False,
    )


def test_init_extends_bad_references(project: Project) -> None:
    project.app(PROFILE_APP)
    unknown = prod_defaults(project, "init", "--app", "app:app", "--extends", "profile:nope")
    assert unknown.ret == 2
    unknown.stderr.fnmatch_lines(
        [
            "prod-defaults init: error: --extends profile:nope: no such profile; bundled profiles:"
            " profile:observatory, profile:owasp-api, profile:owasp-secure-headers"
        ]
    )
    missing = prod_defaults(project, "init", "--app", "app:app", "--extends", "../platform.toml")
    assert missing.ret == 2
    missing.stderr.fnmatch_lines(
        [
            "prod-defaults init: error: --extends ../platform.toml: no such file *platform.toml"
            " (relative to the output's folder)"
        ]
    )
    write(project.path / "ops" / "base.toml", '[[header]]\nname = "X-Frame-Options"\nequal = "DENY"\n')
    (project.path / "ops" / "svc").mkdir()
    broken = prod_defaults(
        project, "init", "--app", "app:app", "-o", "ops/svc/defaults.toml", "--extends", "../base.toml"
    )
    assert broken.ret == 4
    broken.stderr.fnmatch_lines(
        [
            "prod-defaults: unusable base manifest:",
            "ops/base.toml:3: header[[]1[]].equal (X-Frame-Options): unknown key 'equal'; did you mean 'equals'?",
        ]
    )
    assert not (project.path / "defaults.toml").exists()
    assert not (project.path / "ops" / "svc" / "defaults.toml").exists()
    assert not list((project.path / "ops" / "svc").iterdir())  # no temporary file left behind


def test_init_extends_keeps_entries_of_one_name_in_order_when_the_base_has_several(project: Project) -> None:
    """Two inherited middleware of one class: the merge pairs entries of one
    identity in order, so when one does not hold every one is written."""
    project.app(
        """
        from fastapi import FastAPI
        from starlette.middleware.base import BaseHTTPMiddleware

        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


        async def first(request, call_next):
            return await call_next(request)


        async def second(request, call_next):
            return await call_next(request)


        app.add_middleware(BaseHTTPMiddleware, dispatch=second)
        app.add_middleware(BaseHTTPMiddleware, dispatch=first)


        @app.get("/")
        def index():
            return {}
        """
    )
    write(
        project.path / "base.toml",
        """\
        [[middleware]]
        class = "BaseHTTPMiddleware"
        options = { dispatch = "app.first" }

        [[middleware]]
        class = "BaseHTTPMiddleware"
        options = { dispatch = "app.elsewhere" }
        """,
    )
    result = prod_defaults(project, "init", "--app", "app:app", "--extends", "base.toml")
    assert result.ret == 0, result.stderr.str()
    document = read(project.path / "defaults.toml")
    assert [item["options"] for item in document["middleware"]] == [
        {"dispatch": "app.first"},
        {"dispatch": "app.second"},
    ]
    checked = project.run("-k", "middleware")
    assert checked.ret == 0
    checked.assert_outcomes(passed=3, deselected=9 + NEWER_SETTINGS)
    checked.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::middleware:BaseHTTPMiddleware",
            "PASSED defaults.toml::middleware:BaseHTTPMiddleware[[]2[]]",
            "PASSED defaults.toml::undocumented:middleware",
        ],
        consecutive=False,
    )


# -- docs: where inherited defaults come from, and what the bases follow -----------------------------


SERVICE = """\
    extends = ["platform/baseline.toml", "profile:owasp-api"]

    [service]
    name = "orders"
    owner = "orders-team"

    [target]
    app = "app:app"

    [[header]]
    name = "X-Frame-Options"
    skip = "the partner portal frames us (PARTNER-88)"
    until = 2030-06-30

    [settings]
    title = "orders"
"""


def test_docs_shows_the_bases_and_where_each_inherited_default_comes_from(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project.path / "platform" / "baseline.toml", BASELINE)
    project.manifest(SERVICE)
    ret, out, err = cli(capsys, "docs")
    assert (ret, err) == (0, "")
    assert (
        "## Built on\n"
        "\n"
        "Inherited defaults come from these bases, applied in this order; the manifest's own entries apply last."
        " An inherited default says where it is written.\n"
        "\n"
        "| base | title | source | as of |\n"
        "|---|---|---|---|\n"
        "| [platform/baseline.toml](platform/baseline.toml) | Security baseline for every HTTP service |"
        " <https://wiki.example.com/platform/http-baseline> | 2026-10-01 |\n"
        "| `profile:owasp-api` | OWASP REST Security Cheat Sheet: security headers for API responses |"
        " <https://cheatsheetseries.owasp.org/cheatsheets/REST_Security_Cheat_Sheet.html#security-headers> |"
        " 2023-09-21 |\n"
    ) in out
    # Inherited unchanged: where it is written, nothing else; a later base replaces an earlier one's.
    assert (
        "### Server\n"
        "\n"
        "```toml\n"
        "absent = true\n"
        "```\n"
        "\n"
        "- **Why:** _not written yet_\n"
        "- **Owner:** platform-team\n"
        "- **Rollback:** _not written yet_\n"
        "- **Inherited from:** [platform/baseline.toml:27](platform/baseline.toml#L27)\n"
    ) in out
    assert "- **Inherited from:** `profile:owasp-api:31`\n" in out  # Strict-Transport-Security
    assert "- **Inherited from:** `profile:owasp-api:19`\n" in out  # Content-Security-Policy
    # Amended here (a waiver): this manifest's line, and where the default comes from.
    assert (
        "- **Waived:** the partner portal frames us (PARTNER-88) (until 2030-06-30)\n"
        "- **Manifest:** [defaults.toml:10](defaults.toml#L10)\n"
        "- **Inherited from:** `profile:owasp-api:43`\n"
    ) in out
    assert "| `debug` | `false` | [platform/baseline.toml:39](platform/baseline.toml#L39) (inherited) |" in out
    assert '| `title` | `"orders"` | [defaults.toml:16](defaults.toml#L16) |' in out
    assert "- **Manifest:** [defaults.toml:10](defaults.toml#L10)" in out


def test_docs_lists_a_chain_of_bases_in_the_order_they_apply(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        project.path / "platform" / "baseline.toml", 'extends = ["profile:observatory"]\n' + textwrap.dedent(BASELINE)
    )
    write(project.path / "defaults.toml", 'extends = ["platform/baseline.toml"]\n[target]\napp = "app:app"\n')
    ret, out, _ = cli(capsys, "docs")
    assert ret == 0
    rows = [line.split(" | ")[0] for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[:3] == ["| base", "| `profile:observatory`", "| [platform/baseline.toml](platform/baseline.toml)"]


def test_docs_reads_a_bundled_profile(capsys: pytest.CaptureFixture[str], project: Project) -> None:
    ret, out, err = cli(capsys, "docs", "profile:owasp-api")
    assert (ret, err) == (0, "")
    assert out.splitlines()[:10] == [
        "<!-- Generated by `prod-defaults docs` from profile:owasp-api: edit that file, not this one. -->",
        "",
        "# OWASP REST Security Cheat Sheet: security headers for API responses",
        "",
        "Defaults to build on, documented in `profile:owasp-api`: a manifest that names it in"
        ' `extends = ["profile:owasp-api"]` inherits every default below, checked against its own service by'
        " `pytest --check-defaults`, and may replace or waive any of them by its name.",
        "",
        "- **Profile:** `owasp-api`",
        "- **Source:** <https://cheatsheetseries.owasp.org/cheatsheets/REST_Security_Cheat_Sheet.html#security-headers>"
        " (as of 2023-09-21)",
        "- **Notes:** Content-Type must fit what each endpoint returns; here it is only required to be present.",
        "",
    ]
    assert [line for line in out.splitlines() if line.startswith("## ")] == ["## Response headers"]
    assert "- **Manifest:** `profile:owasp-api:13`" in out

    by_path = cli(capsys, "docs", str(Path(__file__).parent.parent / "pytest_prod_defaults/profiles/owasp-api.toml"))
    assert by_path[0] == 0
    assert "# OWASP REST Security Cheat Sheet: security headers for API responses" in by_path[1]

    unknown = cli(capsys, "docs", "profile:nope")
    assert unknown[0] == 2
    assert (
        "prod-defaults docs: error: profile:nope: no such profile; bundled profiles: profile:observatory," in unknown[2]
    )


def test_docs_reads_a_base_without_target_but_pytest_still_needs_one(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project.path / "platform" / "baseline.toml", BASELINE)
    ret, out, err = cli(capsys, "docs", "platform/baseline.toml")
    assert (ret, err) == (0, "")
    assert out.splitlines()[2] == "# Security baseline for every HTTP service"
    assert "- **Profile:** `platform-baseline`\n" in out
    assert "- **Source:** <https://wiki.example.com/platform/http-baseline> (as of 2026-10-01)\n" in out
    assert "- **Manifest:** [platform/baseline.toml:12](platform/baseline.toml#L12)\n" in out
    assert "## What the manifest does not mention" in out  # written in the base, so shown

    in_pytest = project.run("--defaults-file", "platform/baseline.toml")
    assert in_pytest.ret == 4
    in_pytest.stderr.fnmatch_lines(
        ["*unusable defaults manifest:", "platform/baseline.toml: target: missing [[]target[]] table*"]
    )


def test_profiles_lists_the_bundled_profiles(capsys: pytest.CaptureFixture[str], project: Project) -> None:
    ret, out, err = cli(capsys, "profiles")
    assert (ret, err) == (0, "")
    assert out.splitlines()[:10] == [
        "profile:observatory",
        "  Mozilla HTTP Observatory: the header tests a manifest can express",
        "  source: https://github.com/mozilla/http-observatory/blob/main/httpobs/docs/scoring.md (as of 2024-02-27)",
        "  defaults: 6 [[header]]",
        "",
        "profile:owasp-api",
        "  OWASP REST Security Cheat Sheet: security headers for API responses",
        "  source: https://cheatsheetseries.owasp.org/cheatsheets/REST_Security_Cheat_Sheet.html#security-headers"
        " (as of 2023-09-21)",
        "  defaults: 6 [[header]]",
        "",
    ]
    assert "profile:owasp-secure-headers" in out.splitlines()
    assert out.endswith(
        'Extend one with `extends = ["profile:NAME"]` (or `prod-defaults init --extends profile:NAME`);'
        " read one with `prod-defaults docs profile:NAME`.\n"
    )
