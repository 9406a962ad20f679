"""The spine: options, collection, item names, failure text, waivers, targets."""

from __future__ import annotations

import datetime
import subprocess
import sys

import pytest
from conftest import QUIET, Project

SECURE_APP = """
    from fastapi import FastAPI

    app = FastAPI()

    @app.middleware("http")
    async def security_headers(request, call_next):
        response = await call_next(request)
        response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/")
    def index():
        return {"ok": True}

    @app.get("/api/items")
    def items():
        return []
"""

HEADERS_MANIFEST = """
    version = 1

    [service]
    name = "shop-api"
    owner = "platform-team"

    [target]
    app = "app:app"
    paths = ["/", "/api/items"]

    [[header]]
    name = "Strict-Transport-Security"
    equals = "max-age=63072000; includeSubDomains"
    why = "browsers must only ever speak HTTPS to us"
    rollback = "send max-age=0 for one max-age period before removing"
    docs = "https://example.com/hsts"

    [[header]]
    name = "X-Content-Type-Options"
    equals = "nosniff"

    [undocumented]
    headers = "off"
    settings = "off"
    middleware = "off"
    config = "off"
"""


def test_every_documented_default_is_an_item_named_kind_name_detail(project: Project) -> None:
    project.app(SECURE_APP)
    project.manifest(HEADERS_MANIFEST)
    result = project.run("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "defaults.toml::header:Strict-Transport-Security[[]/[]]",
            "defaults.toml::header:Strict-Transport-Security[[]/api/items[]]",
            "defaults.toml::header:X-Content-Type-Options[[]/[]]",
            "defaults.toml::header:X-Content-Type-Options[[]/api/items[]]",
            "4 tests collected*",
        ]
    )


@pytest.mark.all_modes
def test_documented_defaults_that_hold_pass(project: Project) -> None:
    project.app(SECURE_APP)
    project.manifest(HEADERS_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=4)
    assert result.ret == 0


@pytest.mark.all_modes
def test_drift_reads_documented_then_live_then_why_owner_rollback_and_line(project: Project) -> None:
    project.app(SECURE_APP.replace("max-age=63072000; includeSubDomains", "max-age=300"))
    project.manifest(HEADERS_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=2, failed=2)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*_ header:Strict-Transport-Security[[]/[]] _*",
            "header Strict-Transport-Security on /: documented 'max-age=63072000; includeSubDomains',"
            " live 'max-age=300' (GET / answered 200)",
            "  why:      browsers must only ever speak HTTPS to us",
            "  owner:    platform-team",
            "  rollback: send max-age=0 for one max-age period before removing",
            "  docs:     https://example.com/hsts",
            "  manifest: defaults.toml:12",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


@pytest.mark.all_modes
def test_header_matchers_contains_matches_absent_and_case_insensitive_names(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI
        from fastapi.responses import JSONResponse

        app = FastAPI()

        @app.get("/")
        def index():
            response = JSONResponse({})
            response.headers["content-security-policy"] = "default-src 'self'; frame-ancestors 'none'"
            response.headers["x-request-id"] = "0123456789abcdef0123456789abcdef"
            response.headers["x-powered-by"] = "php"
            return response
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"
        uvicorn = { server_header = false }  # in server and url modes

        [[header]]
        name = "Content-Security-Policy"
        contains = ["default-src 'self'", "frame-ancestors 'none'"]

        [[header]]
        name = "X-Request-ID"
        matches = "^[0-9a-f]{32}$"

        [[header]]
        name = "X-Powered-By"
        absent = true

        [[header]]
        name = "Server"
        absent = true

        [[header]]
        name = "Content-Security-Policy"
        name_hint = 1
        """.replace("        name_hint = 1\n", "        contains = \"object-src 'none'\"\n")
    )
    result = project.run("-k", "not undocumented")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "header X-Powered-By on /: documented absent, live 'php' (GET / answered 200)",
            "header Content-Security-Policy on /: documented containing \"object-src 'none'\","
            " live \"default-src 'self'; frame-ancestors 'none'\" (GET / answered 200)",
        ]
    )


@pytest.mark.all_modes
def test_headers_are_checked_on_error_responses_and_every_repeated_value(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI
        from fastapi.responses import Response

        app = FastAPI()

        @app.get("/twice")
        def twice():
            response = Response()
            response.headers.append("X-Frame-Options", "DENY")
            response.headers.append("X-Frame-Options", "SAMEORIGIN")
            return response
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"
        paths = ["/twice", "/nowhere"]

        [[header]]
        name = "X-Frame-Options"
        equals = "DENY"
        """
    )
    result = project.run("-k", "header and not undocumented")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "header X-Frame-Options on /twice: documented 'DENY', live 'SAMEORIGIN'"
            " (GET /twice answered 200; sent 2 times, each value is checked)",
            "header X-Frame-Options on /nowhere: documented 'DENY', live missing (GET /nowhere answered 404)",
        ]
    )


def test_manifest_items_run_beside_the_given_test_paths(project: Project) -> None:
    project.app(SECURE_APP)
    project.manifest(HEADERS_MANIFEST)
    project.pytester.makepyfile(test_unit="def test_unit():\n    assert 1 + 1 == 2\n")
    result = project.run("test_unit.py")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["PASSED defaults.toml::header:*", "PASSED test_unit.py::test_unit"])


def test_without_the_flag_the_manifest_is_not_collected(project: Project) -> None:
    project.app(SECURE_APP)
    project.manifest(HEADERS_MANIFEST)
    project.pytester.makepyfile(test_unit="def test_unit():\n    pass\n")
    result = project.pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_can_be_disabled_with_p_no(project: Project) -> None:
    project.manifest(HEADERS_MANIFEST)
    result = project.pytester.runpytest("-p", "no:prod_defaults", "--check-defaults")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unrecognized arguments: --check-defaults*"])


HEAVY = ("fastapi", "starlette", "httpx", "pydantic", "uvicorn", "anyio", "asgi_lifespan")


def test_entry_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, pytest\n"
        "before = set(sys.modules)\n"
        "import pytest_prod_defaults.plugin\n"
        "added = sorted(set(sys.modules) - before)\n"
        "print('\\n'.join(added))\n"
    )
    added = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    heavy = [name for name in added if name.split(".")[0] in HEAVY]
    assert heavy == []
    assert "pytest_prod_defaults.plugin" in added


def test_installed_but_not_asked_for_a_pytest_run_loads_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_modules=f"""
        import sys

        def test_nothing_heavy_loaded():
            loaded = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
            assert loaded == []
        """
    )
    # anyio's own pytest plugin imports anyio; it is not ours to judge here.
    result = pytester.runpytest_subprocess("-p", "no:anyio", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_defaults_file_option_and_ini(project: Project) -> None:
    project.app(SECURE_APP)
    project.manifest(HEADERS_MANIFEST, name="prod.toml")
    project.run("--defaults-file", "prod.toml").assert_outcomes(passed=4)
    project.pytester.makeini("[pytest]\ndefaults_file = prod.toml\n")
    project.run().assert_outcomes(passed=4)


def test_missing_manifest_is_a_usage_error(project: Project) -> None:
    result = project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: unusable defaults manifest:", "defaults.toml: no such file"])


def test_a_manifest_that_checks_nothing_exits_5_as_pytest_does(project: Project) -> None:
    """A gate that checks nothing fails rather than passes."""
    project.app("from fastapi import FastAPI\napp = FastAPI()\n")
    project.manifest('[target]\napp = "app:app"\n' + QUIET)
    result = project.run()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["production defaults: 0 checked, 0 drifted, *", "*no tests ran*"])


def test_a_folder_holding_only_the_manifest_and_app_works(project: Project) -> None:
    project.app(SECURE_APP)
    project.manifest(HEADERS_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=4)


def _waiver_manifest(until: datetime.date | None) -> str:
    until_line = f"until = {until.isoformat()}" if until else ""
    return f"""
        [target]
        app = "app:app"

        [[header]]
        name = "X-Frame-Options"
        equals = "DENY"
        skip = "legacy iframe embed; INC-42"
        {until_line}
    """


def test_skip_waives_an_entry_with_its_reason(project: Project) -> None:
    project.app(SECURE_APP)
    project.manifest(_waiver_manifest(None))
    result = project.run("-k", "header and not undocumented")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * legacy iframe embed; INC-42"])


def test_waiver_with_a_future_date_skips_and_says_until_when(project: Project) -> None:
    project.app(SECURE_APP)
    project.manifest(_waiver_manifest(datetime.date.today() + datetime.timedelta(days=30)))
    result = project.run("-k", "header and not undocumented")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * legacy iframe embed; INC-42 (waived until *)"])


def test_expired_waiver_runs_again_and_its_failure_says_so(project: Project) -> None:
    project.app(SECURE_APP)
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    project.manifest(_waiver_manifest(yesterday))
    result = project.run("-k", "header and not undocumented")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "header X-Frame-Options on /: documented 'DENY', live missing (GET / answered 200)",
            f"  waiver expired on {yesterday.isoformat()}: legacy iframe embed; INC-42",
        ]
    )


def test_k_selects_items_by_kind_and_name(project: Project) -> None:
    project.app(SECURE_APP)
    project.manifest(HEADERS_MANIFEST)
    result = project.run("-k", "Strict and api")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["PASSED defaults.toml::header:Strict-Transport-Security[[]/api/items[]]"])


def test_last_failed_reruns_only_the_drifted_default(project: Project) -> None:
    project.app(SECURE_APP.replace('"nosniff"', '"sniff"'))
    project.manifest(HEADERS_MANIFEST)
    first = project.pytester.runpytest("--check-defaults")
    first.assert_outcomes(passed=2, failed=2)
    again = project.pytester.runpytest("--check-defaults", "--lf")
    again.assert_outcomes(failed=2, deselected=2)
