"""What keeps the plugin fast, checked deterministically (no timings): one
request per distinct request however many items share it, one server per
session, nothing probed or imported before a check needs it, and modules the
command line reuses free of pytest and of heavy imports. The timings
themselves are in bench/ (bench/RESULTS.md)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from conftest import QUIET, Project

HEADERS = 100
PATHS = 10

# Every request is logged to requests.log as "<pid> <method> <path>", and
# each start of the app (lifespan) to starts.log as "<pid>".
MANY_HEADERS_APP = f"""
    import os
    from contextlib import asynccontextmanager
    from pathlib import Path

    from fastapi import FastAPI, Request, Response

    HEADERS = {{f"X-Default-{{i:03d}}": f"value-{{i}}" for i in range({HEADERS})}}
    with Path("imported.log").open("a") as log:
        log.write(f"{{os.getpid()}}\\n")


    @asynccontextmanager
    async def lifespan(app):
        with Path("starts.log").open("a") as log:
            log.write(f"{{os.getpid()}}\\n")
        yield


    app = FastAPI(lifespan=lifespan)


    @app.middleware("http")
    async def documented_defaults(request: Request, call_next):
        with Path("requests.log").open("a") as log:
            log.write(f"{{os.getpid()}} {{request.method}} {{request.url.path}}\\n")
        response = await call_next(request)
        response.headers.update(HEADERS)
        return response


    @app.get("/page/{{number}}")
    def page(number: int):
        return {{"page": number}}


    @app.post("/upload", status_code=201)
    async def upload(request: Request):
        if int(request.headers.get("content-length", "0")) > 1000:  # the header only: streaming bypasses it
            return Response("Content Too Large", 413)
        return {{"received": len(await request.body())}}


    @app.get("/healthz")
    def healthz():
        return {{"status": "ok"}}
"""


def many_headers_manifest(extra: str = "") -> str:
    paths = ", ".join(f'"/page/{n}"' for n in range(PATHS))
    entries = "".join(f'\n[[header]]\nname = "X-Default-{i:03d}"\nequals = "value-{i}"\n' for i in range(HEADERS))
    return f'version = 1\n\n[target]\napp = "app:app"\npaths = [{paths}]\n{entries}{extra}{QUIET}'


def requests_logged(project: Project) -> list[tuple[str, str, str]]:
    lines = (project.path / "requests.log").read_text().splitlines()
    return [tuple(line.split(" ", 2)) for line in lines]  # type: ignore[misc]


@pytest.mark.all_modes
def test_a_thousand_header_items_send_one_request_per_path(project: Project) -> None:
    project.app(MANY_HEADERS_APP)
    project.manifest(many_headers_manifest())
    result = project.run("-q")
    result.assert_outcomes(passed=HEADERS * PATHS)
    requests = requests_logged(project)
    assert sorted((method, path) for _, method, path in requests) == sorted(("GET", f"/page/{n}") for n in range(PATHS))


class SetupRecorder:
    """Which items went through pytest's setup phase (a plugin object, not a
    conftest.py, which would send every item through it)."""

    def __init__(self) -> None:
        self.setup: list[str] = []

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.setup.append(item.name)


def test_a_thousand_header_items_each_take_pytests_full_protocol(project: Project) -> None:
    # Passing comparisons are no longer reported past the per-phase hooks
    # (which plugins may be passed over cannot be told with pytest's public
    # API): a plugin's setup hook sees all 1,000 items, not the 11 that sent
    # a request or tore the manifest down.
    project.app(MANY_HEADERS_APP)
    project.manifest(many_headers_manifest())
    recorder = SetupRecorder()
    result = project.pytester.runpytest("--check-defaults", "-p", "no:cacheprovider", "-q", plugins=[recorder])
    result.assert_outcomes(passed=HEADERS * PATHS)
    assert recorder.setup == [f"header:X-Default-{i:03d}[/page/{n}]" for i in range(HEADERS) for n in range(PATHS)]


def test_collecting_imports_no_app_and_sends_no_request(project: Project) -> None:
    project.app(MANY_HEADERS_APP)
    project.manifest(many_headers_manifest())
    result = project.run("--collect-only", "-q")
    result.stdout.fnmatch_lines([f"{HEADERS * PATHS} tests collected*"])
    assert not (project.path / "imported.log").exists()
    assert not (project.path / "requests.log").exists()


def test_deselected_items_send_nothing(project: Project) -> None:
    project.app(MANY_HEADERS_APP)
    project.manifest(many_headers_manifest())
    result = project.run("-q", "-k", "X-Default-007 and page/3")
    result.assert_outcomes(passed=1, deselected=HEADERS * PATHS - 1)
    assert [(method, path) for _, method, path in requests_logged(project)] == [("GET", "/page/3")]


def test_server_mode_starts_one_server_for_every_kind_of_item(pytester: pytest.Pytester) -> None:
    project = Project(pytester, "server")
    project.app(MANY_HEADERS_APP)
    project.manifest(
        many_headers_manifest(
            '\n[[upload]]\nname = "avatar"\npath = "/upload"\nmax_bytes = 1000\n'
            '\n[[health_check]]\npath = "/healthz"\nstatus = 200\njson = { status = "ok" }\n'
        )
    )
    result = project.run("-q", "-k", "X-Default-000 or upload or health_check")
    result.assert_outcomes(passed=PATHS + 2 + 2, failed=1, deselected=(HEADERS - 1) * PATHS)
    # This app's limit reads only Content-Length: the streamed probe is the
    # one failure, and it shows the uploads reached the same server.
    result.stdout.fnmatch_lines(["FAILED *upload:avatar[[]over-limit-streamed[]]*"])
    requests = requests_logged(project)
    served_by = {pid for pid, _, _ in requests}
    assert len(served_by) == 1
    assert (project.path / "starts.log").read_text().splitlines() == list(served_by)
    counted = Counter((method, path) for _, method, path in requests)
    assert counted == Counter(
        {("POST", "/upload"): 3, ("GET", "/healthz"): 1} | {("GET", f"/page/{n}"): 1 for n in range(PATHS)}
    )


def test_under_xdist_each_worker_sends_each_distinct_request_at_most_once(project: Project) -> None:
    project.app(MANY_HEADERS_APP)
    project.manifest(many_headers_manifest())
    result = project.run_subprocess("-q", "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=HEADERS * PATHS)
    requests = Counter(requests_logged(project))
    assert set(requests.values()) == {1}  # per worker (pid), per path
    assert len({pid for pid, _, _ in requests}) <= 2
    assert {path for _, _, path in requests} == {f"/page/{n}" for n in range(PATHS)}


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        # The command line reuses these: no pytest; and an upload over a
        # socket needs neither httpx nor pydantic.
        ("pytest_prod_defaults.upload_client", ("pytest", "_pytest", "httpx", "httpcore", "pydantic", "fastapi")),
        ("pytest_prod_defaults.bodies", ("pytest", "_pytest", "httpx", "pydantic", "fastapi")),
        # The pytest11 entry module: installed but off, it costs nothing.
        ("pytest_prod_defaults.plugin", ("fastapi", "starlette", "httpx", "pydantic", "uvicorn", "anyio")),
    ],
)
def test_modules_load_nothing_they_do_not_need(module: str, forbidden: tuple[str, ...]) -> None:
    code = (
        "import sys\n"
        f"{'import pytest' if 'pytest' not in forbidden else ''}\n"
        "before = set(sys.modules)\n"
        f"import {module}\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    added = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert module in added
    assert [name for name in added if name.split(".")[0] in forbidden] == []
