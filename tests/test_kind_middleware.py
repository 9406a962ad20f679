"""``[[middleware]]``: a middleware in ``app.user_middleware``, matched by class
name or dotted path, added with the documented options."""

from __future__ import annotations

from conftest import QUIET, Project

SHOP_APP = """
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    app = FastAPI()
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=("api.shop.example",))
    app.add_middleware(CORSMiddleware, allow_origins=["https://shop.example"], allow_credentials=True)
    app.add_middleware(GZipMiddleware, minimum_size=1000)

    @app.middleware("http")
    async def add_request_id(request, call_next):
        response = await call_next(request)
        response.headers["X-Request-ID"] = "0" * 32
        return response

    @app.get("/")
    def index():
        return {"ok": True}
"""

SHOP_MANIFEST = (
    """
    [target]
    app = "app:app"
    host = "api.shop.example"

    [[middleware]]
    class = "CORSMiddleware"
    options = { allow_origins = ["https://shop.example"], allow_credentials = true }
    why = "only our storefront may call us with cookies"
    owner = "security-team"

    [[middleware]]
    class = "starlette.middleware.trustedhost.TrustedHostMiddleware"
    options = { allowed_hosts = ["api.shop.example"] }

    [[middleware]]
    class = "BaseHTTPMiddleware"
    options = { dispatch = "app.add_request_id" }

    [[middleware]]
    class = "fastapi.middleware.gzip.GZipMiddleware"
    options = { minimum_size = 1000, compresslevel = 9 }
    """
    + QUIET
)


def literal(text: str) -> str:
    """``text`` as an fnmatch pattern matching exactly itself."""
    return "".join(f"[{char}]" if char in "[]*?" else char for char in text)


def test_documented_middleware_with_its_options_passes(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(SHOP_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::middleware:CORSMiddleware",
            "PASSED defaults.toml::middleware:TrustedHostMiddleware",
            "PASSED defaults.toml::middleware:BaseHTTPMiddleware",
            "PASSED defaults.toml::middleware:GZipMiddleware",
        ],
        consecutive=False,
    )


def test_cors_opened_to_everyone_fails_with_the_differing_option(project: Project) -> None:
    project.app(SHOP_APP.replace('allow_origins=["https://shop.example"]', 'allow_origins=["*"]'))
    project.manifest(SHOP_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ middleware:CORSMiddleware _*",
            literal("middleware CORSMiddleware option allow_origins: documented ['https://shop.example'], live ['*']"),
            "  why:      only our storefront may call us with cookies",
            "  owner:    security-team",
            "  manifest: defaults.toml:6",
        ]
    )


def test_every_differing_option_is_listed(project: Project) -> None:
    project.app(
        SHOP_APP.replace(
            'allow_origins=["https://shop.example"], allow_credentials=True',
            'allow_origins=["*"], allow_credentials=False',
        )
    )
    project.manifest(SHOP_MANIFEST)
    result = project.run("-k", "CORS")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            literal("middleware CORSMiddleware option allow_origins: documented ['https://shop.example'], live ['*']"),
            "middleware CORSMiddleware option allow_credentials: documented True, live False",
        ]
    )


def test_removed_middleware_is_missing(project: Project) -> None:
    project.app(
        SHOP_APP.replace("app.add_middleware(TrustedHostMiddleware", "# app.add_middleware(TrustedHostMiddleware")
    )
    project.manifest(SHOP_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ middleware:TrustedHostMiddleware _*",
            "middleware TrustedHostMiddleware: documented in app.user_middleware, live missing "
            "(app.user_middleware has: BaseHTTPMiddleware(dispatch=app.add_request_id), GZipMiddleware, "
            "CORSMiddleware)",
            "  manifest: defaults.toml:12",
        ]
    )


def test_changed_dispatch_function_compares_by_dotted_path(project: Project) -> None:
    project.app(SHOP_APP.replace("async def add_request_id", "async def stamp_request"))
    project.manifest(SHOP_MANIFEST)
    result = project.run("-k", "BaseHTTP")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["middleware BaseHTTPMiddleware option dispatch: documented 'app.add_request_id', live 'app.stamp_request'"]
    )


def test_an_option_left_out_when_added_compares_with_its_default(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(
        """
        [target]
        app = "app:app"

        [[middleware]]
        class = "GZipMiddleware"
        options = { compresslevel = 9 }

        [[middleware]]
        class = "CORSMiddleware"
        options = { allow_methods = ["GET", "POST"] }
        """
        + QUIET
    )
    result = project.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            literal(
                "middleware CORSMiddleware option allow_methods: documented ['GET', 'POST'], live ['GET'] "
                "(not given: the default)"
            )
        ]
    )


TWO_HTTP_MIDDLEWARE_APP = """
    from fastapi import FastAPI

    app = FastAPI()

    @app.middleware("http")
    async def inner(request, call_next):
        return await call_next(request)

    @app.middleware("http")
    async def outer(request, call_next):
        return await call_next(request)
"""


def _two_entries(first: str, second: str) -> str:
    return (
        f"""
        [target]
        app = "app:app"

        [[middleware]]
        class = "BaseHTTPMiddleware"
        options = {{ dispatch = "app.{first}" }}

        [[middleware]]
        class = "starlette.middleware.base.BaseHTTPMiddleware"
        options = {{ dispatch = "app.{second}" }}
        """
        + QUIET
    )


def test_entries_of_one_class_match_in_order_and_get_distinct_names(project: Project) -> None:
    project.app(TWO_HTTP_MIDDLEWARE_APP)
    project.manifest(_two_entries("outer", "inner"))  # user_middleware lists the outermost first
    result = project.run()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::middleware:BaseHTTPMiddleware",
            "PASSED defaults.toml::middleware:BaseHTTPMiddleware[[]2[]]",
        ]
    )


def test_entries_of_one_class_match_by_their_options_not_their_order(project: Project) -> None:
    # Position only breaks ties between middleware whose options both match.
    project.app(TWO_HTTP_MIDDLEWARE_APP)
    project.manifest(_two_entries("inner", "outer"))
    result = project.run()
    result.assert_outcomes(passed=2)


def test_a_secret_option_is_never_shown(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI

        class SigningMiddleware:
            def __init__(self, app, secret_key: str, max_age: int = 60):
                self.app = app

            async def __call__(self, scope, receive, send):
                await self.app(scope, receive, send)

        app = FastAPI()
        app.add_middleware(SigningMiddleware, "live-signing-key-123", max_age=30)
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"

        [[middleware]]
        class = "SigningMiddleware"
        options = { secret_key = "manifest-key-456", max_age = 30 }
        """
        + QUIET
    )
    result = project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["middleware SigningMiddleware option secret_key: documented **********, live **********"]
    )
    output = result.stdout.str() + result.stderr.str()
    assert "live-signing-key-123" not in output
    assert "manifest-key-456" not in output


def test_a_plain_asgi_app_is_skipped_with_the_reason(project: Project) -> None:
    project.app(
        """
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"
        lifespan = "off"

        [[middleware]]
        class = "CORSMiddleware"
        """
        + QUIET
    )
    result = project.run()
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED * " + literal("[[middleware]] needs a FastAPI (or Starlette) application; app:app is a function")]
    )


def test_url_mode_without_an_app_object_is_skipped(project: Project) -> None:
    project.manifest(
        """
        [target]
        mode = "url"
        base_url = "http://127.0.0.1:9"

        [[middleware]]
        class = "CORSMiddleware"
        """
        + QUIET
    )
    result = project.run()
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * mode = 'url' has no application object*"])


def test_starlette_application_middleware_is_checked(project: Project) -> None:
    project.app(
        """
        from starlette.applications import Starlette
        from starlette.middleware import Middleware
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app = Starlette(middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["*"])])
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"

        [[middleware]]
        class = "TrustedHostMiddleware"
        options = { allowed_hosts = ["api.shop.example"] }
        """
        + QUIET
    )
    result = project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [literal("middleware TrustedHostMiddleware option allowed_hosts: documented ['api.shop.example'], live ['*']")]
    )


def test_missing_class_is_a_usage_error_naming_the_line(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [[middleware]]
        options = { allow_origins = ["*"] }
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["defaults.toml:5: middleware[[]1[]].class: required key is missing"])


def test_misspelt_key_names_the_closest_known_key(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [[middleware]]
        class = "CORSMiddleware"

        [[middleware]]
        class = "GZipMiddleware"
        option = { minimum_size = 500 }
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["defaults.toml:10: middleware[[]2[]].option (GZipMiddleware): unknown key 'option'; did you mean 'options'?"]
    )


def test_options_must_be_a_table(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [[middleware]]
        class = "CORSMiddleware"
        options = ["allow_origins"]
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["defaults.toml:7: middleware[[]1[]].options (CORSMiddleware): *valid dictionary*"])


def test_misspelt_class_key_suggests_class(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [[middleware]]
        clas = "CORSMiddleware"
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "defaults.toml:5: middleware[[]1[]].class: required key is missing",
            "defaults.toml:6: middleware[[]1[]].clas: unknown key 'clas'; did you mean 'class'?",
        ]
    )


SESSION_SECRET = "s3ss10n-s1gning-k3y"


def test_a_secret_option_is_documented_by_name_and_must_be_given(project: Project) -> None:
    project.app(
        f"""
        from fastapi import FastAPI
        from starlette.middleware.sessions import SessionMiddleware

        class SigningMiddleware:
            def __init__(self, app, signing_key: str = "dev-only-key"):
                self.app = app

            async def __call__(self, scope, receive, send):
                await self.app(scope, receive, send)

        app = FastAPI()
        app.add_middleware(SessionMiddleware, secret_key="{SESSION_SECRET}", https_only=True)
        app.add_middleware(SigningMiddleware)
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"

        [[middleware]]
        class = "SessionMiddleware"
        options = { https_only = true }
        secrets = ["secret_key"]

        [[middleware]]
        class = "SigningMiddleware"
        secrets = ["signing_key"]

        [undocumented]
        headers = "off"
        settings = "off"
        middleware = "fail"
        config = "off"
        """
    )
    result = project.run()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ middleware:SigningMiddleware _*",
            "middleware SigningMiddleware option signing_key: documented given (a secret), live not given "
            "(the default is used)",
        ]
    )
    result.stdout.fnmatch_lines(["PASSED defaults.toml::undocumented:middleware"], consecutive=False)
    assert SESSION_SECRET not in result.stdout.str() + result.stderr.str()


def test_a_secret_given_a_value_too_is_a_usage_error(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [[middleware]]
        class = "SessionMiddleware"
        options = { secret_key = "in-the-manifest", https_only = true }
        secrets = ["secret_key"]
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "defaults.toml:5: middleware[[]1[]] (SessionMiddleware): "
            "secret_key in both options and secrets: a secret is documented by name only"
        ]
    )
    assert "in-the-manifest" not in result.stdout.str() + result.stderr.str()


SERVICE_APP = f"""
    import time
    import uuid

    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import PlainTextResponse

    app = FastAPI()

    @app.middleware("http")
    async def add_timing(request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={{(time.perf_counter() - started) * 1000:.1f}}"
        return response

    @app.middleware("http")
    async def add_request_id(request, call_next):
        response = await call_next(request)
        response.headers["X-Request-ID"] = uuid.uuid4().hex
        return response

    # the upgrade

    app.add_middleware(SessionMiddleware, secret_key="{SESSION_SECRET}", https_only=True, same_site="strict")
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(CORSMiddleware, allow_origins=["https://shop.example"], allow_credentials=True)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["api.shop.example"])

    @app.get("/")
    def index():
        return {{"ok": True}}
"""
"""A service's middleware, outermost first: TrustedHost, CORS, GZip, Session,
then the two function middlewares, request id outside timing."""

LEGACY_CLIENT_GATE = """
    @app.middleware("http")
    async def reject_legacy_clients(request, call_next):
        if request.headers.get("user-agent", "").startswith("LegacyClient/"):
            return PlainTextResponse("upgrade your client", status_code=426)
        return await call_next(request)
"""
"""Added by the upgrade after the request id middleware in the source, so
ahead of both function middlewares in ``app.user_middleware``."""

SERVICE_MANIFEST = """
    [target]
    app = "app:app"
    host = "api.shop.example"

    [[middleware]]
    class = "TrustedHostMiddleware"
    options = { allowed_hosts = ["api.shop.example"] }

    [[middleware]]
    class = "CORSMiddleware"
    options = { allow_origins = ["https://shop.example"], allow_credentials = true }

    [[middleware]]
    class = "GZipMiddleware"
    options = { minimum_size = 1000 }

    [[middleware]]
    class = "SessionMiddleware"
    options = { https_only = true, same_site = "strict", max_age = 1209600 }
    secrets = ["secret_key"]

    [[middleware]]
    class = "BaseHTTPMiddleware"
    options = { dispatch = "app.add_request_id" }
    why = "support quotes the request id from the customer's error page"

    [[middleware]]
    class = "BaseHTTPMiddleware"
    options = { dispatch = "app.add_timing" }
    why = "the CDN reports Server-Timing"

    [undocumented]
    headers = "off"
    settings = "off"
    middleware = "fail"
    config = "off"
"""


def assert_no_secret(result: object) -> None:
    output = result.stdout.str() + result.stderr.str()  # type: ignore[attr-defined]
    assert SESSION_SECRET not in output


def test_a_function_middleware_added_ahead_fails_only_undocumented_middleware(project: Project) -> None:
    project.app(SERVICE_APP.replace("    # the upgrade\n", LEGACY_CLIENT_GATE))
    project.manifest(SERVICE_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ undocumented:middleware _*",
            "middleware and options that no [[][[]middleware[]][]] entry documents: "
            "BaseHTTPMiddleware(dispatch=app.reject_legacy_clients)",
            "  manifest: defaults.toml:36",
        ],
    )
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::middleware:BaseHTTPMiddleware",
            "PASSED defaults.toml::middleware:BaseHTTPMiddleware[[]2[]]",
        ],
        consecutive=False,
    )
    assert_no_secret(result)


def test_removing_one_of_two_function_middlewares_fails_only_its_entry_naming_it(project: Project) -> None:
    project.app(
        SERVICE_APP.replace('@app.middleware("http")\n    async def add_request_id', "async def add_request_id")
    )
    project.manifest(SERVICE_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ middleware:BaseHTTPMiddleware _*",
            literal(
                "middleware BaseHTTPMiddleware: documented BaseHTTPMiddleware(dispatch=app.add_request_id) in "
                "app.user_middleware, live missing (app.user_middleware has: TrustedHostMiddleware, CORSMiddleware, "
                "GZipMiddleware, SessionMiddleware, BaseHTTPMiddleware(dispatch=app.add_timing))"
            ),
            "  why:      support quotes the request id from the customer's error page",
        ]
    )
    result.stdout.fnmatch_lines(["PASSED defaults.toml::middleware:BaseHTTPMiddleware[[]2[]]"], consecutive=False)


def test_reordered_function_middlewares_pass_as_position_only_breaks_ties(project: Project) -> None:
    timing = SERVICE_APP[SERVICE_APP.index('    @app.middleware("http")\n    async def add_timing') :]
    timing = timing[: timing.index('    @app.middleware("http")\n    async def add_request_id')]
    reordered = SERVICE_APP.replace(timing, "").replace("    # the upgrade\n", timing)
    assert reordered.index("def add_request_id") < reordered.index("def add_timing")
    project.app(reordered)
    project.manifest(SERVICE_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=7)


def test_two_function_middlewares_both_replaced_each_fail_with_their_own_difference(project: Project) -> None:
    project.app(
        SERVICE_APP.replace("async def add_request_id", "async def stamp_request_id").replace(
            "async def add_timing", "async def server_timing"
        )
    )
    project.manifest(SERVICE_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=5, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ middleware:BaseHTTPMiddleware _*",
            "middleware BaseHTTPMiddleware option dispatch: "
            "documented 'app.add_request_id', live 'app.stamp_request_id'",
            "*_ middleware:BaseHTTPMiddleware[[]2[]] _*",
            literal(
                "middleware BaseHTTPMiddleware[2] option dispatch: "
                "documented 'app.add_timing', live 'app.server_timing'"
            ),
        ]
    )
    result.stdout.fnmatch_lines(["PASSED defaults.toml::undocumented:middleware"], consecutive=False)


def test_two_changes_fail_two_items_each_about_its_own(project: Project) -> None:
    project.app(
        SERVICE_APP.replace("    # the upgrade\n", LEGACY_CLIENT_GATE).replace(
            'same_site="strict")', 'same_site="lax")'
        )
    )
    project.manifest(SERVICE_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=5, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ middleware:SessionMiddleware _*",
            "middleware SessionMiddleware option same_site: documented 'strict', live 'lax'",
            "*_ undocumented:middleware _*",
            "middleware and options that no [[][[]middleware[]][]] entry documents: "
            "BaseHTTPMiddleware(dispatch=app.reject_legacy_clients)",
        ]
    )
    assert_no_secret(result)


def test_a_specific_entry_is_not_starved_by_an_entry_without_options(project: Project) -> None:
    # The first entry would take either function middleware; the second
    # only the request id one. Both hold, so both pass.
    project.app(SERVICE_APP)
    project.manifest(
        """
        [target]
        app = "app:app"

        [[middleware]]
        class = "BaseHTTPMiddleware"
        why = "some function middleware times every request"

        [[middleware]]
        class = "BaseHTTPMiddleware"
        options = { dispatch = "app.add_request_id" }
        """
        + QUIET
    )
    result = project.run()
    result.assert_outcomes(passed=2)


def test_a_middleware_swapped_for_another_class_fails_twice_each_naming_the_other(project: Project) -> None:
    # Two facts: the documented compression is gone, and nobody documented
    # what replaced it. Each message names the other.
    project.app(
        SERVICE_APP.replace(
            "app.add_middleware(GZipMiddleware, minimum_size=1000)",
            "class BrotliMiddleware:\n"
            "        def __init__(self, app, quality: int = 4):\n"
            "            self.app = app\n\n"
            "        async def __call__(self, scope, receive, send):\n"
            "            await self.app(scope, receive, send)\n\n"
            "    app.add_middleware(BrotliMiddleware, quality=5)",
        )
    )
    project.manifest(SERVICE_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=5, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ middleware:GZipMiddleware _*",
            literal(
                "middleware GZipMiddleware: documented in app.user_middleware, live missing (app.user_middleware has: "
                "TrustedHostMiddleware, CORSMiddleware, BrotliMiddleware, SessionMiddleware, "
                "BaseHTTPMiddleware(dispatch=app.add_request_id), BaseHTTPMiddleware(dispatch=app.add_timing))"
            ),
            "*_ undocumented:middleware _*",
            "middleware and options that no [[][[]middleware[]][]] entry documents: "
            "BrotliMiddleware (documented GZipMiddleware missing)",
        ]
    )
