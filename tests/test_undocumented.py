"""``[undocumented]``: live headers, cookies, settings, middleware and config
fields the manifest does not mention, under fail, warn and off."""

from __future__ import annotations

import pytest
from conftest import HAS_BODY_LIMITS, HAS_FORM_LIMITS, Project

SESSION_VALUE = "s3ss10n-cookie-value"
TRACKING_VALUE = "tr4ck1ng-cookie-value"

SHOP_APP = f"""
    from fastapi import FastAPI, Response
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=["api.shop.example"])

    @app.middleware("http")
    async def security_headers(request, call_next):
        response = await call_next(request)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/")
    def index():
        return {{"ok": True}}

    @app.get("/login")
    def login(response: Response):
        response.set_cookie("session", "{SESSION_VALUE}", secure=True, httponly=True, samesite="lax")
        return {{"ok": True}}
"""

SHOP_MANIFEST = """
    [target]
    app = "app:app"
    host = "api.shop.example"

    [[header]]
    name = "X-Content-Type-Options"
    equals = "nosniff"

    [[cookie]]
    name = "session"
    path = "/login"
    secure = true

    [settings]
    debug = false
    docs_url = false
    redoc_url = false
    openapi_url = false
    swagger_ui_oauth2_redirect_url = "/docs/oauth2-redirect"
    root_path = ""
    max_body_size = false
    form_limits = false

    [[middleware]]
    class = "TrustedHostMiddleware"
    options = { allowed_hosts = ["api.shop.example"] }

    [[middleware]]
    class = "BaseHTTPMiddleware"
    options = { dispatch = "app.security_headers" }

    [undocumented]
    headers = "fail"
    settings = "fail"
    middleware = "fail"
    config = "fail"
"""

UNDOCUMENTED_ITEMS = [
    "defaults.toml::undocumented:headers[[]/[]]",
    "defaults.toml::undocumented:headers[[]/login[]]",
    "defaults.toml::undocumented:settings",
    "defaults.toml::undocumented:middleware",
]


def literal(text: str) -> str:
    """``text`` as an fnmatch pattern matching exactly itself."""
    return "".join(f"[{char}]" if char in "[]*?" else char for char in text)


def test_a_fully_documented_app_passes_every_undocumented_item(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(SHOP_MANIFEST)
    result = project.run("-k", "undocumented")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([f"PASSED {item}" for item in UNDOCUMENTED_ITEMS])


def test_an_extra_header_fails_on_every_probed_path_listing_it(project: Project) -> None:
    project.app(SHOP_APP.replace('"nosniff"', '"nosniff"\n        response.headers["X-Powered-By"] = "FastAPI"'))
    project.manifest(SHOP_MANIFEST)
    result = project.run("-k", "undocumented and headers")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ undocumented:headers[[]/[]] _*",
            "response headers on / that no entry documents (GET answered 200): x-powered-by",
            "  manifest: defaults.toml:34",
            "*_ undocumented:headers[[]/login[]] _*",
            "response headers on /login that no entry documents (GET answered 200): x-powered-by",
        ]
    )


def test_an_undocumented_cookie_is_named_and_its_value_never_shown(project: Project) -> None:
    project.app(
        SHOP_APP.replace(
            'samesite="lax")',
            f'samesite="lax")\n        response.set_cookie("tracking_id", "{TRACKING_VALUE}")',
        )
    )
    project.manifest(SHOP_MANIFEST)
    result = project.run("-k", "undocumented and headers")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["response headers on /login that no entry documents (GET answered 200): set-cookie (cookie tracking_id)"]
    )
    output = result.stdout.str() + result.stderr.str()
    assert TRACKING_VALUE not in output
    assert SESSION_VALUE not in output


def test_a_cookie_without_a_cookie_entry_is_undocumented(project: Project) -> None:
    project.app(SHOP_APP)
    project.manifest(
        SHOP_MANIFEST.replace(
            '    [[cookie]]\n    name = "session"\n    path = "/login"\n    secure = true\n', ""
        ).replace('host = "api.shop.example"', 'host = "api.shop.example"\n    paths = ["/", "/login"]')
    )
    result = project.run("-k", "undocumented and headers")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["response headers on /login that no entry documents (GET answered 200): set-cookie (cookie session)"]
    )
    assert SESSION_VALUE not in result.stdout.str()


def test_a_renamed_cookie_fails_its_entry_and_is_undocumented_each_pointing_at_the_other(project: Project) -> None:
    # Two facts: the documented cookie's defaults no longer hold, and a new
    # cookie carries none that anyone checks. Each message names the other.
    project.app(SHOP_APP.replace('response.set_cookie("session"', 'response.set_cookie("sid"'))
    project.manifest(SHOP_MANIFEST)
    result = project.run("-k", "cookie or undocumented and headers")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*_ cookie:session[[]set[]] _*",
            "cookie session: documented set by GET /login, live not set (GET /login answered 200; it sets cookie sid)",
            "*_ undocumented:headers[[]/login[]] _*",
            "response headers on /login that no entry documents (GET answered 200): "
            "set-cookie (cookie sid; documented session not set here)",
        ]
    )
    result.stdout.fnmatch_lines(["PASSED defaults.toml::undocumented:headers[[]/[]]"], consecutive=False)
    assert SESSION_VALUE not in result.stdout.str() + result.stderr.str()


def test_a_cookie_without_a_name_is_listed_without_its_value(project: Project) -> None:
    project.app(
        SHOP_APP.replace(
            'samesite="lax")',
            f'samesite="lax")\n        response.raw_headers.append((b"set-cookie", b"{TRACKING_VALUE}; Path=/"))',
        )
    )
    project.manifest(SHOP_MANIFEST)
    result = project.run("-k", "undocumented and headers")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["response headers on /login that no entry documents (GET answered 200): set-cookie (a cookie without a name)"]
    )
    assert TRACKING_VALUE not in result.stdout.str() + result.stderr.str()


def test_a_header_moved_to_another_path_fails_only_where_it_is_documented(project: Project) -> None:
    # A header entry accounts for its header on every path, so the header
    # showing up on /login is not a second failure of the same move.
    project.app(
        SHOP_APP.replace(
            "    def login(response: Response):\n",
            '    def login(response: Response):\n        response.headers["X-Frame-Options"] = "DENY"\n',
        )
    )
    project.manifest(
        SHOP_MANIFEST.replace(
            "    [[cookie]]",
            '    [[header]]\n    name = "X-Frame-Options"\n    equals = "DENY"\n    paths = ["/"]\n\n    [[cookie]]',
        )
    )
    result = project.run("-k", "Frame or undocumented and headers")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ header:X-Frame-Options[[]/[]] _*",
            "header X-Frame-Options on /: documented 'DENY', live missing (GET / answered 200)",
        ]
    )
    result.stdout.fnmatch_lines(["PASSED defaults.toml::undocumented:headers[[]/login[]]"], consecutive=False)


def test_ignore_headers_are_compared_without_case(project: Project) -> None:
    project.app(SHOP_APP.replace('"nosniff"', '"nosniff"\n        response.headers["X-Cache-Hint"] = "warm"'))
    project.manifest(SHOP_MANIFEST.replace('config = "fail"', 'config = "fail"\n    ignore_headers = ["x-CACHE-hint"]'))
    result = project.run("-k", "undocumented and headers")
    result.assert_outcomes(passed=2)


def test_debug_on_and_docs_enabled_are_undocumented_settings_when_omitted(project: Project) -> None:
    project.app(
        SHOP_APP.replace("app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)", "app = FastAPI(debug=True)")
    )
    project.manifest(
        SHOP_MANIFEST.replace("    debug = false\n", "")
        .replace("    docs_url = false\n", "")
        .replace("    redoc_url = false\n", "")
    )
    result = project.run("-k", "undocumented and settings")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "application settings that [[]settings[]] omits: debug = True, docs_url = '/docs', redoc_url = '/redoc'",
            "  manifest: defaults.toml:32",
        ]
    )


def test_without_a_settings_table_every_application_setting_is_undocumented(project: Project) -> None:
    project.app(SHOP_APP)
    start = SHOP_MANIFEST.index("    [settings]")
    end = SHOP_MANIFEST.index("    [[middleware]]")
    project.manifest(SHOP_MANIFEST[:start] + SHOP_MANIFEST[end:])
    result = project.run("-k", "undocumented and settings")
    result.assert_outcomes(failed=1)
    # max_body_size and form_limits (on the router) only where this FastAPI has them
    newer = (", max_body_size = None" if HAS_BODY_LIMITS else "") + (", form_limits = {}" if HAS_FORM_LIMITS else "")
    result.stdout.fnmatch_lines(
        [
            "application settings that [[]settings[]] omits: debug = False, docs_url = None, redoc_url = None, "
            "openapi_url = None, swagger_ui_oauth2_redirect_url = '/docs/oauth2-redirect', root_path = ''" + newer
        ]
    )


@pytest.mark.skipif(not HAS_FORM_LIMITS, reason="this FastAPI has no form_limits")
def test_form_limits_set_on_the_router_are_undocumented_when_omitted(project: Project) -> None:
    project.app(SHOP_APP.replace("openapi_url=None)", 'openapi_url=None, form_limits={"max_files": 2})'))
    project.manifest(SHOP_MANIFEST.replace("    form_limits = false\n", ""))
    result = project.run("-k", "undocumented and settings")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["application settings that [[]settings[]] omits: form_limits = {'max_files': 2}"])


def test_an_added_middleware_and_an_omitted_option_are_undocumented(project: Project) -> None:
    project.app(
        SHOP_APP.replace(
            'allowed_hosts=["api.shop.example"])',
            'allowed_hosts=["api.shop.example"], www_redirect=False)\n'
            "    from starlette.middleware.gzip import GZipMiddleware\n"
            "    app.add_middleware(GZipMiddleware, minimum_size=500)",
        )
    )
    project.manifest(SHOP_MANIFEST)
    result = project.run("-k", "undocumented and middleware")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "middleware and options that no [[][[]middleware[]][]] entry documents: "
            "GZipMiddleware, TrustedHostMiddleware option www_redirect",
        ]
    )


def test_an_added_function_middleware_is_named_by_its_function(project: Project) -> None:
    project.app(
        SHOP_APP.replace(
            '    @app.get("/")',
            '    @app.middleware("http")\n'
            "    async def add_request_id(request, call_next):\n"
            "        return await call_next(request)\n\n"
            '    @app.get("/")',
            1,
        )
    )
    project.manifest(SHOP_MANIFEST)
    result = project.run("-k", "middleware")
    # Added ahead of the documented function middleware, it fails only here.
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ undocumented:middleware _*",
            "middleware and options that no [[][[]middleware[]][]] entry documents: "
            "BaseHTTPMiddleware(dispatch=app.add_request_id)",
        ]
    )


RATE_LIMITED_APP = """
    from fastapi import FastAPI

    class RateLimitMiddleware:
        def __init__(self, app, prefix: str, per_minute: int, burst: int = 0):
            self.app = app

        async def __call__(self, scope, receive, send):
            await self.app(scope, receive, send)

    app = FastAPI()
    app.add_middleware(RateLimitMiddleware, prefix="/login", per_minute=10, burst=2)
    app.add_middleware(RateLimitMiddleware, prefix="/api", per_minute=600)
"""

RATE_LIMITED_MANIFEST = """
    [target]
    app = "app:app"

    [[middleware]]
    class = "RateLimitMiddleware"
    options = { prefix = "/api", per_minute = 600 }

    [[middleware]]
    class = "RateLimitMiddleware"
    options = { prefix = "/login", per_minute = 10, burst = 2 }

    [undocumented]
    headers = "off"
    settings = "off"
    middleware = "fail"
    config = "off"
"""


def test_an_added_middleware_of_a_documented_class_fails_once_saying_where_it_is(project: Project) -> None:
    project.app(
        RATE_LIMITED_APP + '    app.add_middleware(RateLimitMiddleware, prefix="/upload", per_minute=30, burst=5)\n'
    )
    project.manifest(RATE_LIMITED_MANIFEST)
    result = project.run()
    # Neither entry takes the new one, so neither reports its options, and
    # none of the new one's options are listed apart from it.
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ undocumented:middleware _*",
            "middleware and options that no [[][[]middleware[]][]] entry documents: "
            "RateLimitMiddleware (app.user_middleware[[]0[]])",
        ]
    )


def test_a_changed_option_fails_its_entry_and_a_new_option_is_undocumented(project: Project) -> None:
    # One edit, two facts: a documented value changed (the entry's item) and
    # an option nothing documents was added (the undocumented item). Each
    # names only its own option.
    project.app(RATE_LIMITED_APP.replace('prefix="/api", per_minute=600)', 'prefix="/api", per_minute=60, burst=10)'))
    project.manifest(RATE_LIMITED_MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ middleware:RateLimitMiddleware _*",
            "middleware RateLimitMiddleware option per_minute: documented 600, live 60",
            "  manifest: defaults.toml:5",
            "*_ undocumented:middleware _*",
            "middleware and options that no [[][[]middleware[]][]] entry documents: "
            "RateLimitMiddleware (app.user_middleware[[]0[]]) option burst",
        ]
    )


CONFIG_MODULE = """
    from pydantic_settings import BaseSettings


    class Settings(BaseSettings):
        pool_size: int = 10
        log_level: str = "INFO"
        secret_key: str = "not-shown"


    settings = Settings()
"""

CONFIG_TABLE = """
    [config]
    object = "shop_config:settings"
    values = { pool_size = 10, log_level = "INFO" }
    secrets = ["secret_key"]
"""


def test_a_config_field_added_is_undocumented(project: Project) -> None:
    project.app(SHOP_APP)
    project.app(
        CONFIG_MODULE.replace('log_level: str = "INFO"', 'log_level: str = "INFO"\n        cache_ttl: int = 60'),
        name="shop_config",
    )
    project.manifest(SHOP_MANIFEST + CONFIG_TABLE)
    result = project.run("-k", "undocumented")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ undocumented:config _*",
            "fields of shop_config:settings in neither [[]config[]].values nor [[]config[]].secrets: cache_ttl",
        ]
    )


def test_a_fully_documented_config_passes(project: Project) -> None:
    project.app(SHOP_APP)
    project.app(CONFIG_MODULE, name="shop_config")
    project.manifest(SHOP_MANIFEST + CONFIG_TABLE)
    result = project.run("-k", "undocumented and config")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["PASSED defaults.toml::undocumented:config"])


CARELESS_APP = """
    from fastapi import FastAPI, Response
    from starlette.middleware.gzip import GZipMiddleware

    app = FastAPI()
    app.add_middleware(GZipMiddleware)

    @app.get("/")
    def index(response: Response):
        response.headers["X-Powered-By"] = "FastAPI"
        response.set_cookie("tracking_id", "tr4ck1ng-cookie-value")
        return {}
"""

SHOW_WARNINGS = ("-W", "default::pytest.PytestWarning")
"""The in-process session inherits this repository's ``filterwarnings = error``;
a user's session shows the warning as a warning."""

HEADER_ONLY = """
    [target]
    app = "app:app"

    [[header]]
    name = "X-Powered-By"
    equals = "FastAPI"
"""


def test_warn_is_the_default_a_warning_and_a_summary_line(project: Project) -> None:
    project.app(CARELESS_APP)
    project.manifest(HEADER_ONLY)
    result = project.run(*SHOW_WARNINGS)
    result.assert_outcomes(passed=4, warnings=3)
    result.stdout.fnmatch_lines(
        [
            "*UndocumentedDefaultWarning: response headers on / that no entry documents (GET answered 200): "
            "set-cookie (cookie tracking_id)",
            "undocumented production defaults (warn):",
            "undocumented:headers[[]/[]]: response headers on / that no entry documents (GET answered 200): "
            "set-cookie (cookie tracking_id)",
            "undocumented:settings: application settings that [[]settings[]] omits: debug = False, *",
            "undocumented:middleware: middleware and options that no [[][[]middleware[]][]] entry documents: "
            "GZipMiddleware",
        ],
        consecutive=False,
    )
    assert TRACKING_VALUE not in result.stdout.str()


def test_warn_as_an_explicit_policy(project: Project) -> None:
    project.app(CARELESS_APP)
    project.manifest(HEADER_ONLY + '\n[undocumented]\nheaders = "warn"\nsettings = "off"\nmiddleware = "off"\n')
    result = project.run(*SHOW_WARNINGS)
    result.assert_outcomes(passed=2, warnings=1)
    result.stdout.fnmatch_lines(["undocumented:headers[[]/[]]: *: set-cookie (cookie tracking_id)"])


def test_off_gives_no_item_at_all(project: Project) -> None:
    project.app(CARELESS_APP)
    project.manifest(
        HEADER_ONLY + '\n[undocumented]\nheaders = "off"\nsettings = "off"\nmiddleware = "off"\nconfig = "off"\n'
    )
    result = project.run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["collected 1 item"])
    assert "undocumented:" not in result.stdout.str()


PLAIN_ASGI_APP = """
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-served-by", b"edge-1")]})
        await send({"type": "http.response.body", "body": b"ok"})
"""


def test_a_plain_asgi_app_gets_header_checks_and_skips_the_rest(project: Project) -> None:
    project.app(PLAIN_ASGI_APP)
    project.manifest(
        """
        [target]
        app = "app:app"
        lifespan = "off"

        [undocumented]
        headers = "fail"
        settings = "fail"
        middleware = "fail"
        """
    )
    result = project.run()
    result.assert_outcomes(failed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "response headers on / that no entry documents (GET answered 200): x-served-by",
            "SKIPPED * settings need a FastAPI (or Starlette) application; app:app is a function",
            "SKIPPED * undocumented middleware needs a FastAPI (or Starlette) application; app:app is a function",
        ],
        consecutive=False,
    )


@pytest.mark.parametrize("mode", ["asgi", "url without an app"])
def test_with_no_undocumented_table_the_skips_are_placed_at_the_manifests_top(project: Project, mode: str) -> None:
    # The policies' defaults apply to a table the manifest does not write:
    # its skips have no line of their own (an INTERNALERROR once).
    project.app(PLAIN_ASGI_APP)
    target = 'app = "app:app"' if mode == "asgi" else 'mode = "url"\nbase_url = "http://127.0.0.1:9"'
    project.manifest(f'[target]\n{target}\nlifespan = "off"\n')
    result = project.run("-W", "default::pytest.PytestWarning", "-k", "settings or middleware")
    assert result.ret == 0
    result.assert_outcomes(skipped=2, deselected=1)
    result.stdout.fnmatch_lines(["SKIPPED [[]*[]] defaults.toml:1: *"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


RATE_LIMIT_CONFTEST = """
    from pydantic import BaseModel

    from pytest_prod_defaults import BaseKind, Check, DocumentedHeader, Entry, hookimpl


    class RateLimitEntry(Entry):
        path: str
        limit: int


    class RateLimitKind(BaseKind):
        key = "rate_limit"
        many = True
        model = RateLimitEntry

        def checks(self, entry, manifest):
            return [Check("rate_limit", entry.path, None, entry, lambda target: None)]

        def probed_paths(self, entry, manifest):
            return [entry.path]

        def documented_headers(self, entry, manifest):
            return [DocumentedHeader("x-ratelimit-limit", paths=frozenset({entry.path}))]


    @hookimpl
    def pytest_prod_defaults_kinds():
        return [RateLimitKind()]
"""


def test_every_kind_is_asked_for_paths_and_headers_and_queries_are_ignored(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI, Response

        app = FastAPI()

        @app.get("/{name}")
        def any_path(name: str, response: Response):
            response.headers["X-RateLimit-Limit"] = "100"
            return {}
        """
    )
    project.pytester.makeconftest(RATE_LIMIT_CONFTEST)
    project.manifest(
        """
        [target]
        app = "app:app"
        paths = ["/home", "/items"]

        [[rate_limit]]
        path = "/items?page=2"
        limit = 100

        [undocumented]
        headers = "fail"
        settings = "off"
        middleware = "off"
        """
    )
    result = project.run("-k", "undocumented")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "response headers on /home that no entry documents (GET answered 200): x-ratelimit-limit",
            "PASSED defaults.toml::undocumented:headers[[]/items[]]",
            "PASSED defaults.toml::undocumented:headers[[]/items?page=2[]]",
        ],
        consecutive=False,
    )


def test_a_bad_policy_is_a_usage_error(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [undocumented]
        headers = "loud"
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(["defaults.toml:6: undocumented.headers: Input should be 'fail', 'warn' or 'off'*"])


def test_a_misspelt_key_names_the_closest_known_key(project: Project) -> None:
    project.manifest(
        """
        [target]
        app = "app:app"

        [undocumented]
        ignore_header = ["x-cache"]
        """
    )
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["defaults.toml:6: undocumented.ignore_header: unknown key 'ignore_header'; did you mean 'ignore_headers'?"]
    )


SECRETS = {
    "config_secret_str": "cfg-s3cret-str-value",
    "config_secret_field": "cfg-s3cret-plain-field",
    "config_documented_secret_str": "cfg-s3cret-documented-live",
    "manifest_documented_secret_str": "cfg-s3cret-documented-manifest",
    "config_undocumented_secret": "cfg-s3cret-undocumented",
    "session_cookie": "sess-s3cret-cookie",
    "tracking_cookie": "track-s3cret-cookie",
    "middleware_secret": "mw-s3cret-signing-key",
}


def test_nothing_secret_is_ever_printed_nor_written_to_junit_xml(project: Project) -> None:
    project.app(
        f"""
        from fastapi import FastAPI, Response

        class SigningMiddleware:
            def __init__(self, app, secret_key):
                self.app = app

            async def __call__(self, scope, receive, send):
                await self.app(scope, receive, send)

        app = FastAPI(debug=True)
        app.add_middleware(SigningMiddleware, secret_key="{SECRETS["middleware_secret"]}")

        @app.get("/login")
        def login(response: Response):
            response.set_cookie("session", "{SECRETS["session_cookie"]}", samesite="lax")
            response.set_cookie("tracking_id", "{SECRETS["tracking_cookie"]}")
            return {{}}
        """
    )
    project.app(
        f"""
        from pydantic import SecretStr
        from pydantic_settings import BaseSettings

        class Settings(BaseSettings):
            secret_key: SecretStr = SecretStr("{SECRETS["config_secret_str"]}")
            database_password: str = "{SECRETS["config_secret_field"]}"
            api_token: SecretStr = SecretStr("{SECRETS["config_documented_secret_str"]}")
            signing_salt: SecretStr = SecretStr("{SECRETS["config_undocumented_secret"]}")

        settings = Settings()
        """,
        name="shop_config",
    )
    project.manifest(
        f"""
        [target]
        app = "app:app"
        paths = ["/login"]

        [[cookie]]
        name = "session"
        path = "/login"
        secure = true
        http_only = true
        same_site = "strict"

        [[header]]
        name = "Set-Cookie"
        absent = true

        [[middleware]]
        class = "SigningMiddleware"
        options = {{ secret_key = "mw-documented" }}

        [config]
        object = "shop_config:settings"
        values = {{ api_token = "{SECRETS["manifest_documented_secret_str"]}" }}
        secrets = ["secret_key", "database_password", "no_such_secret"]

        [undocumented]
        headers = "fail"
        settings = "fail"
        middleware = "fail"
        config = "fail"
        """
    )
    result = project.run("--junitxml=report.xml", "-vv", "-l", "--tb=long")
    result.assert_outcomes(passed=4, failed=10)
    result.stdout.fnmatch_lines(
        [
            "middleware SigningMiddleware option secret_key: documented **********, live **********",
            "config api_token: documented **********, live ********** (a secret: its value is never shown)",
            "config no_such_secret: documented a secret field, live no such field (shop_config:settings is a Settings)",
            "response headers on /login that no entry documents (GET answered 200): set-cookie (cookie tracking_id)",
            "fields of shop_config:settings in neither [[]config[]].values nor [[]config[]].secrets: signing_salt",
        ],
        consecutive=False,
    )
    report = (project.path / "report.xml").read_text(encoding="utf-8")
    assert "config api_token: documented **********" in report
    everything = result.stdout.str() + result.stderr.str() + report
    leaked = [name for name, secret in SECRETS.items() if secret in everything]
    assert leaked == []


def test_xdist_workers_collect_the_same_undocumented_items(project: Project) -> None:
    project.app(SHOP_APP.replace('"nosniff"', '"nosniff"\n        response.headers["X-Powered-By"] = "FastAPI"'))
    project.manifest(SHOP_MANIFEST)
    result = project.run("-n", "2", "-k", "undocumented")
    result.assert_outcomes(passed=2, failed=2)
    # workers finish in any order
    result.stdout.fnmatch_lines(["FAILED defaults.toml::undocumented:headers[[]/[]]*"])  # pytest 9 adds " - <message>"
    result.stdout.fnmatch_lines(["FAILED defaults.toml::undocumented:headers[[]/login[]]*"])
