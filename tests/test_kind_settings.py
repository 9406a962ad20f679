"""``[settings]``: attributes of the FastAPI (or Starlette) application object,
one item per documented attribute."""

from __future__ import annotations

import pytest
from conftest import HAS_BODY_LIMITS, HAS_FORM_LIMITS, QUIET, Project

SECRET = "hunter2-api-key"

SHOP_APP = f"""
    from fastapi import FastAPI, Response
    from pydantic import SecretStr

    app = FastAPI(
        title="Shop",
        version="2.0.0",
        debug=False,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        swagger_ui_parameters={{"deepLinking": False}},
    )
    app.allowed_regions = ("eu", "us")
    app.api_key = SecretStr("{SECRET}")

    @app.get("/login")
    def login(response: Response):
        response.set_cookie("session", "opaque", secure=True, httponly=True)
        return {{"ok": True}}
"""

CARELESS_APP = """
    from fastapi import FastAPI

    app = FastAPI(title="Shop", debug=True)
"""

PLAIN_ASGI_APP = """
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        else:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
"""


SETTINGS = """
    [settings]
    why = "production must not expose internals"
    owner = "platform-team"
    rollback = "revert the app factory change"
    debug = false
    docs_url = false
    redoc_url = false
    openapi_url = false
    title = "Shop"
"""


def manifest(settings: str, target: str = 'app = "app:app"') -> str:
    return f"""
        version = 1

        [target]
        {target}
        {settings}
        {QUIET}
    """


def test_settings_that_hold_pass_one_item_per_attribute(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(
        manifest(
            SETTINGS
            + """
    version = "2.0.0"
    allowed_regions = ["eu", "us"]
    swagger_ui_parameters = { deepLinking = false }
    api_key = "hunter2-api-key"
"""
        )
    )
    result = project.run()
    result.assert_outcomes(passed=9)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::settings:debug",
            "PASSED defaults.toml::settings:docs_url",
            "PASSED defaults.toml::settings:redoc_url",
            "PASSED defaults.toml::settings:openapi_url",
            "PASSED defaults.toml::settings:title",
            "PASSED defaults.toml::settings:version",
            "PASSED defaults.toml::settings:allowed_regions",
            "PASSED defaults.toml::settings:swagger_ui_parameters",
            "PASSED defaults.toml::settings:api_key",
        ]
    )


def test_debug_on_and_docs_enabled_fail_their_own_items_with_the_key_line(project: Project) -> None:
    project.app(CARELESS_APP)
    project.manifest(manifest(SETTINGS))
    result = project.run()
    result.assert_outcomes(passed=1, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*_ settings:debug _*",
            "setting debug: documented false, live true",
            "  why:      production must not expose internals",
            "  owner:    platform-team",
            "  rollback: revert the app factory change",
            "  manifest: defaults.toml:11",
            "*_ settings:docs_url _*",
            "setting docs_url: documented false, live '/docs'",
            "*",
            "*",
            "*",
            "  manifest: defaults.toml:12",
            "*_ settings:redoc_url _*",
            "setting redoc_url: documented false, live '/redoc'",
            "*_ settings:openapi_url _*",
            "setting openapi_url: documented false, live '/openapi.json'",
        ]
    )
    result.stdout.fnmatch_lines(["PASSED defaults.toml::settings:title"])


def test_a_missing_attribute_fails_with_the_closest_name(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(manifest("[settings]\ndebgu = false\nno_such_setting_at_all = 1\n"))
    result = project.run()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "setting debgu: documented false, live no such attribute"
            " (FastAPI has no attribute 'debgu'; did you mean 'debug'?)",
            "setting no_such_setting_at_all: documented 1, live no such attribute"
            " (FastAPI has no attribute 'no_such_setting_at_all')",
        ]
    )


def test_values_compare_by_type_and_secrets_are_never_printed(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(
        manifest(
            """
            [settings]
            api_key = "not-the-key"
            allowed_regions = ["eu"]
            debug = 0
            title = "Shop "
            """
        )
    )
    result = project.run()
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "setting api_key: documented **********, live **********",
            "setting allowed_regions: documented ['eu'], live ['eu', 'us']",
            "setting debug: documented 0, live false",
            "setting title: documented 'Shop ', live 'Shop'",
        ]
    )
    assert SECRET not in result.stdout.str()
    assert "not-the-key" not in result.stdout.str()


def test_a_setting_table_overrides_the_people_fields_for_that_item(project: Project) -> None:
    project.app(CARELESS_APP)
    project.manifest(
        manifest(
            """
            [settings]
            owner = "platform-team"
            why = "production must not expose internals"
            debug = { value = false, why = "tracebacks leak internals", owner = "security-team", rollback = "DEBUG=0" }
            docs_url = false
            """
        )
    )
    result = project.run()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ settings:debug _*",
            "setting debug: documented false, live true",
            "  why:      tracebacks leak internals",
            "  owner:    security-team",
            "  rollback: DEBUG=0",
            "  manifest: defaults.toml:10",
            "*_ settings:docs_url _*",
            "setting docs_url: documented false, live '/docs'",
            "  why:      production must not expose internals",
            "  owner:    platform-team",
            "  manifest: defaults.toml:11",
        ]
    )


def test_skip_waives_the_table_or_one_setting(project: Project) -> None:
    project.app(CARELESS_APP)
    project.manifest(manifest(SETTINGS + '    skip = "staging image; INC-9"\n'))
    result = project.run()
    result.assert_outcomes(skipped=5)
    result.stdout.fnmatch_lines(["SKIPPED * staging image; INC-9"])

    project.manifest(
        manifest(
            """
            [settings]
            debug = { value = false, skip = "debug toolbar demo; INC-10" }
            docs_url = false
            """
        )
    )
    result = project.run()
    result.assert_outcomes(skipped=1, failed=1)
    result.stdout.fnmatch_lines(["SKIPPED * debug toolbar demo; INC-10", "FAILED defaults.toml::settings:docs_url*"])


def test_a_plain_asgi_app_skips_settings_with_the_reason(project: Project) -> None:
    project.app(PLAIN_ASGI_APP)
    project.manifest(manifest(SETTINGS))
    result = project.run()
    result.assert_outcomes(skipped=5)
    result.stdout.fnmatch_lines(
        ["SKIPPED * settings need a FastAPI or Starlette application; function app.app is neither"]
    )


def test_url_mode_without_an_app_skips_settings(project: Project) -> None:
    project.manifest(manifest("[settings]\ndebug = false\n", target='mode = "url"\nbase_url = "http://127.0.0.1:9"'))
    result = project.run()
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * mode = 'url' has no application object*"])


def test_a_starlette_app_is_inspected_too(project: Project) -> None:
    project.app(
        """
        from starlette.applications import Starlette

        app = Starlette(debug=False)
        """
    )
    project.manifest(manifest("[settings]\ndebug = false\n"))
    result = project.run()
    result.assert_outcomes(passed=1)


def test_manifest_errors_name_file_line_and_key(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [settings]
        debug = { value = false, whyy = "typo" }
        docs_url = { value = false, owner = 3 }
        redoc_url = { value = false, until = 2030-01-01 }
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "ERROR: unusable defaults manifest:",
            "defaults.toml:6: settings.debug: unknown key 'whyy' in a setting's table form; did you mean 'why'?*",
            "defaults.toml:7: settings.docs_url.owner: Input should be a valid string*",
            "defaults.toml:8: settings.redoc_url: 'until' dates a waiver: give 'skip' a reason too",
        ]
    )


UNLIMITED_APP = """
    from fastapi import FastAPI

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
"""


def test_false_documents_no_body_or_form_limit_on_every_fastapi_version(project: Project) -> None:
    # false means "none set": None, an empty table, or a FastAPI without the
    # feature at all. Never a false alarm on either end of the range.
    project.app(UNLIMITED_APP)
    project.manifest(manifest("[settings]\nmax_body_size = false\nform_limits = false\ndebug = false\n"))
    result = project.run()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["PASSED defaults.toml::settings:max_body_size", "PASSED defaults.toml::settings:form_limits"]
    )


@pytest.mark.skipif(not HAS_FORM_LIMITS, reason="this FastAPI has no form_limits")
def test_form_limits_are_read_where_fastapi_keeps_them(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI

        app = FastAPI(max_body_size=1048576, form_limits={"max_files": 3})
        """
    )
    project.manifest(manifest("[settings]\nmax_body_size = 1048576\nform_limits = { max_files = 3 }\n"))
    project.run().assert_outcomes(passed=2)
    project.manifest(manifest("[settings]\nmax_body_size = false\nform_limits = false\n"))
    result = project.run()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "setting max_body_size: documented false, live 1048576",
            "setting form_limits: documented false, live {'max_files': 3}",
        ]
    )


@pytest.mark.skipif(HAS_BODY_LIMITS, reason="this FastAPI has max_body_size")
def test_a_limit_documented_on_a_fastapi_without_the_feature_is_not_applied(project: Project) -> None:
    project.app(UNLIMITED_APP)
    project.manifest(manifest("[settings]\nmax_body_size = 1048576\n"))
    result = project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["setting max_body_size: documented 1048576, live not supported (FastAPI * has no max_body_size setting*"]
    )
