"""Hostile input never hangs the run nor crashes it: each is a clear failure
of the items that met it, in a bounded time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import QUIET, Project, usage_error

ECHO_APP = """
    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.get("/")
    def index(response: Response):
        response.headers["X-Trace"] = "a" * 40 + "!"
        response.headers["X-Request-ID"] = "0123456789abcdef0123456789abcdef"
        return {"ok": True}
"""


def test_a_catastrophically_backtracking_pattern_fails_its_item_within_a_bound(project: Project) -> None:
    project.app(ECHO_APP)
    project.manifest(
        f"""
        [target]
        app = "app:app"

        [[header]]
        name = "X-Trace"
        matches = "(a|a)*$"

        [[header]]
        name = "X-Request-ID"
        matches = "[0-9a-f]{{32}}"
        {QUIET}
        """
    )
    started = time.monotonic()
    result = project.run()
    assert time.monotonic() - started < 30  # unbounded, Python's re takes longer than the universe's age
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "header X-Trace on /: documented matching '(a|a)[*]$', live undecided (the pattern took over 1 s on a"
            " 41-character value: it backtracks catastrophically (nested repetition such as (a+)+ or (a|a)[*]);"
            " simplify it)",
        ]
    )


HEADER_MANIFEST = f"""
    [target]
    app = "app:app"
    startup_timeout = 5
    timeout = 2

    [[header]]
    name = "X-Content-Type-Options"
    equals = "nosniff"
    paths = ["/", "/exit", "/interrupt", "/after"]
    {QUIET}
"""

EXITING_ROUTES_APP = """
    import sys

    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.middleware("http")
    async def nosniff(request, call_next):
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/")
    def index():
        return {"ok": True}

    @app.get("/exit")
    async def leave():
        sys.exit(3)

    @app.get("/interrupt")
    async def interrupt():
        raise KeyboardInterrupt

    @app.get("/after")
    def after():
        return {"ok": True}
"""


def test_sys_exit_and_keyboard_interrupt_in_a_route_are_the_500_a_client_gets(project: Project) -> None:
    project.app(EXITING_ROUTES_APP)
    project.manifest(HEADER_MANIFEST)
    result = project.run()
    # The 500s carry no header the middleware never got to add; / and /after
    # answer as before: the app's loop survived.
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "header X-Content-Type-Options on /exit: documented 'nosniff', live missing (GET /exit answered 500)",
            "header X-Content-Type-Options on /interrupt: documented 'nosniff', live missing"
            " (GET /interrupt answered 500)",
        ],
        consecutive=False,
    )
    output = result.stdout.str() + result.stderr.str()
    for sign in ("blocked", "Traceback", "INTERNALERROR", "Task was destroyed"):
        assert sign not in output


def test_under_uvicorn_sys_exit_in_a_route_ends_the_server_and_later_items_say_so(project: Project) -> None:
    # As in production: behind a middleware, the route's SystemExit leaves
    # uvicorn's event loop and ends the server.
    project.mode = "server"
    project.app(EXITING_ROUTES_APP)
    project.manifest(HEADER_MANIFEST)
    started = time.monotonic()
    result = project.run()
    assert time.monotonic() - started < 3 * 2 + 6  # no item waits more than its timeout
    result.assert_outcomes(passed=1, failed=3)
    # The 500 uvicorn writes for the route's SystemExit races the exit
    # itself: either answer names what happened to GET /exit.
    exit_failure = [
        line
        for line in result.stdout.lines
        if line.startswith(("header X-Content-Type-Options on /exit:", "header:X-Content-Type-Options[/exit]:"))
    ]
    assert exit_failure in (
        ["header X-Content-Type-Options on /exit: documented 'nosniff', live missing (GET /exit answered 500)"],
        [
            "header:X-Content-Type-Options[/exit]: target unavailable: GET /exit:"
            " RemoteProtocolError: Server disconnected without sending a response."
        ],
    ), exit_failure
    result.stdout.fnmatch_lines(
        # sent or not (uvicorn may still be winding down): the cause is named
        ["*GET /after *: uvicorn stopped serving: the app raised SystemExit(3), which ends uvicorn"],
        consecutive=False,
    )
    output = result.stdout.str() + result.stderr.str()
    for sign in ("blocked", "INTERNALERROR", "Task was destroyed"):
        assert sign not in output


@pytest.mark.parametrize("project", ["asgi", "server"], indirect=True)
def test_sys_exit_while_the_app_imports_fails_every_item_that_needs_it_in_a_line(project: Project) -> None:
    project.app(
        """
        import os
        import sys

        if os.environ.get("DATABASE_URL") is None:
            print("DATABASE_URL is required", file=sys.stderr)
            sys.exit(1)
        """
    )
    project.manifest(HEADER_MANIFEST)
    result = project.run()
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        ["header:X-Content-Type-Options[[]/[]]: target unavailable: cannot import 'app': sys.exit(1) was called"]
    )
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output and "AssertionError" not in output and "INTERNALERROR" not in output


STARTUP_FAILS = {
    "plain ASGI, startup raises": """
        async def app(scope, receive, send):
            if scope["type"] == "lifespan":
                message = await receive()
                assert message["type"] == "lifespan.startup"
                raise RuntimeError("cannot reach the message broker")
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
    """,
    "FastAPI, startup calls sys.exit": """
        import sys
        from contextlib import asynccontextmanager

        from fastapi import FastAPI

        @asynccontextmanager
        async def lifespan(app):
            sys.exit("migrations are not applied")
            yield

        app = FastAPI(lifespan=lifespan)
    """,
}


@pytest.mark.parametrize("app", list(STARTUP_FAILS.values()), ids=list(STARTUP_FAILS))
@pytest.mark.parametrize("project", ["asgi", "server"], indirect=True)
def test_a_failed_startup_fails_the_items_in_both_modes_alike(project: Project, app: str) -> None:
    project.app(app)
    project.manifest(HEADER_MANIFEST)
    result = project.run()
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(["header:X-Content-Type-Options[[]/[]]: target unavailable: *startup*"])
    said = result.stdout.str()
    assert "cannot reach the message broker" in said or "migrations are not applied" in said
    assert "Traceback" not in said and "INTERNALERROR" not in said


def test_an_extends_chain_too_deep_names_where_it_goes_on(project: Project) -> None:
    for number in range(1, 60):
        (project.path / f"base{number}.toml").write_text(f'extends = ["base{number + 1}.toml"]\n', encoding="utf-8")
    (project.path / "base60.toml").write_text('[[header]]\nname = "X-A"\nabsent = true\n', encoding="utf-8")
    usage_error(
        project,
        'extends = ["base1.toml"]\n[target]\napp = "app:app"\n',
        [
            "base31.toml:1: extends: extends goes more than 32 bases deep:"
            " defaults.toml → ... → base30.toml → base31.toml → base32.toml"
        ],
    )


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_base_that_is_not_a_regular_file_is_named_so_and_never_read(project: Project, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(project.path / "base.toml")  # reading it would wait for a writer for ever
        reference = "base.toml"
    else:
        reference = "/dev/zero"  # reading it would never end
    usage_error(
        project,
        f'extends = ["{reference}"]\n[target]\napp = "app:app"\n',
        [f"defaults.toml:1: extends: '{reference}' (defaults.toml → *): not a regular file"],
    )


SLOW_TO_STOP_APP = """
    import asyncio
    from contextlib import asynccontextmanager
    from pathlib import Path

    from fastapi import FastAPI

    @asynccontextmanager
    async def lifespan(app):
        yield
        Path("shutdown.log").write_text("shutdown began")
        await asyncio.sleep(3600)  # a pool that never drains

    app = FastAPI(lifespan=lifespan)

    @app.get("/")
    async def index():
        return {"ok": True}

    @app.get("/slow")
    async def slow():
        Path("slow.log").write_text("called")
        await asyncio.sleep(3600)
"""


@pytest.mark.parametrize("project", ["asgi", "server"], indirect=True)
def test_a_shutdown_that_never_ends_is_let_go_after_the_timeout(project: Project) -> None:
    project.app(SLOW_TO_STOP_APP)
    project.manifest(HEADER_MANIFEST.replace('paths = ["/", "/exit", "/interrupt", "/after"]', 'paths = ["/"]'))
    started = time.monotonic()
    result = project.run_subprocess(*(["--defaults-mode", "server"] if project.mode == "server" else []))
    took = time.monotonic() - started
    result.assert_outcomes(failed=1)  # no X-Content-Type-Options: the run itself is what is measured
    assert (project.path / "shutdown.log").exists()
    assert took < 2 + 1 + 8, took  # timeout = 2, a second for uvicorn, and the run itself


@pytest.mark.parametrize("mode", ["asgi", "server"])
def test_ctrl_c_ends_the_run_within_seconds_in_every_mode(pytester: pytest.Pytester, mode: str) -> None:
    pytester.makepyfile(app=textwrap.dedent(SLOW_TO_STOP_APP))
    (pytester.path / "defaults.toml").write_text(
        '[target]\napp = "app:app"\ntimeout = 60\n[[header]]\nname = "X-A"\nabsent = true\npaths = ["/slow"]\n'
        + textwrap.dedent(QUIET),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--check-defaults", "-p", "no:cacheprovider", "--defaults-mode", mode],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (pytester.path / "slow.log").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (pytester.path / "slow.log").exists(), "the probe never reached the app"
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
        took = time.monotonic() - interrupted
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, output
    # pytest itself takes most of a second to describe the interrupt; the
    # app's shutdown gets half a second, uvicorn's forced exit as much
    assert took < 4, (took, output)
    assert "INTERNALERROR" not in output


def test_an_app_that_ends_the_process_is_named_by_the_default_being_checked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        app=textwrap.dedent(
            """
            import os

            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/")
            def index():
                return {"ok": True}

            @app.get("/admin/reload")
            def reload():
                os._exit(1)  # a reload that "restarts" the process
            """
        )
    )
    (pytester.path / "defaults.toml").write_text(
        '[target]\napp = "app:app"\n[[header]]\nname = "X-A"\nabsent = true\npaths = ["/", "/admin/reload"]\n'
        + textwrap.dedent(QUIET),
        encoding="utf-8",
    )
    # Read to the end of the pipe, as a terminal or a CI log does: the witness
    # speaks once the test process has gone.
    ended = subprocess.run(
        [sys.executable, "-m", "pytest", "--check-defaults", "-p", "no:cacheprovider"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ended.returncode == 1
    assert (
        "pytest-prod-defaults: the test process ended abruptly while checking"
        " defaults.toml::header:X-A[/admin/reload]: the app ended it (os._exit() or a crash"
    ) in ended.stderr, ended.stderr


def test_a_run_that_ends_normally_leaves_the_witness_silent(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app="from fastapi import FastAPI\napp = FastAPI()\n")
    (pytester.path / "defaults.toml").write_text(
        '[target]\napp = "app:app"\n[[header]]\nname = "X-A"\nabsent = true\n' + textwrap.dedent(QUIET),
        encoding="utf-8",
    )
    result = pytester.runpytest_subprocess("--check-defaults", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "ended abruptly" not in result.stdout.str() + result.stderr.str()
