"""``[[cookie]]``: the response of ``path`` sets the cookie, with each
documented attribute as documented."""

from __future__ import annotations

import pytest
from conftest import QUIET, Project

from pytest_prod_defaults.checks import DocumentedHeader
from pytest_prod_defaults.kinds.cookie import CookieEntry, CookieKind
from pytest_prod_defaults.set_cookie import cookie_names, cookies_named, parse_set_cookie

# Every HTTP check behaves the same in-process, under uvicorn and against a URL.
pytestmark = pytest.mark.all_modes

SESSION_VALUE = "s3cr3t-session-token"

SHOP_APP = f"""
    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.get("/login")
    def login(response: Response):
        response.set_cookie(
            "session", "{SESSION_VALUE}", max_age=3600, path="/", domain="shop.example",
            secure=True, httponly=True, samesite="lax",
        )
        response.set_cookie("theme", "dark")
        return {{"ok": True}}

    @app.post("/login")
    def login_form(response: Response):
        response.set_cookie("session", "{SESSION_VALUE}", secure=True, httponly=True, samesite="strict")
        return {{"ok": True}}

    @app.get("/careless")
    def careless(response: Response):
        response.set_cookie("session", "{SESSION_VALUE}", max_age=60, samesite="none", path="/app")
        return {{"ok": True}}

    @app.get("/logout")
    def logout(response: Response):
        response.delete_cookie("session")
        return {{"ok": True}}

    @app.get("/shouty")
    def shouty(response: Response):
        # attribute names in any case, and the cookie sent twice in one response
        response.raw_headers.append((b"set-cookie", b"session={SESSION_VALUE}; SECURE; httponly; SameSite=STRICT"))
        response.raw_headers.append((b"set-cookie", b"session={SESSION_VALUE}; Secure; HttpOnly; samesite=Strict"))
        return {{"ok": True}}

    @app.get("/")
    def index():
        return {{}}
"""


def manifest(cookies: str) -> str:
    return f"""
        version = 1

        [service]
        owner = "platform-team"

        [target]
        app = "app:app"
        {cookies}
        {QUIET}
    """


SESSION_ENTRY = """
        [[cookie]]
        name = "session"
        path = "/login"
        secure = true
        http_only = true
        same_site = "lax"
        max_age = 3600
        domain = ".Shop.Example"
        path_attr = "/"
"""


def test_a_cookie_set_as_documented_passes_one_item_per_attribute(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(manifest(SESSION_ENTRY))
    result = project.run()
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::cookie:session[[]set[]]",
            "PASSED defaults.toml::cookie:session[[]secure[]]",
            "PASSED defaults.toml::cookie:session[[]http_only[]]",
            "PASSED defaults.toml::cookie:session[[]same_site[]]",
            "PASSED defaults.toml::cookie:session[[]max_age[]]",
            "PASSED defaults.toml::cookie:session[[]domain[]]",
            "PASSED defaults.toml::cookie:session[[]path_attr[]]",
        ]
    )


def test_attributes_left_out_are_not_compared(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(
        manifest(
            """
            [[cookie]]
            name = "session"
            path = "/careless"
            """
        )
    )
    result = project.run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["PASSED defaults.toml::cookie:session[[]set[]]"])


def test_each_wrong_attribute_fails_its_own_item_without_printing_the_value(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(manifest(SESSION_ENTRY.replace('"/login"', '"/careless"')))
    result = project.run()
    result.assert_outcomes(passed=1, failed=6)
    result.stdout.fnmatch_lines(
        [
            "cookie session Secure: documented present, live absent (GET /careless answered 200)",
            "cookie session HttpOnly: documented present, live absent (GET /careless answered 200)",
            "cookie session SameSite: documented 'lax', live 'none' (GET /careless answered 200)",
            "cookie session Max-Age: documented 3600, live 60 (GET /careless answered 200)",
            "cookie session Domain: documented '.Shop.Example', live absent (host-only) (GET /careless answered 200)",
            "cookie session Path: documented '/', live '/app' (GET /careless answered 200)",
        ]
    )
    result.stdout.fnmatch_lines(["PASSED defaults.toml::cookie:session[[]set[]]"])
    assert SESSION_VALUE not in result.stdout.str()
    assert SESSION_VALUE not in result.stderr.str()


def test_a_cookie_not_set_fails_every_item_of_its_entry_saying_so(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(
        manifest(
            """
            [[cookie]]
            name = "session"
            path = "/"
            secure = true
            same_site = "lax"

            [[cookie]]
            name = "session"
            path = "/nowhere"
            """
        )
    )
    result = project.run()
    result.assert_outcomes(failed=4)
    not_set = "cookie session: documented set by GET /, live not set (GET / answered 200; it sets no cookie)"
    result.stdout.fnmatch_lines([not_set, not_set, not_set])
    result.stdout.fnmatch_lines(
        ["cookie session: documented set by GET /nowhere, live not set (GET /nowhere answered 404; it sets no cookie)"]
    )


def test_method_chooses_the_request_and_same_site_compares_case_insensitively(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(
        manifest(
            """
            [[cookie]]
            name = "session"
            path = "/login"
            method = "post"
            same_site = "Strict"
            """
        )
    )
    result = project.run()
    result.assert_outcomes(passed=2)


def test_attribute_names_are_case_insensitive_and_every_set_cookie_is_checked(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(
        manifest(
            """
            [[cookie]]
            name = "session"
            path = "/shouty"
            secure = true
            http_only = true
            same_site = "strict"

            [[cookie]]
            name = "session"
            path = "/shouty"
            same_site = "lax"
            """
        )
    )
    result = project.run()
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        [
            "cookie session SameSite: documented 'lax', live 'STRICT'"
            " (GET /shouty answered 200; the cookie is set 2 times, each is checked)"
        ]
    )


def test_a_deletion_counts_as_set_and_a_failure_says_it_deletes(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(
        manifest(
            """
            [[cookie]]
            name = "session"
            path = "/logout"
            max_age = 3600
            """
        )
    )
    result = project.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "cookie session Max-Age: documented 3600, live 0"
            " (GET /logout answered 200; this Set-Cookie deletes the cookie (Max-Age=0))"
        ]
    )


def test_failure_shows_why_owner_rollback_and_the_entry_line(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(
        """
        [target]
        app = "app:app"

        [[cookie]]
        name = "session"
        path = "/careless"
        secure = true
        why = "the session must never travel over plain HTTP"
        owner = "identity-team"
        rollback = "redeploy the previous release; sessions survive"
        """
        + QUIET
    )
    result = project.run("-k", "secure")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ cookie:session[[]secure[]] _*",
            "cookie session Secure: documented present, live absent (GET /careless answered 200)",
            "  why:      the session must never travel over plain HTTP",
            "  owner:    identity-team",
            "  rollback: redeploy the previous release; sessions survive",
            "  manifest: defaults.toml:5",
        ]
    )


def test_skip_waives_every_item_of_the_entry_with_its_reason(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(
        manifest(SESSION_ENTRY.replace('"/login"', '"/careless"') + '        skip = "legacy SSO; INC-7"\n')
    )
    result = project.run()
    result.assert_outcomes(skipped=7)
    result.stdout.fnmatch_lines(["SKIPPED * legacy SSO; INC-7"])


def test_manifest_errors_name_file_line_and_key(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [[cookie]]
        name = "session"

        [[cookie]]
        name = "session"
        path = "/login"
        same_site = "sometimes"
        http_ony = true
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "ERROR: unusable defaults manifest:",
            "defaults.toml:5: cookie[[]1[]].path (session): required key is missing",
            "defaults.toml:11: cookie[[]2[]].same_site (session): *'strict', 'lax' or 'none'* (got 'sometimes')",
            "defaults.toml:12: cookie[[]2[]].http_ony (session): unknown key 'http_ony'; did you mean 'http_only'?",
        ]
    )


def test_a_name_that_is_not_a_cookie_name_is_a_manifest_error(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [[cookie]]
        name = "session id"
        path = "/login"
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["defaults.toml:6: cookie[[]1[]].name: 'session id' is not a cookie name*"])


def test_the_kind_tells_the_undocumented_check_which_paths_and_cookies_it_covers() -> None:
    kind = CookieKind()
    get = CookieEntry(name="session", path="/login")
    post = CookieEntry(name="csrf", path="/login", method="POST")
    assert list(kind.probed_paths(get, None)) == ["/login"]  # type: ignore[arg-type]
    assert list(kind.probed_paths(post, None)) == []  # type: ignore[arg-type]
    assert list(kind.documented_headers(post, None)) == [  # type: ignore[arg-type]
        DocumentedHeader("set-cookie", paths=None, cookie="csrf")
    ]


def test_set_cookie_parser_reads_folded_headers_expires_and_flags_without_keeping_values() -> None:
    folded = "a=1; Expires=Wed, 09 Jun 2021 10:18:14 GMT; Path=/, b=2; secure, c=3"
    assert cookie_names([folded, "lonely; Path=/"]) == ["a", "b", "c", ""]
    (a,) = cookies_named("a", [folded])
    assert a.get("expires") == "Wed, 09 Jun 2021 10:18:14 GMT"
    assert a.deletion == "Expires in the past"
    (b,) = cookies_named("b", [folded])
    assert b.has("Secure") and b.get("secure") is None and b.deletion is None
    empty = parse_set_cookie('session=""; Max-Age=abc')
    assert empty.value_empty and empty.max_age is None and empty.deletion == "empty value"
    assert "hunter2" not in repr(parse_set_cookie("token=hunter2; Path=/"))
