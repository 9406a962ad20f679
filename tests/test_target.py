"""Loading and starting the target: env, factories, lifespan, timeouts,
shared responses, stateless probes, and broken apps failing with their cause."""

from __future__ import annotations

import gc
import socket
import threading

import pytest
from conftest import QUIET, Project, header_call_durations


def _echo_header_manifest(app: str, header: str, expected: str, extra: str = "") -> str:
    return (
        f"""
        [target]
        app = "{app}"
        {extra}

        [[header]]
        name = "{header}"
        equals = "{expected}"
    """
        + QUIET
    )


def test_env_is_set_before_import_and_restored_afterwards(project: Project) -> None:
    project.app(
        """
        import os
        from fastapi import FastAPI
        from fastapi.responses import Response

        APP_ENV = os.environ.get("APP_ENV", "unset")
        app = FastAPI()

        @app.get("/")
        def index():
            return Response(headers={"X-App-Env": APP_ENV})
        """
    )
    project.manifest(_echo_header_manifest("app:app", "X-App-Env", "production", 'env = { APP_ENV = "production" }'))
    project.pytester.makepyfile(
        test_env="""
        import os

        def test_env_restored():
            assert "APP_ENV" not in os.environ
        """
    )
    result = project.run("-p", "no:randomly", "test_env.py")
    result.assert_outcomes(passed=2)


def test_factory_is_called(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI
        from fastapi.responses import Response

        def create_app():
            app = FastAPI()

            @app.get("/")
            def index():
                return Response(headers={"X-Made-By": "factory"})

            return app
        """
    )
    project.manifest(_echo_header_manifest("app:create_app()", "X-Made-By", "factory"))
    project.run().assert_outcomes(passed=1)


def test_lifespan_runs_once_per_session_and_state_reaches_requests(project: Project) -> None:
    project.app(
        """
        from contextlib import asynccontextmanager
        from fastapi import FastAPI, Request
        from fastapi.responses import Response

        STARTS = []

        @asynccontextmanager
        async def lifespan(app):
            STARTS.append(1)
            yield {"pool": "ready"}

        app = FastAPI(lifespan=lifespan)

        @app.get("/")
        def index(request: Request):
            return Response(headers={"X-Pool": request.state.pool, "X-Starts": str(len(STARTS))})

        @app.get("/other")
        def other(request: Request):
            return Response(headers={"X-Pool": request.state.pool, "X-Starts": str(len(STARTS))})
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"
        paths = ["/", "/other"]

        [[header]]
        name = "X-Pool"
        equals = "ready"

        [[header]]
        name = "X-Starts"
        equals = "1"
        """
        + QUIET
    )
    project.run().assert_outcomes(passed=4)


def test_one_request_per_distinct_request_shared_by_all_entries(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI
        from fastapi.responses import Response

        app = FastAPI()
        SEEN = []

        @app.get("/")
        def index():
            SEEN.append(1)
            headers = {f"X-H{i}": "v" for i in range(20)}
            headers["X-Request-Count"] = str(len(SEEN))
            return Response(headers=headers)
        """
    )
    entries = "".join(f'\n[[header]]\nname = "X-H{i}"\nequals = "v"\n' for i in range(20))
    project.manifest(
        '[target]\napp = "app:app"\n' + entries + '\n[[header]]\nname = "X-Request-Count"\nequals = "1"\n' + QUIET
    )
    project.run().assert_outcomes(passed=21)


def test_probes_are_stateless_no_cookie_rides_along(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI, Request
        from fastapi.responses import Response

        app = FastAPI()

        @app.get("/login")
        def login():
            response = Response(headers={"X-Saw-Cookie": "no"})
            response.set_cookie("session", "s3cr3t-value")
            return response

        @app.get("/")
        def index(request: Request):
            return Response(headers={"X-Saw-Cookie": "yes" if request.cookies else "no"})
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"
        paths = ["/login", "/"]

        [[header]]
        name = "X-Saw-Cookie"
        equals = "no"
        """
        + QUIET
    )
    result = project.run("-p", "no:randomly")
    result.assert_outcomes(passed=2)
    assert "s3cr3t-value" not in result.stdout.str()


def test_host_and_target_headers_with_environment_variables(project: Project, monkeypatch: object) -> None:
    project.app(
        """
        from fastapi import FastAPI, Request
        from fastapi.responses import Response
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app = FastAPI()
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["api.shop.example"])

        @app.get("/")
        def index(request: Request):
            authorized = request.headers.get("authorization") == "Bearer tok-123"
            return Response(headers={"X-Authorized": "yes" if authorized else "no"})
        """
    )
    project.manifest(
        _echo_header_manifest(
            "app:app",
            "X-Authorized",
            "yes",
            'host = "api.shop.example"\nheaders = { Authorization = "Bearer ${SHOP_TOKEN}" }',
        )
    )
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("SHOP_TOKEN", "tok-123")
    project.run().assert_outcomes(passed=1)


def test_unset_environment_variable_in_headers_is_a_usage_error(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"
        headers = { Authorization = "Bearer ${NOT_SET_ANYWHERE_42}" }
        """
    )
    result = project.run()
    assert result.ret == 4
    # The unset variable alone: not the space it leaves at the value's end.
    problems = [line for line in result.stderr.lines if line.startswith("defaults.toml")]
    assert problems == [
        "defaults.toml:4: target.headers.Authorization: environment variable NOT_SET_ANYWHERE_42 is not set"
    ]


def test_import_error_fails_the_items_that_need_the_app_with_the_cause(project: Project) -> None:
    project.app("import not_a_module_anywhere\n")
    project.manifest(_echo_header_manifest("app:app", "X-A", "b"))
    project.pytester.makepyfile(test_other="def test_other():\n    pass\n")
    result = project.run("test_other.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "header:X-A[[]/[]]: target unavailable: cannot import 'app':"
            " ModuleNotFoundError: No module named 'not_a_module_anywhere'"
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_factory_that_raises_fails_with_its_exception(project: Project) -> None:
    project.app("def create_app():\n    raise RuntimeError('DATABASE_URL missing')\n")
    project.manifest(_echo_header_manifest("app:create_app()", "X-A", "b"))
    result = project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*target unavailable: app:create_app() raised RuntimeError: DATABASE_URL missing"])


def test_missing_attribute_and_not_an_app(project: Project) -> None:
    project.app("application = 42\n")
    project.manifest(_echo_header_manifest("app:app", "X-A", "b"))
    project.run().stdout.fnmatch_lines(["*target unavailable: app:app: 'app' has no attribute 'app'"])
    project.manifest(_echo_header_manifest("app:application", "X-A", "b"))
    project.run().stdout.fnmatch_lines(["*target unavailable: app:application is a int, not an ASGI application"])


def test_lifespan_startup_failure_fails_items_with_the_cause(project: Project) -> None:
    project.app(
        """
        from contextlib import asynccontextmanager
        from fastapi import FastAPI

        @asynccontextmanager
        async def lifespan(app):
            raise ConnectionError("cannot reach db:5432")
            yield

        app = FastAPI(lifespan=lifespan)
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"
        paths = ["/", "/b"]

        [[header]]
        name = "X-A"
        equals = "b"
        """
        + QUIET
    )
    result = project.run()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*target unavailable: app startup failed: ConnectionError: cannot reach db:5432"] * 2)


STARTUP_NEVER_ENDS = """
    import asyncio
    import time
    from contextlib import asynccontextmanager
    from pathlib import Path
    from fastapi import FastAPI

    RELEASE = Path(__file__).with_name("release")

    @asynccontextmanager
    async def lifespan(app):
        deadline = time.monotonic() + 30  # in effect forever; the test lets go at its end
        while not RELEASE.exists() and time.monotonic() < deadline:
            {wait}
        yield

    app = FastAPI(lifespan=lifespan)
"""


def listening_sockets() -> set[socket.socket]:
    """The sockets of this process still open and listening."""
    return {
        obj
        for obj in gc.get_objects()
        # type(), not isinstance(): that asks some proxies for __class__, and
        # itsdangerous 2.0's deprecated json proxy warns when asked.
        if issubclass(type(obj), socket.socket)
        and obj.fileno() != -1
        and obj.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
    }


@pytest.mark.parametrize("mode", ["asgi", "server"])
@pytest.mark.parametrize("wait", ["await asyncio.sleep(0.05)", "time.sleep(0.05)"])
def test_a_startup_that_never_ends_fails_at_startup_timeout_and_the_run_ends(
    project: Project, mode: str, wait: str
) -> None:
    """Awaiting forever, or blocking the event loop (and uvicorn with it,
    which no exit flag then reaches): the items fail at
    ``[target].startup_timeout`` and the run ends soon after, not after a
    further wait for a server that cannot stop."""
    project.app(STARTUP_NEVER_ENDS.format(wait=wait))
    project.manifest(
        """
        [target]
        app = "app:app"
        paths = ["/", "/b"]
        startup_timeout = 1

        [[header]]
        name = "X-A"
        equals = "b"
        """
        + QUIET
    )
    before = set(threading.enumerate())
    listening_before = listening_sockets()
    try:
        result = project.run("--defaults-mode", mode, "-p", "no:randomly")
    finally:
        (project.path / "release").touch()
    # Let go, the abandoned server or loop ends on its own, leaving no
    # thread behind for later tests, nor a socket for the garbage collector.
    for thread in set(threading.enumerate()) - before:
        thread.join(10)
        assert not thread.is_alive(), thread
    assert listening_sockets() - listening_before == set()
    result.assert_outcomes(failed=2)
    if mode == "server":
        said = "the app's startup (lifespan) did not complete within [[]target[]].startup_timeout = 1 s"
    elif wait.startswith("await"):
        said = "app startup (lifespan) did not complete within [[]target[]].startup_timeout = 1 s"
    else:
        said = "app startup did not answer within [[]target[]].startup_timeout = 1 s, and blocks the app's event loop*"
    result.stdout.fnmatch_lines([f"header:X-A[[]/[]]: target unavailable: {said}"])
    assert result.duration < 8  # uvicorn's stop used to wait 15 s more for a thread no flag reaches


def test_an_exception_in_the_app_is_seen_as_a_500(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/")
        def index():
            raise ValueError("boom")
        """
    )
    project.manifest(_echo_header_manifest("app:app", "X-A", "b"))
    result = project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["header X-A on /: documented 'b', live missing (GET / answered 500)"])


def test_a_hanging_endpoint_fails_at_the_timeout_and_the_run_goes_on(project: Project) -> None:
    project.app(
        """
        import asyncio
        from fastapi import FastAPI
        from fastapi.responses import Response

        app = FastAPI()

        @app.get("/slow")
        async def slow():
            await asyncio.sleep(3600)

        @app.get("/")
        def index():
            return Response(headers={"X-A": "b"})
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"
        paths = ["/slow", "/"]
        timeout = 0.3

        [[header]]
        name = "X-A"
        equals = "b"
        """
        + QUIET
    )
    result = project.run("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*target unavailable: GET /slow did not answer within [[]target[]].timeout = 0.3 s"])


def test_plain_asgi_app_is_a_valid_target(project: Project) -> None:
    project.app(
        """
        async def app(scope, receive, send):
            assert scope["type"] == "http"
            await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"b")]})
            await send({"type": "http.response.body", "body": b"ok"})
        """
    )
    project.manifest(_echo_header_manifest("app:app", "X-A", "b"))
    project.run().assert_outcomes(passed=1)


def test_plain_asgi_app_that_ignores_lifespan_starts_at_once(project: Project) -> None:
    project.app(
        """
        async def app(scope, receive, send):
            if scope["type"] != "http":
                return  # no lifespan support, the common way
            await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"b")]})
            await send({"type": "http.response.body", "body": b"ok"})
        """
    )
    project.manifest(_echo_header_manifest("app:app", "X-A", "b"))
    result = project.run()
    result.assert_outcomes(passed=1)
    # Without the guard, startup waits for its 10 s timeout and then fails.
    assert result.duration < 8


def test_lifespan_on_with_an_app_that_ignores_it_fails_with_the_reason(project: Project) -> None:
    project.app(
        """
        async def app(scope, receive, send):
            if scope["type"] != "http":
                return
        """
    )
    project.manifest(_echo_header_manifest("app:app", "X-A", "b", 'lifespan = "on"'))
    result = project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*target unavailable: lifespan = 'on', but the app does not support the lifespan protocol"]
    )


STREAMING_APP = """
    import asyncio
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    app = FastAPI()

    async def forever(line):
        while True:
            yield line
            await asyncio.sleep(0.05)

    @app.get("/events")
    def events():
        return StreamingResponse(forever(b"data: tick\\\\n\\\\n"), media_type="text/event-stream", headers={"X-A": "b"})

    @app.get("/feed")
    def feed():
        return StreamingResponse(forever(b'{"ok": true}\\\\n'), media_type="application/json", headers={"X-A": "b"})
"""


@pytest.mark.all_modes
def test_a_streamed_answer_is_checked_from_its_head_and_cut_off(project: Project) -> None:
    """Server-sent events never end, by design: their head is enough, at
    once. Any other stream gets ``timeout`` to end and is then hung up on,
    its headers checked as any answer's; only a check of its body fails."""
    project.app(STREAMING_APP)
    project.manifest(
        """
        [target]
        app = "app:app"
        paths = ["/events", "/feed"]
        timeout = 1

        [[header]]
        name = "X-A"
        equals = "b"

        [[health_check]]
        path = "/feed"
        json = { ok = true }
        """
        + QUIET
    )
    result = project.run("-p", "no:randomly", "--durations=0", "-vv")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            'health_check /feed json: documented JSON containing {"ok": true},'
            " live a body still streaming when cut off at [[]target[]].timeout (GET /feed answered 200)",
        ]
    )
    durations = header_call_durations(result)
    assert durations["/events"] < 0.9  # not the timeout: there is no end to wait for
    assert 0.9 < durations["/feed"] < 3
    assert result.duration < 8


@pytest.mark.all_modes
def test_a_body_streamed_in_chunks_through_middleware_is_read_to_its_end(project: Project) -> None:
    """A client that has sent its request reads the answer to its end; an
    in-process probe once hung up as soon as the answer began, and
    Starlette, seeing the disconnect, cut the stream after its first chunk."""
    project.app(
        """
        import asyncio
        from fastapi import FastAPI
        from fastapi.responses import StreamingResponse

        app = FastAPI()

        @app.middleware("http")
        async def documented(request, call_next):
            response = await call_next(request)
            response.headers["X-A"] = "b"
            return response

        @app.get("/healthz")
        def healthz():
            async def chunks():
                for part in (b'{"status": ', b'"ok", ', b'"db": "up"}'):
                    yield part
                    await asyncio.sleep(0.05)
            return StreamingResponse(chunks(), media_type="application/json")
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"

        [[health_check]]
        path = "/healthz"
        json = { status = "ok", db = "up" }
        """
        + QUIET
    )
    project.run("-p", "no:randomly").assert_outcomes(passed=2)
