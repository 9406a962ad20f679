"""The same manifest against the app in-process, under uvicorn on
127.0.0.1, and as a deployed URL."""

from __future__ import annotations

import re
import socket
import threading

import pytest
from conftest import QUIET, Project, serve

SERVER_APP = """
    from pathlib import Path
    from fastapi import FastAPI, Request
    from fastapi.responses import Response

    app = FastAPI()

    @app.get("/")
    def index(request: Request):
        port = request.scope.get("server", ("", 0))[1] or 0
        Path("port.txt").write_text(str(port))
        return Response(headers={"X-Frame-Options": "DENY"})
"""


SERVER_MANIFEST = (
    """
    [target]
    app = "app:app"
    UVICORN

    [[header]]
    name = "X-Frame-Options"
    equals = "DENY"

    [[header]]
    name = "Server"
    absent = true
    why = "do not advertise the stack"
    """
    + QUIET
)


@pytest.mark.all_modes
def test_same_manifest_passes_in_every_mode(project: Project) -> None:
    project.app(SERVER_APP)
    project.manifest(SERVER_MANIFEST.replace("UVICORN", "uvicorn = { server_header = false }"))
    project.run().assert_outcomes(passed=2)


def test_a_header_only_the_server_adds_is_caught_in_server_mode(project: Project) -> None:
    project.app(SERVER_APP)
    project.manifest(SERVER_MANIFEST.replace("UVICORN", ""))
    project.run().assert_outcomes(passed=2)  # in-process there is no server header
    result = project.run("--defaults-mode", "server")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "header Server on /: documented absent, live 'uvicorn' (GET / answered 200)",
            "  why:      do not advertise the stack",
        ]
    )


def test_undocumented_server_header_is_flagged_in_server_mode(project: Project) -> None:
    project.app(SERVER_APP)
    project.manifest(
        """
        [target]
        app = "app:app"

        [[header]]
        name = "X-Frame-Options"
        equals = "DENY"

        [undocumented]
        headers = "fail"
        settings = "off"
        middleware = "off"
        config = "off"
        """
    )
    project.run().assert_outcomes(passed=2)
    result = project.run("--defaults-mode", "server")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*server*"])


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_server_is_stopped_and_its_port_free_after_the_run(project: Project) -> None:
    project.app(SERVER_APP)
    project.manifest(SERVER_MANIFEST.replace("UVICORN", "uvicorn = { server_header = false }"))
    project.run("--defaults-mode", "server").assert_outcomes(passed=2)
    port = int((project.path / "port.txt").read_text())
    assert port > 0
    assert _port_is_free(port)
    assert not [t for t in threading.enumerate() if t.name == "prod-defaults-uvicorn"]


def test_server_is_stopped_when_the_run_is_interrupted(project: Project) -> None:
    project.app(SERVER_APP)
    project.manifest(SERVER_MANIFEST.replace("UVICORN", ""))
    project.pytester.makepyfile(test_interrupt="def test_interrupt():\n    raise KeyboardInterrupt\n")
    result = project.pytester.runpytest_subprocess(
        "--check-defaults", "--defaults-mode", "server", "-p", "no:cacheprovider", "-p", "no:randomly"
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    port = int((project.path / "port.txt").read_text())
    assert _port_is_free(port)


def test_a_server_that_will_not_start_fails_items_with_its_own_words(project: Project) -> None:
    project.app(
        """
        from contextlib import asynccontextmanager
        from fastapi import FastAPI

        @asynccontextmanager
        async def lifespan(app):
            raise RuntimeError("redis unreachable at startup")
            yield

        app = FastAPI(lifespan=lifespan)
        """
    )
    project.manifest(SERVER_MANIFEST.replace("UVICORN", ""))
    result = project.run("--defaults-mode", "server")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*target unavailable: uvicorn exited during startup: *redis unreachable at startup*"])
    result.stdout.no_fnmatch_line("*Traceback*")


@pytest.mark.parametrize("mode", ["asgi", "server"])
def test_unknown_uvicorn_option_is_a_usage_error_naming_the_closest_in_every_mode(project: Project, mode: str) -> None:
    project.app(SERVER_APP)
    project.manifest(SERVER_MANIFEST.replace("UVICORN", "uvicorn = { sever_header = false }"))
    result = project.run("--defaults-mode", mode)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["defaults.toml:*: target.uvicorn.sever_header: not a uvicorn option; did you mean 'server_header'?"]
    )


def test_url_mode_reads_settings_from_the_app_when_it_is_given(project: Project) -> None:
    project.app(SERVER_APP)
    project.manifest(
        SERVER_MANIFEST.replace("UVICORN", "uvicorn = { server_header = false }") + "\n[settings]\ndebug = false\n"
    )
    with serve(project.path / "defaults.toml") as url:
        result = project.run("--defaults-url", url)
    result.assert_outcomes(passed=3)


def test_url_mode_without_an_app_skips_introspection_with_the_reason(project: Project) -> None:
    project.app(SERVER_APP)
    project.manifest(SERVER_MANIFEST.replace("UVICORN", "uvicorn = { server_header = false }"))
    with serve(project.path / "defaults.toml") as url:
        project.manifest(
            f"""
            [target]
            mode = "url"
            base_url = "{url}"

            [[header]]
            name = "X-Frame-Options"
            equals = "DENY"

            [settings]
            debug = false
            """
            + QUIET
        )
        result = project.run()
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED * mode = 'url' has no application object; give [[]target[]].app to inspect it"]
    )


def test_url_mode_against_nothing_listening_fails_with_the_cause(project: Project) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    project.manifest(
        f"""
        [target]
        mode = "url"
        base_url = "http://127.0.0.1:{port}"
        timeout = 2

        [[header]]
        name = "X-Frame-Options"
        equals = "DENY"
        """
        + QUIET
    )
    result = project.run()
    result.assert_outcomes(failed=1)
    assert re.search(r"target unavailable: GET /: ConnectError", result.stdout.str())
