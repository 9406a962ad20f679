"""``prod-defaults init``: a manifest captured from a live app passes
``pytest --check-defaults`` against the same app unchanged, and fails
against a drifted one exactly where it drifted.

The command runs in a subprocess, as a user runs it; the checks run in real
pytest sessions through the ``project`` fixture."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import CORS_VARY, HAS_BODY_LIMITS, HAS_FORM_LIMITS, NEWER_SETTINGS, Project

from pytest_prod_defaults.inference import header_matcher, value_pattern
from pytest_prod_defaults.manifest import load_manifest
from pytest_prod_defaults.registry import ordered_kinds, standalone_plugin_manager

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLES = Path(__file__).parent.parent / "examples"


def prod_defaults(project: Project, *args: str) -> pytest.RunResult:
    """``python -m pytest_prod_defaults ARGS`` in the project's folder."""
    return project.pytester.run(sys.executable, "-m", "pytest_prod_defaults", *args, timeout=120)


def read_manifest(project: Project, name: str = "defaults.toml") -> dict[str, Any]:
    """The written manifest: it parses with tomllib and loads with load_manifest."""
    path = project.path / name
    kinds = ordered_kinds(standalone_plugin_manager().hook.pytest_prod_defaults_kinds())
    load_manifest(path, kinds)
    return tomllib.loads(path.read_text(encoding="utf-8"))


def entry(document: dict[str, Any], kind: str, **match: Any) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        item for item in document.get(kind, []) if all(item.get(k) == v for k, v in match.items())
    ]
    assert len(found) == 1, f"{kind} {match}: {found}"
    first: dict[str, Any] = found[0]
    return first


ORDERS_APP = """
    import os
    import time
    import uuid

    from fastapi import FastAPI, Request, Response
    from fastapi.middleware.cors import CORSMiddleware
    from pydantic import SecretStr
    from pydantic_settings import BaseSettings

    DRIFT = os.environ.get("APP_DRIFT") == "1"


    class Settings(BaseSettings):
        pool_size: int = 20 if DRIFT else 10
        region: str = "eu-west-1"
        secret_key: SecretStr = SecretStr("do-not-print-me")


    settings = Settings()
    app = FastAPI(title="orders", docs_url="/docs" if DRIFT else None, redoc_url=None)


    class TooLarge(Exception):
        pass


    class BodyLimit:
        def __init__(self, app, max_bytes):
            self.app = app
            self.max_bytes = max_bytes

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http":
                return await self.app(scope, receive, send)
            declared = dict(scope["headers"]).get(b"content-length")
            if declared is not None and int(declared) > self.max_bytes:
                return await self.reject(send)
            received = 0

            async def counting():
                nonlocal received
                message = await receive()
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise TooLarge
                return message

            try:
                await self.app(scope, counting, send)
            except TooLarge:
                await self.reject(send)

        async def reject(self, send):
            await send({"type": "http.response.start", "status": 413, "headers": []})
            await send({"type": "http.response.body", "body": b""})


    # Innermost, so the limit sees the route's reads directly.
    app.add_middleware(BodyLimit, max_bytes=4096 if DRIFT else 10_000)


    @app.middleware("http")
    async def security_headers(request, call_next):
        response = await call_next(request)
        response.headers["X-Frame-Options"] = "SAMEORIGIN" if DRIFT else "DENY"
        response.headers["X-Request-ID"] = uuid.uuid4().hex
        return response


    app.add_middleware(CORSMiddleware, allow_origins=["https://orders.example"])


    @app.get("/")
    def index(response: Response):
        response.set_cookie("sid", "cookie-value-never-shown", httponly=True, secure=not DRIFT, samesite="lax",
                            max_age=600)
        return {"service": "orders"}


    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "version": "1.2.3", "checked_at": time.time(), "started": "2024-05-01T10:00:00"}


    @app.get("/static/app.js")
    def asset():
        cache_control = "public, max-age=60" if DRIFT else "public, max-age=31536000, immutable"
        return Response("x", media_type="text/javascript", headers={"Cache-Control": cache_control})


    @app.get("/account")
    def account(response: Response):
        response.headers["Cache-Control"] = "private, no-store"
        return {}


    @app.post("/upload")
    async def upload(request: Request):
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"bytes": size}
"""

ORDERS_INIT = (
    "init",
    "--app",
    "app:app",
    "--path",
    "/",
    "--path",
    "/static/app.js",
    "--path",
    "/account",
    "--config",
    "app:settings",
    "--upload",
    "/upload",
)


@pytest.fixture
def orders(project: Project) -> Project:
    project.app(ORDERS_APP)
    result = prod_defaults(project, *ORDERS_INIT)
    assert result.ret == 0, result.stderr.str()
    return project


def test_init_writes_what_the_app_does(orders: Project) -> None:
    document = read_manifest(orders)
    assert document["target"] == {"app": "app:app", "paths": ["/", "/static/app.js", "/account", "/healthz"]}
    assert entry(document, "header", name="X-Frame-Options")["equals"] == "DENY"
    assert "paths" not in entry(document, "header", name="X-Frame-Options")
    assert entry(document, "header", name="X-Request-ID")["matches"] == "^[0-9a-f]{32}$"
    sid = entry(document, "cookie", name="sid")
    assert {key: sid[key] for key in ("path", "secure", "http_only", "same_site", "max_age", "path_attr")} == {
        "path": "/",
        "secure": True,
        "http_only": True,
        "same_site": "lax",
        "max_age": 600,
        "path_attr": "/",
    }
    health = entry(document, "health_check", path="/healthz")
    assert (health["status"], health["content_type"]) == (200, "application/json")
    assert health["json"] == {"status": "ok", "version": "1.2.3"}  # not the clock, not a timestamp
    upload = entry(document, "upload", path="/upload")
    assert (upload["name"], upload["max_bytes"], upload["over_limit_status"]) == ("upload", 10_000, 413)
    cached = entry(document, "cache_rule", cached=["/static/app.js"])
    assert cached["cache_control"] == "public, max-age=31536000, immutable"
    assert entry(document, "cache_rule", name="not cached by shared caches")["not_cached"] == ["/account"]
    assert document["settings"] == {
        "debug": False,
        "docs_url": False,
        "redoc_url": False,
        "openapi_url": "/openapi.json",
        "swagger_ui_oauth2_redirect_url": "/docs/oauth2-redirect",
        "root_path": "",
        **({"max_body_size": False} if HAS_BODY_LIMITS else {}),
        **({"form_limits": False} if HAS_FORM_LIMITS else {}),
        "title": "orders",
        "why": "",
        "owner": "",
        "rollback": "",
    }
    assert [(item["class"], item["options"]) for item in document["middleware"]] == [
        ("CORSMiddleware", {"allow_origins": ["https://orders.example"]}),
        ("BaseHTTPMiddleware", {"dispatch": "app.security_headers"}),
        ("BodyLimit", {"max_bytes": 10_000}),
    ]
    assert document["config"]["values"] == {"pool_size": 10, "region": "eu-west-1"}
    assert document["config"]["secrets"] == ["secret_key"]
    assert {
        key: document["undocumented"][key] for key in ("headers", "settings", "middleware", "config")
    } == dict.fromkeys(("headers", "settings", "middleware", "config"), "fail")


def test_init_leaves_todos_for_people_and_never_writes_secrets(orders: Project) -> None:
    text = (orders.path / "defaults.toml").read_text(encoding="utf-8")
    assert 'why = ""  # TODO: why does this default exist?' in text
    assert 'owner = ""  # TODO: who decides it? (left empty: [service].owner)' in text
    assert 'rollback = ""  # TODO: how is a change to it undone?' in text
    assert "do-not-print-me" not in text
    assert "cookie-value-never-shown" not in text


def test_captured_manifest_passes_against_the_same_app(orders: Project) -> None:
    result = orders.run()
    assert result.ret == 0
    result.assert_outcomes(passed=42 + 3 * CORS_VARY + NEWER_SETTINGS)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::header:X-Request-ID[[]/healthz[]]",
            "PASSED defaults.toml::upload:upload[[]over-limit-streamed[]]",
            "PASSED defaults.toml::config:secret_key[[]secret[]]",
            "PASSED defaults.toml::undocumented:headers[[]/account[]]",
        ],
        consecutive=False,
    )


def test_captured_manifest_fails_against_a_drifted_app(orders: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_DRIFT", "1")
    result = orders.run()
    result.assert_outcomes(passed=32 + 3 * CORS_VARY + NEWER_SETTINGS, failed=10)
    failed = sorted(line.split(" - ")[0] for line in result.stdout.lines if line.startswith("FAILED "))
    assert failed == [
        "FAILED defaults.toml::cache_rule:cached: public, max-age=31536000, immutable[/static/app.js]",
        "FAILED defaults.toml::config:pool_size",
        "FAILED defaults.toml::cookie:sid[secure]",
        "FAILED defaults.toml::header:X-Frame-Options[/]",
        "FAILED defaults.toml::header:X-Frame-Options[/account]",
        "FAILED defaults.toml::header:X-Frame-Options[/healthz]",
        "FAILED defaults.toml::header:X-Frame-Options[/static/app.js]",
        "FAILED defaults.toml::middleware:BodyLimit",
        "FAILED defaults.toml::settings:docs_url",
        "FAILED defaults.toml::upload:upload[at-limit]",
    ]
    result.stdout.fnmatch_lines(
        [
            "header X-Frame-Options on /: documented 'DENY', live 'SAMEORIGIN' (GET / answered 200)",
            "setting docs_url: documented false, live '/docs'",
        ],
        consecutive=False,
    )


def test_examples_shop_round_trips(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(EXAMPLES / "shop", project.path / "shop")
    result = prod_defaults(
        project,
        "init",
        "--app",
        "shop.main:app",
        "--host",
        "api.shop.example",
        "--path",
        "/",
        "--path",
        "/api/items",
        "--path",
        "/login",
        "--path",
        "/static/app.js",
        "--path",
        "/catalog",
        "--config",
        "shop.config:settings",
        "--upload",
        "/api/avatar",
        "-o",
        "captured.toml",
    )
    assert result.ret == 0, result.stderr.str()
    result.stderr.fnmatch_lines(
        [
            "prod-defaults: wrote captured.toml: 6 headers, 1 cookie, 1 health check, 1 upload limit, 3 cache rules,"
            f" {7 + NEWER_SETTINGS} settings, 4 middleware, 4 config fields",
            "  next: fill in why, owner and rollback (the TODOs), then run `pytest --check-defaults`",
        ]
    )
    assert "\x1b" not in result.stderr.str()  # no progress line: stderr is not a terminal
    document = read_manifest(project, "captured.toml")
    assert entry(document, "upload", path="/api/avatar")["max_bytes"] == 1024 * 1024
    assert entry(document, "cookie", name="session")["secure"] is True

    passing = project.run("--defaults-file", "captured.toml")
    assert passing.ret == 0
    passing.assert_outcomes(passed=74 + NEWER_SETTINGS)

    monkeypatch.setenv("SHOP_DRIFT", "1")
    drifted = project.run("--defaults-file", "captured.toml")
    drifted.assert_outcomes(passed=64 + NEWER_SETTINGS, failed=10)
    drifted.stdout.fnmatch_lines(
        [
            "FAILED captured.toml::header:Strict-Transport-Security[[]/[]]*",
            "FAILED captured.toml::cookie:session[[]secure[]]*",
            "FAILED captured.toml::settings:debug*",
            "FAILED captured.toml::settings:docs_url*",
            "FAILED captured.toml::settings:openapi_url*",
        ],
        consecutive=False,
    )


PLAIN_ASGI_APP = """
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"text/plain"), (b"x-served-by", b"plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"hello"})
"""


def test_plain_asgi_app_has_no_settings_or_middleware_and_no_health_endpoint_behind_a_catch_all(
    project: Project,
) -> None:
    project.app(PLAIN_ASGI_APP)
    result = prod_defaults(project, "init", "--app", "app:app")
    assert result.ret == 0, result.stderr.str()
    document = read_manifest(project)
    assert document["target"]["paths"] == ["/"]
    assert "health_check" not in document
    assert "settings" not in document
    assert "middleware" not in document
    assert (document["undocumented"]["settings"], document["undocumented"]["middleware"]) == ("off", "off")
    assert document["header"] == [{"name": "X-Served-By", "equals": "plain", "why": "", "owner": "", "rollback": ""}]
    checked = project.run()
    checked.assert_outcomes(passed=2)
    checked.stdout.fnmatch_lines(["PASSED defaults.toml::header:X-Served-By[[]/[]]"], consecutive=False)


AWKWARD_APP = """
    import collections

    from fastapi import FastAPI
    from pydantic import SecretStr
    from pydantic_settings import BaseSettings


    class Settings(BaseSettings):
        sentry_dsn: str | None = None
        api_token: SecretStr = SecretStr("token-value-never-written")
        workers: int = 4


    settings = Settings()
    app = FastAPI()
    requests = collections.Counter()


    class Signed:
        def __init__(self, app, secret_key, header="x-signature", fallback=None):
            self.app = app

        async def __call__(self, scope, receive, send):
            await self.app(scope, receive, send)


    class ContentLengthOnlyLimit:
        def __init__(self, app, max_bytes):
            self.app = app
            self.max_bytes = max_bytes

        async def __call__(self, scope, receive, send):
            declared = dict(scope.get("headers", [])).get(b"content-length")
            if scope.get("path") == "/files" and declared is not None and int(declared) > self.max_bytes:
                await send({"type": "http.response.start", "status": 413, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            await self.app(scope, receive, send)


    app.add_middleware(Signed, secret_key="middleware-secret-never-written", fallback=None)
    app.add_middleware(ContentLengthOnlyLimit, max_bytes=2000)


    @app.middleware("http")
    async def sometimes(request, call_next):
        response = await call_next(request)
        requests[request.url.path] += 1
        if requests[request.url.path] % 2 == 1:  # every other request to each path
            response.headers["X-Sampled"] = "1"
        return response


    @app.get("/")
    def index():
        return {}


    @app.post("/files")
    def files():
        return {}


    @app.post("/anything")
    def anything():
        return {}
"""


def test_values_that_cannot_be_written_are_named_and_their_policies_warn(project: Project) -> None:
    project.app(AWKWARD_APP)
    result = prod_defaults(
        project, "init", "--app", "app:app", "--config", "app:settings", "--upload", "/files", "--upload",
        "/anything", "--upload-cap", "64 KiB",
    )  # fmt: skip
    assert result.ret == 0, result.stderr.str()
    text = (project.path / "defaults.toml").read_text(encoding="utf-8")
    assert "token-value-never-written" not in text
    assert "middleware-secret-never-written" not in text
    document = read_manifest(project)
    assert document["config"]["secrets"] == ["api_token"]
    assert document["config"]["values"] == {"workers": 4}
    signed = entry(document, "middleware", **{"class": "Signed"})
    assert signed["options"] == {}
    assert "# left out of options: secret_key (a secret, never written down)" in text
    assert "# left out of options: fallback (None, which TOML cannot write)" in text
    assert "# left out of values: sentry_dsn (None, which TOML cannot write)" in text
    undocumented = document["undocumented"]
    assert (undocumented["middleware"], undocumented["config"]) == ("warn", "warn")
    assert undocumented["ignore_headers"] == ["X-Sampled"]
    upload = entry(document, "upload", path="/files")
    assert upload["max_bytes"] == 2000
    assert upload["skip"].startswith("2001 bytes streamed without Content-Length was answered 200, not 413")
    assert "/anything" not in [item["path"] for item in document["upload"]]
    result.stderr.fnmatch_lines(
        [
            "  note: POST /anything answered 200 to every size up to 64 KiB (--upload-cap): no limit found,"
            " no [[][[]upload[]][]] entry written",
            "  note: [[][[]middleware[]][]] Signed: secret_key not written: a secret, never written down",
            "  note: [[]config[]]: sentry_dsn not written: None, which TOML cannot write",
        ],
        consecutive=False,
    )
    checked = project.run("-W", "default::pytest.PytestWarning")
    assert checked.ret == 0
    checked.assert_outcomes(passed=16 + NEWER_SETTINGS, skipped=3, warnings=2)
    checked.stdout.fnmatch_lines(
        ["SKIPPED [[]3[]] *: 2001 bytes streamed without Content-Length was answered 200, not 413*"]
    )


def test_manifest_written_elsewhere_imports_the_app_from_where_init_ran(project: Project) -> None:
    project.app(PLAIN_ASGI_APP)
    (project.path / "ops").mkdir()
    result = prod_defaults(project, "init", "--app", "app:app", "-o", "ops/defaults.toml")
    assert result.ret == 0, result.stderr.str()
    assert read_manifest(project, "ops/defaults.toml")["target"]["app_dir"] == ".."
    checked = project.run("--defaults-file", "ops/defaults.toml")
    checked.assert_outcomes(passed=2)


def test_init_to_stdout(project: Project) -> None:
    project.app(PLAIN_ASGI_APP)
    result = prod_defaults(project, "init", "--app", "app:app", "-o", "-")
    assert result.ret == 0
    assert "[[header]]" in result.outlines
    assert 'name = "X-Served-By"' in result.outlines
    assert not (project.path / "defaults.toml").exists()


def test_init_never_overwrites_without_force(project: Project) -> None:
    project.app(PLAIN_ASGI_APP)
    project.manifest("# hand-written\n")
    refused = prod_defaults(project, "init", "--app", "app:app")
    assert refused.ret == 2
    refused.stderr.fnmatch_lines(["prod-defaults init: error: defaults.toml exists; pass --force to overwrite it"])
    assert (project.path / "defaults.toml").read_text(encoding="utf-8") == "# hand-written\n"
    forced = prod_defaults(project, "init", "--app", "app:app", "--force")
    assert forced.ret == 0
    assert "[[header]]" in (project.path / "defaults.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--app", "app"), "* error: argument --app: 'app' is not 'module:attribute' or 'module:factory()'"),
        (("--app", "app:app", "--path", "healthz"), "* error: argument --path: a path starts with '/'*"),
        (("--app", "app:app", "--upload-cap", "lots"), "* error: argument --upload-cap: 'lots' is not a size*"),
        (("--host", "x"), "prod-defaults init: error: the following arguments are required: --app"),
    ],
)
def test_init_bad_arguments_exit_2(project: Project, args: tuple[str, ...], message: str) -> None:
    result = prod_defaults(project, "init", *args)
    assert result.ret == 2
    result.stderr.fnmatch_lines([message])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--app", "missing:app"), "*: cannot capture the app: cannot import 'missing': ModuleNotFoundError*"),
        (("--app", "app:nope"), "*: cannot capture the app: app:nope: 'app' has no attribute 'nope'"),
        (
            ("--app", "app:app", "--upload", "/nowhere"),
            "*: --upload /nowhere: POST /nowhere answered 404: no upload route*",
        ),
        (("--app", "app:app", "--config", "app:Settings"), "*: --config app:Settings is the class Settings: name the*"),
    ],
)
def test_init_unusable_target_exits_3(project: Project, args: tuple[str, ...], message: str) -> None:
    project.app(ORDERS_APP)
    result = prod_defaults(project, "init", *args)
    assert result.ret == 3
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()
    assert not (project.path / "defaults.toml").exists()


# -- inference, value by value -------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        (["3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7", "0123456789abcdef0123456789abcdef"], "^[0-9a-f]{32}$"),
        (["3F2A9C0D", "0123ABCD"], "^[0-9A-F]{8}$"),
        (["3f2a", "0123abcd"], "^[0-9a-f]+$"),
        (
            ["1b4e28ba-2fa1-11d2-883f-0016d3cca427", "6fa459ea-ee8a-3ca4-894e-db77e160355e"],
            "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        ),
        (["1712345678", "1712345679"], "^[0-9]+$"),
        (["0.0012", "12"], r"^[0-9]+(?:\.[0-9]+)?$"),
        (["req-1", "req-2"], "^.+$"),
        (["", "x"], "^.*$"),
    ],
)
def test_value_pattern_fits_what_differs(values: list[str], pattern: str) -> None:
    assert value_pattern(values) == pattern


def test_header_matcher_equals_what_is_stable_and_never_writes_a_redacted_value() -> None:
    assert header_matcher("x-frame-options", ["DENY"], ["DENY"]) == ("equals", "DENY", None)
    assert header_matcher("authorization", ["Bearer a"], ["Bearer a"]) == (
        "matches",
        "^.+$",
        "its value is never written down",
    )
    matcher, pattern, _ = header_matcher(
        "last-modified", ["Wed, 21 Oct 2015 07:28:00 GMT"], ["Wed, 21 Oct 2015 07:28:00 GMT"]
    )
    assert matcher == "matches"
    assert pattern.startswith("^[A-Z][a-z]{2}, ")
    assert header_matcher(
        "link", ["</a>; rel=preload", "</b>; rel=preload"], ["</a>; rel=preload", "</b>; rel=preload"]
    ) == (
        "matches",
        r"^(?:</a>;\ rel=preload|</b>;\ rel=preload)$",
        "sent several times with different values",
    )
