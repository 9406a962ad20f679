"""``[[health_check]]``: status, content type, JSON subset and latency budget,
each reported on its own."""

from __future__ import annotations

import pytest
from conftest import QUIET, Project

from pytest_prod_defaults.kinds.health_check import HealthCheckEntry, HealthCheckKind, content_type_holds

# Every HTTP check behaves the same in-process, under uvicorn and against a URL.
pytestmark = pytest.mark.all_modes

HEALTH_APP = """
    import asyncio

    from fastapi import FastAPI
    from fastapi.responses import JSONResponse, PlainTextResponse

    app = FastAPI()

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "checks": {"db": "up", "cache": "up"}, "version": "1.2.3", "ready": True}

    @app.get("/sick")
    def sick():
        body = {"status": "degraded", "checks": {"db": "down", "cache": "up"}, "detail": "x" * 500, "ready": 1}
        return JSONResponse(body, status_code=503)

    @app.get("/slow")
    async def slow():
        await asyncio.sleep(0.06)
        return {"status": "ok"}

    @app.get("/text")
    def text():
        return PlainTextResponse("ok")

    @app.post("/deep")
    def deep():
        return {"status": "ok"}
"""


def manifest(entries: str) -> str:
    return f"""
        version = 1

        [service]
        owner = "platform-team"

        [target]
        app = "app:app"
        {entries}
        {QUIET}
    """


def test_a_healthy_endpoint_passes_every_documented_item(project: Project) -> None:
    project.app(HEALTH_APP)
    project.manifest(
        manifest(
            """
            [[health_check]]
            path = "/healthz"
            status = 200
            content_type = "Application/JSON"
            json = { status = "ok", checks = { db = "up" }, ready = true }
            max_ms = 2000
            samples = 3

            [[health_check]]
            name = "liveness"
            path = "/text"
            content_type = "text/plain; charset=UTF-8"

            [[health_check]]
            path = "/deep"
            method = "post"
            json = { status = "ok" }
            """
        )
    )
    result = project.run()
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::health_check:/healthz[[]status[]]",
            "PASSED defaults.toml::health_check:/healthz[[]content_type[]]",
            "PASSED defaults.toml::health_check:/healthz[[]json[]]",
            "PASSED defaults.toml::health_check:/healthz[[]latency[]]",
            "PASSED defaults.toml::health_check:liveness[[]status[]]",
            "PASSED defaults.toml::health_check:liveness[[]content_type[]]",
            "PASSED defaults.toml::health_check:/deep[[]status[]]",
            "PASSED defaults.toml::health_check:/deep[[]json[]]",
        ]
    )


def test_a_compressed_json_body_is_read_as_the_app_wrote_it(project: Project) -> None:
    # Every probe accepts gzip, as browsers do; GZipMiddleware then compresses.
    project.app(
        """
        from fastapi import FastAPI
        from starlette.middleware.gzip import GZipMiddleware

        app = FastAPI()
        app.add_middleware(GZipMiddleware, minimum_size=0)

        @app.get("/healthz")
        def healthz():
            return {"status": "ok", "padding": "x" * 2000}
        """
    )
    project.manifest(manifest('[[health_check]]\npath = "/healthz"\njson = { status = "ok" }\n'))
    result = project.run()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["PASSED defaults.toml::health_check:/healthz[[]json[]]"])


def test_a_slow_but_healthy_endpoint_reads_as_slow_only(project: Project) -> None:
    project.app(HEALTH_APP)
    project.manifest(
        manifest(
            """
            [[health_check]]
            path = "/slow"
            content_type = "application/json"
            json = { status = "ok" }
            max_ms = 10
            samples = 3
            """
        )
    )
    result = project.run()
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "FAILED defaults.toml::health_check:/slow[[]latency[]]*",
        ]
    )
    result.stdout.re_match_lines(
        [r"health_check /slow latency: documented median <= 10 ms over 3 requests, live median \d+ ms$"]
    )


def test_an_unhealthy_endpoint_fails_status_and_json_showing_only_differing_keys(project: Project) -> None:
    project.app(HEALTH_APP)
    project.manifest(
        manifest(
            """
            [[health_check]]
            path = "/sick"
            content_type = "application/json"
            json = { status = "ok", checks = { db = "up", cache = "up" }, version = "1.2.3", ready = true }

            [[health_check]]
            path = "/sick"
            name = "sick detail"
            json = { detail = "short" }
            """
        )
    )
    result = project.run()
    result.assert_outcomes(passed=1, failed=4)
    result.stdout.fnmatch_lines(["health_check /sick status: documented 200, live 503"])
    result.stdout.fnmatch_lines(
        [
            'health_check /sick json: documented status = "ok", checks.db = "up", version = "1.2.3", ready = true,'
            ' live status = "degraded", checks.db = "down", version missing, ready = 1 (GET /sick answered 503)'
        ]
    )
    result.stdout.fnmatch_lines(
        [f'health_check sick detail json: documented detail = "short", live detail = "{"x" * 75}..." (*)']
    )
    assert "x" * 100 not in result.stdout.str()


def test_content_type_compares_media_type_and_only_named_parameters(project: Project) -> None:
    project.app(HEALTH_APP)
    project.manifest(
        manifest(
            """
            [[health_check]]
            path = "/healthz"
            content_type = "application/json; charset=utf-8"

            [[health_check]]
            path = "/text"
            content_type = "text/plain; charset=latin-1"

            [[health_check]]
            path = "/text"
            name = "text is json"
            content_type = "application/json"
            """
        )
    )
    result = project.run()
    result.assert_outcomes(passed=3, failed=3)
    result.stdout.fnmatch_lines(
        [
            "health_check /healthz content_type: documented 'application/json; charset=utf-8',"
            " live 'application/json' (GET /healthz answered 200)",
            "health_check /text content_type: documented 'text/plain; charset=latin-1',"
            " live 'text/plain; charset=utf-8' (GET /text answered 200)",
            "health_check text is json content_type: documented 'application/json',"
            " live 'text/plain; charset=utf-8' (GET /text answered 200)",
        ]
    )


def test_a_body_that_is_not_json_fails_the_json_item_without_printing_it(project: Project) -> None:
    project.app(HEALTH_APP)
    project.manifest(
        manifest(
            """
            [[health_check]]
            path = "/text"
            json = { status = "ok" }
            """
        )
    )
    result = project.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            'health_check /text json: documented JSON containing {"status": "ok"},'
            " live not JSON (text/plain; charset=utf-8, 2 bytes) (GET /text answered 200)"
        ]
    )


def test_failure_shows_why_owner_rollback_and_the_entry_line(project: Project) -> None:
    project.app(HEALTH_APP)
    project.manifest(
        """
        [target]
        app = "app:app"

        [[health_check]]
        path = "/sick"
        why = "the load balancer drains instances whose health check fails"
        owner = "sre"
        rollback = "point the load balancer back at /ping"
        """
        + QUIET
    )
    result = project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ health_check:/sick[[]status[]] _*",
            "health_check /sick status: documented 200, live 503",
            "  why:      the load balancer drains instances whose health check fails",
            "  owner:    sre",
            "  rollback: point the load balancer back at /ping",
            "  manifest: defaults.toml:5",
        ]
    )


def test_skip_waives_every_item_of_the_entry_with_its_reason(project: Project) -> None:
    project.app(HEALTH_APP)
    project.manifest(
        manifest(
            """
            [[health_check]]
            path = "/sick"
            json = { status = "ok" }
            max_ms = 1
            skip = "db migration in progress; CHG-12"
            """
        )
    )
    result = project.run()
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["SKIPPED * db migration in progress; CHG-12"])


def test_manifest_errors_name_file_line_and_key_json_by_its_manifest_name(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [[health_check]]
        path = "/healthz"
        json = "ok"
        samples = 0
        max_ms = 0

        [[health_check]]
        path = "healthz"
        content_type = "json"
        json_body = { status = "ok" }

        [[health_check]]
        path = "/healthz"
        json = { since = 2024-01-01 }
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "ERROR: unusable defaults manifest:",
            "defaults.toml:7: health_check[[]1[]].json (/healthz): Input should be a valid dictionary*",
            "defaults.toml:9: health_check[[]1[]].max_ms (/healthz): Input should be greater than 0",
            "defaults.toml:8: health_check[[]1[]].samples (/healthz): Input should be greater than or equal to 1",
            "defaults.toml:12: health_check[[]2[]].path: a path starts with '/' (got 'healthz')",
            "defaults.toml:13: health_check[[]2[]].content_type (healthz):"
            " 'json' is not a media type like 'application/json'",
            "defaults.toml:14: health_check[[]2[]].json_body (healthz): unknown key 'json_body'; did you mean 'json'?",
            "defaults.toml:18: health_check[[]3[]].json (/healthz): since is a TOML date or time, which JSON has not;"
            " write it as a string",
        ]
    )


def test_probed_paths_are_the_get_paths() -> None:
    kind = HealthCheckKind()
    get = HealthCheckEntry.model_validate({"path": "/healthz"})
    post = HealthCheckEntry.model_validate({"path": "/deep", "method": "POST"})
    assert list(kind.probed_paths(get, None)) == ["/healthz"]  # type: ignore[arg-type]
    assert list(kind.probed_paths(post, None)) == []  # type: ignore[arg-type]
    assert list(kind.documented_headers(get, None)) == []  # type: ignore[arg-type]


def test_content_type_comparison() -> None:
    assert content_type_holds("application/json", "Application/JSON; charset=utf-8")
    assert content_type_holds('text/plain; charset="UTF-8"', "text/plain;charset=utf-8")
    assert not content_type_holds("application/json", "application/problem+json")
    assert not content_type_holds("text/plain; charset=utf-8", "text/plain")
