"""What a CI gate cannot afford: a manifest error that is not a usage error,
a run that hangs, a secret in the log.

Fills the gaps left by test_manifest_errors.py (manifest errors),
test_target.py (broken targets in-process), test_modes.py (a server that will
not start) and test_undocumented.py (config secrets); every test is a real
pytest session against a real app.
"""

from __future__ import annotations

import json
import threading

import pytest
from conftest import QUIET, Project, header_call_durations, usage_error

TARGET = '[target]\napp = "app:app"\n'


# -- unusable manifests: the classes test_manifest_errors.py does not cover ---

CASES = {
    "status-below-range": (
        TARGET + '\n[[health_check]]\npath = "/healthz"\nstatus = 99\n',
        ["defaults.toml:6: health_check[[]1[]].status (/healthz): Input should be greater than or equal to 100"],
    ),
    "status-above-range": (
        TARGET + '\n[[health_check]]\npath = "/healthz"\nstatus = 600\n',
        ["defaults.toml:6: health_check[[]1[]].status (/healthz): Input should be less than or equal to 599"],
    ),
    "unknown-policy": (
        TARGET + '\n[undocumented]\nheaders = "loud"\n',
        ["defaults.toml:5: undocumented.headers: Input should be 'fail', 'warn' or 'off' (got 'loud')"],
    ),
    "unknown-lifespan": (
        TARGET + 'lifespan = "maybe"\n',
        ["defaults.toml:3: target.lifespan: Input should be 'auto', 'on' or 'off' (got 'maybe')"],
    ),
    "negative-size-written-as-a-string": (
        TARGET + '\n[[upload]]\nname = "avatar"\npath = "/u"\nmax_bytes = "-1 KiB"\n',
        ["defaults.toml:7: upload[[]1[]].max_bytes (avatar): a size cannot be negative (got '-1 KiB')"],
    ),
    "size-too-long-to-be-a-size": (
        TARGET + '\n[[upload]]\nname = "avatar"\npath = "/u"\nmax_bytes = "' + "9" * 400 + ' KiB"\n',
        ["defaults.toml:7: upload[[]1[]].max_bytes (avatar): '9999*...' is too large to be a size"],
    ),
    "version-true": (
        'version = true\n[target]\napp = "app:app"\n',
        ["defaults.toml:1: version: unsupported manifest version True; this plugin reads version 1"],
    ),
    "infinite-timeout": (
        TARGET + "timeout = inf\n",
        ["defaults.toml:3: target.timeout: Input should be a finite number"],
    ),
    "table-where-an-array-of-tables-belongs": (
        TARGET + '\n[header]\nname = "X-A"\nabsent = true\n',
        ["defaults.toml:4: header: write [[][[]header[]][]], once per entry, not [[]header[]]"],
    ),
    "array-of-tables-where-a-table-belongs": (
        '[[target]]\napp = "app:app"\n',
        ["defaults.toml:1: target: write [[]target[]], once, not [[][[]target[]][]]"],
    ),
    "nested-too-deeply": (
        TARGET + "x = " + "[" * 5000 + "]" * 5000 + "\n",
        ["defaults.toml:3: TOML syntax error: arrays or tables nested too deeply"],
    ),
    "number-with-too-many-digits": (
        TARGET + "timeout = " + "1" * 5000 + "\n",
        ["defaults.toml:3: TOML syntax error: a number with too many digits"],
    ),
    "header-name-that-is-not-a-token": (
        TARGET + 'headers = { "X Token" = "abc" }\n',
        ["defaults.toml:3: target.headers.X Token: 'X Token' is not a header name"],
    ),
    "header-value-with-a-non-ascii-character": (
        TARGET + 'headers = { X-Shop = "caf\u00e9" }\n',
        [
            "defaults.toml:3: target.headers.X-Shop: the value has a non-ASCII character at its end;"
            " a header value is one line of printable ASCII"
        ],
    ),
}


@pytest.mark.parametrize("toml, expected", list(CASES.values()), ids=list(CASES))
def test_unusable_manifest_is_ausage_error(project: Project, toml: str, expected: list[str]) -> None:
    usage_error(project, toml, expected)


def test_unset_variable_in_base_url_is_ausage_error(project: Project) -> None:
    usage_error(
        project,
        '[target]\nmode = "url"\nbase_url = "https://${NOT_SET_ANYWHERE_42}"\n',
        ["defaults.toml:3: target.base_url: environment variable NOT_SET_ANYWHERE_42 is not set"],
    )


def test_variable_in_base_url_is_read_and_its_value_never_shown(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_URL", "ftp://deploy:hunter2-s3cret@internal")
    result = usage_error(
        project,
        '[target]\nmode = "url"\nbase_url = "${DEPLOY_URL}/v1"\n',
        ["defaults.toml:1: target: base_url '${DEPLOY_URL}/v1' is not an http(s):// URL"],
    )
    assert "hunter2-s3cret" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("value", "fault"),
    [
        ("tok-s3cret-value\n", "has a line break at its end"),
        ("tok-s3cret-value ", "has a space or tab at its end"),
        ("tok-s3cret\x07value", "has a control character at character 18 of 23"),
    ],
    ids=["trailing-newline", "trailing-space", "control-character"],
)
def test_unsendable_credential_from_the_environment_is_a_usage_error_that_never_quotes_it(
    project: Project, monkeypatch: pytest.MonkeyPatch, value: str, fault: str
) -> None:
    # A secret file read with a trailing newline used to fail every item with
    # h11's "Illegal header value b'Bearer <the token>\n'" in server mode, and
    # in-process to reach the app as sent.
    monkeypatch.setenv("SHOP_TOKEN", value)
    result = usage_error(
        project,
        TARGET + 'headers = { Authorization = "Bearer ${SHOP_TOKEN}" }\n',
        [
            f"defaults.toml:3: target.headers.Authorization: the value (after reading ${{SHOP_TOKEN}}) {fault};"
            " a header value is one line of printable ASCII"
        ],
    )
    assert "s3cret" not in result.stdout.str() + result.stderr.str()


def test_a_manifest_starting_with_a_byte_order_mark_is_read(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI, Response

        app = FastAPI()

        @app.get("/")
        def index():
            return Response(headers={"X-A": "b"})
        """
    )
    (project.path / "defaults.toml").write_text(
        "\ufeff" + TARGET + '\n[[header]]\nname = "X-A"\nequals = "b"\n' + QUIET, encoding="utf-8"
    )
    project.run().assert_outcomes(passed=1)


# -- broken targets: each fails its items, briefly, and the run goes on --------

BLOCKING_APP = """
    import time
    from pathlib import Path

    from fastapi import FastAPI, Response

    app = FastAPI()
    RELEASE = Path(__file__).with_name("release")

    @app.get("/blocking")
    async def blocking():
        # time.sleep inside async def: the whole event loop stops with it.
        deadline = time.monotonic() + 30
        while not RELEASE.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return Response(headers={"X-A": "b"})

    @app.get("/{name}")
    def other(name: str):
        return Response(headers={"X-A": "b"})
"""


@pytest.mark.parametrize("mode", ["asgi", "server"])
def test_an_endpoint_that_blocks_the_event_loop_fails_once_and_later_items_fail_fast(
    project: Project, mode: str
) -> None:
    """In-process the app blocks the probes' loop; in server mode uvicorn's,
    which then sees no exit flag either: the run still ends promptly."""
    project.app(BLOCKING_APP)
    project.manifest(
        """
        [target]
        app = "app:app"
        paths = ["/blocking", "/a", "/b", "/c"]
        timeout = 0.2

        [[header]]
        name = "X-A"
        equals = "b"
        """
        + QUIET
    )
    project.pytester.makepyfile(test_other="def test_other():\n    pass\n")
    before = set(threading.enumerate())
    try:
        result = project.run("--defaults-mode", mode, "-p", "no:randomly", "--durations=0", "-vv", "test_other.py")
    finally:
        (project.path / "release").touch()  # let the app's thread finish
    # Let go, uvicorn's thread shuts down on its own, without a crash (it
    # would be reported as this test's unhandled thread exception).
    for thread in set(threading.enumerate()) - before:
        if thread.name == "prod-defaults-uvicorn":
            thread.join(10)
            assert not thread.is_alive()
    result.assert_outcomes(passed=1, failed=4)
    result.stdout.fnmatch_lines(
        [
            "header:X-A[[]/blocking[]]: target unavailable: GET /blocking did not answer within [[]target[]].timeout"
            " = 0.2 s, and blocks the app's event loop meanwhile (a blocking call such as time.sleep inside an"
            " async def?)",
            "header:X-A[[]/a[]]: target unavailable: GET /a not sent: the app's event loop is still blocked by"
            " GET /blocking, which did not answer",
        ]
    )
    # Before: every later item waited its own 2.2 s (in server mode its
    # 0.2 s), and closing the target another 20 s in-process (transport,
    # lifespan, thread) or 15 s in server mode (uvicorn's graceful, then
    # forced, shutdown) on the stuck loop.
    durations = header_call_durations(result)
    assert set(durations) == {"/blocking", "/a", "/b", "/c"}
    assert durations["/blocking"] < 4
    assert max(durations["/a"], durations["/b"], durations["/c"]) < 0.2, durations
    assert result.duration < 10


HANGING_APP = """
    import asyncio
    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.get("/slow")
    async def slow():
        await asyncio.sleep(3600)

    @app.get("/")
    def index():
        return Response(headers={"X-A": "b"})
"""


def test_a_hanging_endpoint_in_server_mode_fails_at_the_timeout_and_the_server_still_stops_promptly(
    project: Project,
) -> None:
    project.app(HANGING_APP)
    project.manifest(
        """
        [target]
        app = "app:app"
        mode = "server"
        paths = ["/slow", "/", "/slow?again=1"]
        timeout = 0.3

        [[header]]
        name = "X-A"
        equals = "b"
        """
        + QUIET
    )
    result = project.run("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*target unavailable: GET /slow did not answer within [[]target[]].timeout = 0.3 s",
            "*target unavailable: GET /slow?again=1 did not answer within [[]target[]].timeout = 0.3 s",
        ]
    )
    # uvicorn waited for the abandoned requests at shutdown: 10 s more, then forced.
    assert result.duration < 8


# -- secrets: never in failures, warnings, reports, JUnit XML or logs ---------

SECRETS = {
    "authorization": "tok-s3cret-bearer",
    "request_cookie": "sid-s3cret-request-cookie",
    "set_cookie": "sess-s3cret-set-cookie",
    "other_cookie": "track-s3cret-cookie",
}

SECRET_APP = f"""
    import logging
    from fastapi import FastAPI, Request, Response

    app = FastAPI()
    log = logging.getLogger("shop.access")

    @app.get("/login")
    def login(request: Request, response: Response):
        # The app's own (bad) logging: pytest shows it as it shows any test's logs.
        log.warning("login with authorization=%s", request.headers.get("authorization"))
        response.set_cookie("session", "{SECRETS["set_cookie"]}", samesite="lax")
        response.set_cookie("tracking", "{SECRETS["other_cookie"]}")
        return {{"cookies_seen": len(request.cookies)}}
"""

# A third-party kind with a bug: its traceback, shown with --showlocals, holds
# the target, the response and the manifest.
BUGGY_KIND = """
    from pytest_prod_defaults import BaseKind, Check, Entry, ProbeRequest


    class BuggyEntry(Entry):
        path: str


    class BuggyKind(BaseKind):
        key = "buggy"
        many = True
        model = BuggyEntry

        def checks(self, entry, manifest):
            def run(target):
                response = target.response(ProbeRequest(entry.path))
                spec, documents = target.spec, manifest
                raise KeyError("the kind has a bug")

            yield Check("buggy", entry.path, None, entry, run)
"""

SECRET_MANIFEST = """
    [target]
    app = "app:app"
    paths = ["/login"]
    headers = { Authorization = "Bearer ${SHOP_TOKEN}", Cookie = "sid=${SHOP_SID}" }

    [[header]]
    name = "Set-Cookie"
    equals = "session=documented"

    [[cookie]]
    name = "session"
    path = "/login"
    secure = true
    same_site = "strict"

    [[health_check]]
    path = "/login"
    json = { cookies_seen = 0 }

    [[buggy]]
    path = "/login"

    [undocumented]
    headers = "warn"  # its warning names the cookie, never its value
    settings = "off"
    middleware = "off"
    config = "off"
"""


@pytest.mark.parametrize("mode", ["asgi", "server"])
def test_no_secret_reaches_any_output(project: Project, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("SHOP_TOKEN", SECRETS["authorization"])
    monkeypatch.setenv("SHOP_SID", SECRETS["request_cookie"])
    project.app(SECRET_APP)
    project.app(BUGGY_KIND, name="buggy_kind")
    project.pytester.makeconftest(
        """
        def pytest_prod_defaults_kinds():
            from buggy_kind import BuggyKind

            return [BuggyKind()]
        """
    )
    project.manifest(SECRET_MANIFEST)
    result = project.run(
        "--defaults-mode",
        mode,
        "-p",
        "no:randomly",
        "-vv",
        "--tb=long",
        "-l",
        "-W",
        "default::pytest.PytestWarning",  # the repository's filterwarnings = error reaches in-process runs
        "-o",
        "log_cli=true",
        "--log-level=DEBUG",
        "-o",
        "junit_logging=all",
        "--junitxml=report.xml",
        "--defaults-report=report.json",
        "--defaults-report=report.md",
    )
    result.assert_outcomes(passed=3, failed=5, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "header Set-Cookie on /login: documented 'session=documented', live <redacted> (GET /login answered 200;*",
            "cookie session Secure: documented present, live absent (GET /login answered 200)",
            "cookie session SameSite: documented 'strict', live 'lax' (GET /login answered 200)",
            "health_check /login json: documented cookies_seen = 0, live cookies_seen = 1 (GET /login answered 200)",
            "E       KeyError: 'the kind has a bug'",
        ],
        consecutive=False,
    )
    # The request carried the credentials and the app logged them; what
    # pytest shows of it (captured with the failure, live with log_cli,
    # JUnit XML's system-out) names the variable, never the value.
    assert "login with authorization=Bearer ${SHOP_TOKEN}" in result.stdout.str()
    assert "login with authorization=Bearer ${SHOP_TOKEN}" in (project.path / "report.xml").read_text()
    files = {name: (project.path / name).read_text(encoding="utf-8") for name in ("report.xml", "report.json")}
    files["report.md"] = (project.path / "report.md").read_text(encoding="utf-8")
    json.loads(files["report.json"])
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str(), **files}
    # Failures, tracebacks and their locals, httpcore's debug log, uvicorn's,
    # the app's own log lines, the reports: none holds a secret.
    leaks = [
        f"{where}: {line.strip()[:160]}"
        for where, text in outputs.items()
        for line in text.splitlines()
        if any(secret in line for secret in SECRETS.values())
    ]
    assert leaks == []


ECHO_APP = """
    import logging
    from fastapi import FastAPI, Request, Response

    app = FastAPI()
    log = logging.getLogger("shop.access")

    @app.get("/echo")
    def echo(request: Request, response: Response):
        key = request.headers.get("x-api-key", "")
        print(f"request from key {key}")
        log.warning("request from key %s", key)
        response.headers["X-Seen-Key"] = key
        return {"key": key}
"""


@pytest.mark.all_modes
def test_a_credential_from_the_environment_in_any_header_is_never_shown(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API key sent in a header of any name, read from the environment,
    echoed back by the app in a response header, its body, its printed
    output and its log: pytest shows ``${SHOP_API_KEY}`` in every place."""
    monkeypatch.setenv("SHOP_API_KEY", "k3y-from-ci-secrets")
    project.app(ECHO_APP)
    project.manifest(
        """
        [target]
        app = "app:app"
        headers = { X-Api-Key = "${SHOP_API_KEY}" }

        [[header]]
        name = "X-Seen-Key"
        paths = ["/echo"]
        equals = "documented"

        [[health_check]]
        path = "/echo"
        json = { key = "documented" }
        """
        + QUIET
    )
    result = project.run(
        "-p",
        "no:randomly",
        "-rA",
        "--log-file=run.log",
        "--log-file-level=INFO",
        "--junitxml=report.xml",
        "-o",
        "junit_logging=all",
        "--defaults-report=report.json",
    )
    result.assert_outcomes(passed=1, failed=2)
    header = "header X-Seen-Key on /echo: documented 'documented', live '${SHOP_API_KEY}' (GET /echo answered 200)"
    # What the app printed and logged answering that first request (in url
    # mode the app runs in another process: nothing of it is captured).
    output = ["request from key ${SHOP_API_KEY}", "WARNING  shop.access:app.py:* request from key ${SHOP_API_KEY}"]
    health = 'health_check /echo json: documented key = "documented", live key = "${SHOP_API_KEY}"*'
    result.stdout.fnmatch_lines([header, *(output if project.mode != "url" else []), health], consecutive=False)
    shown = {
        "terminal": result.stdout.str() + result.stderr.str(),
        **{name: (project.path / name).read_text() for name in ("run.log", "report.xml", "report.json")},
    }
    if project.mode != "url":
        assert "request from key ${SHOP_API_KEY}" in shown["run.log"]
    assert [where for where, text in shown.items() if "k3y-from-ci-secrets" in text] == []
    live = {r["name"]: r["live"] for r in json.loads(shown["report.json"])["results"] if r["live"]}
    assert set(live.values()) == {"'${SHOP_API_KEY}'", 'key = "${SHOP_API_KEY}"'}
