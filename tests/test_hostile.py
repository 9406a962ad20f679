"""Hostile input never hangs the run nor crashes it: each is a clear failure
of the items that met it, in a bounded time."""

from __future__ import annotations

import time

from conftest import QUIET, Project

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
