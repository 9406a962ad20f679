"""A request that gets no answer is sent once: every other item that reads
it fails at once, naming that first failure, in every mode."""

from __future__ import annotations

import itertools
import re

import pytest
from conftest import UNUSED_URL, Project

HEALTHZ_HEADERS = (
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Strict-Transport-Security",
    "Referrer-Policy",
    "Content-Security-Policy",
    "Permissions-Policy",
    "Cross-Origin-Opener-Policy",
    "Cross-Origin-Resource-Policy",
)

HUNG_APP = """
    import asyncio
    from pathlib import Path

    from fastapi import FastAPI, Response

    app = FastAPI()
    HERE = Path(__file__).parent

    @app.get("/healthz")
    async def healthz():
        with (HERE / "calls.log").open("a") as log:
            log.write("GET /healthz\\n")
        # Never answers while the run goes on (the loop is free meanwhile);
        # let go afterwards, so no server waits for it at shutdown.
        while not (HERE / "release").exists():
            await asyncio.sleep(0.05)
        return {"status": "ok"}

    @app.get("/")
    def index():
        return Response(headers={"X-A": "b"})
"""

CRASHING_APP = """
    from pathlib import Path

    from fastapi import FastAPI, Response
    from fastapi.responses import StreamingResponse

    app = FastAPI()
    HERE = Path(__file__).parent

    async def body():
        yield b'{"status":'
        raise RuntimeError("the app crashed while answering")

    @app.get("/healthz")
    async def healthz():
        with (HERE / "calls.log").open("a") as log:
            log.write("GET /healthz\\n")
        return StreamingResponse(body(), media_type="application/json")

    @app.get("/")
    def index():
        return Response(headers={"X-A": "b"})
"""


def manifest(timeout: float = 1) -> str:
    headers = "".join(
        f'\n[[header]]\nname = "{name}"\nequals = "x"\npaths = ["/healthz"]\n' for name in HEALTHZ_HEADERS
    )
    return f"""
[target]
app = "app:app"
paths = ["/"]
timeout = {timeout:g}

[[health_check]]
path = "/healthz"
content_type = "application/json"
json = {{ status = "ok" }}
max_ms = 500
samples = 3
{headers}
[[header]]
name = "X-A"
equals = "b"

[[cache_rule]]
name = "health"
cache_control = "no-store"
cached = ["/healthz"]

[undocumented]
headers = "fail"
settings = "off"
middleware = "off"
config = "off"
ignore_headers = ["server"]
"""


HEALTHZ_ITEMS = {
    "health_check:/healthz[status]",
    "health_check:/healthz[content_type]",
    "health_check:/healthz[json]",
    "health_check:/healthz[latency]",
    *(f"header:{name}[/healthz]" for name in HEALTHZ_HEADERS),
    "cache_rule:health[/healthz]",
    "undocumented:headers[/healthz]",
}
"""The fourteen items that read GET /healthz."""


def failures(result: pytest.RunResult) -> dict[str, str]:
    """The first line of each failed item's failure, from the FAILURES
    section (pytest 8.0's short summary leaves a plain-text failure out), in
    run order."""
    lines = result.stdout.lines
    found: dict[str, str] = {}
    for heading, first in itertools.pairwise(lines):
        named = re.match(r"^_+ (\S+) _+$", heading)
        if named and first.startswith(f"{named.group(1)}: "):
            found[named.group(1)] = first.removeprefix(f"{named.group(1)}: ")
    return found


def call_durations(result: pytest.RunResult) -> dict[str, float]:
    """Seconds the call of each item took, by item name, read from a run
    with ``--durations=0 -vv``."""
    return {
        found.group(2): float(found.group(1))
        for line in result.stdout.lines
        if (found := re.match(r"^(\d+\.\d+)s call +\S+::(\S+)$", line))
    }


def run_against_healthz(project: Project, app: str) -> pytest.RunResult:
    project.app(app)
    project.manifest(manifest())
    try:
        result = project.run("-p", "no:randomly", "--durations=0", "-vv")
    finally:
        (project.path / "release").touch()
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    return result


def assert_failed_once_for_all(result: pytest.RunResult, first: str) -> None:
    """Every item reading GET /healthz failed; the first with ``first``
    (a regex), each later one with that same text, said to be the earlier
    failure; the items on / passed."""
    result.assert_outcomes(passed=2, failed=len(HEALTHZ_ITEMS))
    failed = failures(result)
    assert set(failed) == HEALTHZ_ITEMS
    said = list(failed.values())  # in run order
    assert re.fullmatch(f"target unavailable: {first}", said[0]), said[0]
    later = said[0] + " (failed earlier in this run; not sent again)"
    assert said[1:] == [later] * (len(said) - 1)


@pytest.mark.all_modes
def test_a_hung_request_costs_one_timeout_and_fails_every_item_that_reads_it(project: Project) -> None:
    result = run_against_healthz(project, HUNG_APP)
    assert_failed_once_for_all(result, re.escape("GET /healthz did not answer within [target].timeout = 1 s"))
    assert (project.path / "calls.log").read_text().splitlines() == ["GET /healthz"]
    # Before: each of the fourteen items waited out its own timeout, 15 s
    # in every mode with timeout = 1 s (74 s with the default 5 s).
    durations = call_durations(result)
    waited = sorted(durations.values(), reverse=True)
    assert 0.9 < waited[0] < 6, durations  # the app's import included
    assert sum(waited[1:]) < 1, durations
    assert result.duration < 12  # app import and server start included, on a busy machine


def test_a_hung_latency_sample_fails_the_checks_reading_the_shared_response_at_once(project: Project) -> None:
    """The latency check sends its own uncached requests; run first, its
    failure is the one the others name."""
    project.pytester.makeconftest(
        """
        def pytest_collection_modifyitems(items):
            items.sort(key=lambda item: not item.name.endswith("[latency]"))
        """
    )
    result = run_against_healthz(project, HUNG_APP)
    assert_failed_once_for_all(result, re.escape("GET /healthz did not answer within [target].timeout = 1 s"))
    assert next(iter(failures(result))) == "health_check:/healthz[latency]"
    assert (project.path / "calls.log").read_text().splitlines() == ["GET /healthz"]
    durations = call_durations(result)
    assert 0.9 < durations.pop("health_check:/healthz[latency]") < 6
    assert sum(durations.values()) < 1, durations


@pytest.mark.parametrize("mode", ["server", "url"])
def test_an_app_crashing_while_answering_is_asked_once(project: Project, mode: str) -> None:
    """Under uvicorn, an exception after the answer began breaks the
    connection: a failure, remembered like a timeout. (In-process the
    same exception ends the body: an answer, with what had come.)"""
    project.mode = mode
    result = run_against_healthz(project, CRASHING_APP)
    assert_failed_once_for_all(result, r"GET /healthz: RemoteProtocolError: .+")
    assert (project.path / "calls.log").read_text().splitlines() == ["GET /healthz"]


def test_a_refused_connection_is_remembered_per_request(project: Project) -> None:
    project.app(HUNG_APP)
    project.manifest(manifest())
    result = project.run("--defaults-url", UNUSED_URL, "-p", "no:randomly", "-vv")
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    result.assert_outcomes(failed=len(HEALTHZ_ITEMS) + 2)
    failed = failures(result)
    said = [failed[item] for item in failed if item in HEALTHZ_ITEMS]
    assert re.fullmatch(r"target unavailable: GET /healthz: ConnectError: .+", said[0]), said[0]
    assert said[1:] == [said[0] + " (failed earlier in this run; not sent again)"] * (len(said) - 1)
