"""Shared fixtures: every test writes a real FastAPI app and a manifest into a
pytester folder and runs a real pytest session against them."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import settings

# Timing is measured by bench/, never by a test: on a shared machine a
# per-example deadline only measures the neighbours.
settings.register_profile("prod-defaults", deadline=None)
settings.load_profile("prod-defaults")

MODES = ("asgi", "server", "url")
# Newer FastAPI versions have max_body_size, and form_limits (kept on app.router);
# the range pyproject.toml allows spans both sides.
HAS_BODY_LIMITS = hasattr(FastAPI(), "max_body_size")
HAS_FORM_LIMITS = hasattr(FastAPI(), "form_limits") or hasattr(FastAPI().router, "form_limits")
NEWER_SETTINGS = int(HAS_BODY_LIMITS) + int(HAS_FORM_LIMITS)
"""How many of those this FastAPI has: items and captured settings they add."""


def _cors_says_vary_to_any_request() -> bool:
    """Whether the installed Starlette's CORSMiddleware answers a request
    without an Origin with Vary: Origin (recent ones do; older ones, 0.36
    among them, only a request that has an Origin)."""
    from starlette.middleware.cors import CORSMiddleware

    sent: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    asyncio.run(CORSMiddleware(app, allow_origins=["https://a.example"])(scope, receive, send))
    return any(name.lower() == b"vary" for name, _ in sent[0]["headers"])


CORS_VARY = int(_cors_says_vary_to_any_request())
"""1 where a CORS app's every answer has a Vary header, else 0: the Vary
items (one per path) and captured headers it adds."""
SERVE_TARGET = Path(__file__).with_name("serve_target.py")
UNUSABLE_MANIFEST = 4
UNUSED_URL = "http://127.0.0.1:9"
QUIET = """
[undocumented]
headers = "off"
settings = "off"
middleware = "off"
config = "off"
"""
"""Appended to a manifest whose test counts outcomes: nothing undocumented
is looked for (this suite's warnings-as-errors reach in-process runs)."""

EARLY_ANSWER_APP = """
    from pathlib import Path

    from starlette.responses import PlainTextResponse, StreamingResponse

    async def chunks():
        yield b"accepted"

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        if int(headers.get(b"content-length", b"-1")) == 1024**3:
            await StreamingResponse(chunks())(scope, receive, send)
        else:
            await PlainTextResponse("Content Too Large", 413)(scope, receive, send)
        drained = 0
        while True:
            message = await receive()
            drained += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        with Path("drained.log").open("a") as log:
            log.write(f"{message['type']} {drained}\\n")
"""
"""A plain ASGI app that answers before reading the body (413, or a streamed
200 to a body of exactly 1 GiB) and only then drains it, logging what it
drained to drained.log."""


class Project:
    """A folder with an app module and a ``defaults.toml``."""

    def __init__(self, pytester: pytest.Pytester, mode: str = "asgi") -> None:
        self.pytester = pytester
        self.path = pytester.path
        self.mode = mode

    def app(self, source: str, name: str = "app") -> None:
        """Write ``<name>.py`` (dedented)."""
        self.pytester.makepyfile(**{name: textwrap.dedent(source)})

    def manifest(self, toml: str, name: str = "defaults.toml") -> None:
        """Write the manifest (dedented)."""
        (self.path / name).write_text(textwrap.dedent(toml), encoding="utf-8")

    def run(self, *args: str) -> pytest.RunResult:
        """``pytest --check-defaults`` in-process, no cache, every outcome
        reported; in this project's mode (asgi, server, or url against the
        app served by uvicorn in another process)."""
        if self.mode == "server":
            args = ("--defaults-mode", "server", *args)
        if self.mode != "url":
            return self.pytester.runpytest("--check-defaults", "-p", "no:cacheprovider", "-rA", *args)
        with serve(self.path / "defaults.toml") as url:
            return self.pytester.runpytest(
                "--check-defaults", "-p", "no:cacheprovider", "-rA", "--defaults-url", url, *args
            )

    def run_subprocess(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess("--check-defaults", "-p", "no:cacheprovider", "-rA", *args)


@contextlib.contextmanager
def serve(manifest: Path) -> Iterator[str]:
    """The manifest's app under uvicorn on 127.0.0.1 in a child process."""
    process = subprocess.Popen(
        [sys.executable, str(SERVE_TARGET), str(manifest)],
        cwd=manifest.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url and process.wait(10) == UNUSABLE_MANIFEST:
            # Nothing to serve; the run under test refuses the manifest before
            # it sends a request, so any address will do.
            url = UNUSED_URL
        elif not url.startswith("http://127.0.0.1:"):
            process.kill()
            raise RuntimeError(f"test server did not start: {process.communicate()[1][-2000:]}")
        yield url
    finally:
        try:
            process.communicate(timeout=10)  # closes stdin: the server stops
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "all_modes: run the test with the target in-process, under uvicorn, and as a URL"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "project" in metafunc.fixturenames and metafunc.definition.get_closest_marker("all_modes"):
        metafunc.parametrize("project", MODES, indirect=True)


@pytest.fixture
def project(pytester: pytest.Pytester, request: pytest.FixtureRequest) -> Project:
    return Project(pytester, getattr(request, "param", "asgi"))


def header_call_durations(result: pytest.RunResult) -> dict[str, float]:
    """Seconds the call of each ``header:X-A[<path>]`` item took, by path,
    read from a run with ``--durations=0 -vv``."""
    return {
        found.group(2): float(found.group(1))
        for line in result.stdout.lines
        if (found := re.match(r"^(\d+\.\d+)s call .*header:X-A\[(/\w+)\]$", line))
    }


def usage_error(project: Project, toml: str, expected: list[str]) -> pytest.RunResult:
    """Run with ``toml`` as the manifest: a usage error listing ``expected``
    (fnmatch lines), with no traceback and no INTERNALERROR."""
    (project.path / "defaults.toml").write_text(toml, encoding="utf-8")
    result = project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: unusable defaults manifest:", *expected])
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    return result
