"""``[[cache_rule]]`` against real FastAPI apps: the right policy passes, and
each way of getting it wrong fails exactly the items that document it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_prod_defaults.checks import DocumentedHeader
from pytest_prod_defaults.kinds.cache_rule import CacheRuleEntry, CacheRuleKind
from pytest_prod_defaults.manifest import load_manifest

# Every HTTP check behaves the same in-process, under uvicorn and against a URL.
pytestmark = pytest.mark.all_modes

if TYPE_CHECKING:
    from conftest import Project

UNDOCUMENTED_OFF = """
[undocumented]
headers = "off"
settings = "off"
middleware = "off"
config = "off"
"""

MANIFEST = (
    """
version = 1

[target]
app = "app:app"

[[cache_rule]]
name = "static assets are immutable"
cache_control = "public, max-age=31536000, immutable"
cached = ["/static/app.js", "/static/logo.png"]
why = "file names carry a content hash"
owner = "web-team"

[[cache_rule]]
name = "API is never stored"
not_cached = ["/api/items"]

[[cache_rule]]
name = "catalog"
cache_control = "public, max-age=300"
cached = ["/catalog"]
not_cached = ["/catalog?preview=1"]
vary = ["Accept-Encoding"]
bypass = { cookies = ["session"], headers = ["Authorization"], query = ["preview"] }
"""
    + UNDOCUMENTED_OFF
)

ALL_ITEMS = [
    "*cache_rule:static assets are immutable?/static/app.js?*",
    "*cache_rule:static assets are immutable?/static/logo.png?*",
    "*cache_rule:API is never stored?/api/items?*",
    "*cache_rule:catalog?/catalog?*",
    "*cache_rule:catalog?/catalog vary?*",
    "*cache_rule:catalog?/catalog cookie session?*",
    "*cache_rule:catalog?/catalog header Authorization?*",
    "*cache_rule:catalog?/catalog query preview?*",
    "*cache_rule:catalog?/catalog?preview=1?*",
]


def shop_app(
    static: str = "public, max-age=31536000, immutable",
    api: str | None = "no-store",
    catalog: str = "public, max-age=300",
    personal: str = "private, no-store",
    vary: str | None = "Accept-Encoding, Cookie",
    cookies: tuple[str, ...] = ("session",),
    headers: tuple[str, ...] = ("authorization",),
    query: tuple[str, ...] = ("preview",),
) -> str:
    """A shop whose catalog page is cached for everyone unless the request
    carries one of the personalising conditions; each argument gets one part
    of that policy wrong when changed."""
    return f"""
        from fastapi import FastAPI, Request, Response
        from fastapi.responses import PlainTextResponse

        STATIC = {static!r}
        API = {api!r}
        CATALOG = {catalog!r}
        PERSONAL = {personal!r}
        VARY = {vary!r}
        PERSONAL_COOKIES = {cookies!r}
        PERSONAL_HEADERS = {headers!r}
        PERSONAL_QUERY = {query!r}

        app = FastAPI()


        @app.get("/static/{{name}}")
        def static(name: str) -> Response:
            return PlainTextResponse("asset", headers={{"Cache-Control": STATIC}})


        @app.get("/api/items")
        def items() -> Response:
            return PlainTextResponse("[]", headers={{"Cache-Control": API}} if API else {{}})


        @app.get("/catalog")
        def catalog(request: Request) -> Response:
            personal = (
                any(name in request.cookies for name in PERSONAL_COOKIES)
                or any(name in request.headers for name in PERSONAL_HEADERS)
                or any(name in request.query_params for name in PERSONAL_QUERY)
            )
            response = PlainTextResponse("catalog")
            response.headers["Cache-Control"] = PERSONAL if personal else CATALOG
            if VARY:
                response.headers["Vary"] = VARY
            return response
    """


def test_a_shop_that_follows_its_cache_rules_passes(project: Project) -> None:
    project.app(shop_app())
    project.manifest(MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=9)
    result.stdout.fnmatch_lines([f"PASSED {item}" for item in ALL_ITEMS], consecutive=False)


def test_items_come_in_a_fixed_order_one_per_example_and_condition(project: Project) -> None:
    project.app(shop_app())
    project.manifest(MANIFEST)
    result = project.run("--collect-only", "-q")
    result.stdout.fnmatch_lines(ALL_ITEMS, consecutive=True)


def test_wrong_max_age_fails_each_cached_example_with_a_directive_diff(project: Project) -> None:
    project.app(shop_app(static="public, max-age=3600"))
    project.manifest(MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=7, failed=2)
    result.stdout.fnmatch_lines(
        [
            "FAILED *cache_rule:static assets are immutable?/static/app.js?*",
            "FAILED *cache_rule:static assets are immutable?/static/logo.png?*",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(
        [
            'cache_rule "static assets are immutable" /static/app.js: documented \'public, max-age=31536000, '
            "immutable', live 'public, max-age=3600' (max-age differs; immutable missing)",
            "  why:      file names carry a content hash",
            "  owner:    web-team",
            "  manifest: defaults.toml:7",
        ]
    )


def test_order_case_spacing_quoting_and_split_lines_of_the_live_value_do_not_matter(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI, Response

        app = FastAPI()


        @app.get("/static/app.js")
        def asset() -> Response:
            response = Response("asset", headers={"Cache-Control": 'Immutable ,MAX-AGE="31536000"'})
            response.raw_headers.append((b"cache-control", b"Public"))
            return response
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"

        [[cache_rule]]
        name = "static"
        cache_control = "public, max-age=31536000, immutable"
        cached = ["/static/app.js"]
        """
        + UNDOCUMENTED_OFF
    )
    result = project.run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["PASSED *cache_rule:static?/static/app.js?*"])


def test_missing_cache_control_reads_as_no_cache_control(project: Project) -> None:
    project.app(shop_app(api=None))
    project.manifest(MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(
        [
            'cache_rule "API is never stored" /api/items: documented uncacheable by a shared cache, '
            "live no Cache-Control (needs no-store, private, no-cache or max-age=0)",
        ]
    )


def test_not_cached_example_that_is_public_fails_alone(project: Project) -> None:
    project.app(shop_app(api="public, max-age=60"))
    project.manifest(MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(
        [
            'cache_rule "API is never stored" /api/items: documented uncacheable by a shared cache, '
            "live 'public, max-age=60' (max-age=60 lets a shared cache keep it for 60 s)",
            "FAILED *cache_rule:API is never stored?/api/items?*",
        ],
        consecutive=False,
    )


@pytest.mark.parametrize(
    ("wrong", "failed_item", "headline"),
    [
        pytest.param(
            {"cookies": ()},
            "*cache_rule:catalog?/catalog cookie session?*",
            'cache_rule "catalog" /catalog with cookie session: documented uncacheable by a shared cache, '
            "live 'public, max-age=300' (max-age=300 lets a shared cache keep it for 300 s)",
            id="cached despite a session cookie",
        ),
        pytest.param(
            {"headers": ()},
            "*cache_rule:catalog?/catalog header Authorization?*",
            'cache_rule "catalog" /catalog with header Authorization: documented uncacheable by a shared cache, '
            "live 'public, max-age=300' (max-age=300 lets a shared cache keep it for 300 s)",
            id="cached despite Authorization",
        ),
    ],
)
def test_cached_despite_a_bypass_condition_fails_only_that_condition(
    project: Project, wrong: dict[str, Any], failed_item: str, headline: str
) -> None:
    project.app(shop_app(**wrong))
    project.manifest(MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines([headline, f"FAILED {failed_item}"], consecutive=False)
    # Only the condition's name is printed, never the dummy value sent.
    assert "session=x" not in result.stdout.str()


def test_a_positive_s_maxage_keeps_personalised_responses_in_shared_caches(project: Project) -> None:
    project.app(shop_app(personal="public, max-age=0, s-maxage=60"))
    project.manifest(MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=5, failed=4)
    result.stdout.fnmatch_lines(
        [
            'cache_rule "catalog" /catalog with header Authorization: documented uncacheable by a shared '
            "cache, live 'public, max-age=0, s-maxage=60' (s-maxage=60 lets a shared cache keep it for 60 s)",
            "FAILED *cache_rule:catalog?/catalog cookie session?*",
            "FAILED *cache_rule:catalog?/catalog header Authorization?*",
            "FAILED *cache_rule:catalog?/catalog query preview?*",
            "FAILED *cache_rule:catalog?/catalog?preview=1?*",
        ],
        consecutive=False,
    )


def test_cached_despite_a_preview_query_fails_the_bypass_and_the_not_cached_example(project: Project) -> None:
    project.app(shop_app(query=()))
    project.manifest(MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=7, failed=2)
    result.stdout.fnmatch_lines(
        [
            "FAILED *cache_rule:catalog?/catalog query preview?*",
            "FAILED *cache_rule:catalog?/catalog?preview=1?*",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(
        [
            'cache_rule "catalog" /catalog with query preview: documented uncacheable by a shared cache, '
            "live 'public, max-age=300' (max-age=300 lets a shared cache keep it for 300 s)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            'cache_rule "catalog" /catalog?preview=1: documented uncacheable by a shared cache, '
            "live 'public, max-age=300' (max-age=300 lets a shared cache keep it for 300 s)",
        ]
    )


def test_bypass_query_is_appended_to_an_example_that_has_a_query(project: Project) -> None:
    project.app(
        """
        from fastapi import FastAPI, Request, Response

        app = FastAPI()


        @app.get("/search")
        def search(request: Request) -> Response:
            both = {"q", "preview"} <= set(request.query_params)
            return Response("", headers={"Cache-Control": "no-store" if both else "public, max-age=60"})
        """
    )
    project.manifest(
        """
        [target]
        app = "app:app"

        [[cache_rule]]
        name = "search"
        cache_control = "public, max-age=60"
        cached = ["/search?q=shoes"]
        bypass = { query = ["preview"] }
        """
        + UNDOCUMENTED_OFF
    )
    result = project.run()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["PASSED *cache_rule:search?/search?q=shoes query preview?*"], consecutive=False)


@pytest.mark.parametrize(
    ("vary", "live"),
    [
        pytest.param(None, "no Vary", id="missing Vary"),
        pytest.param("Cookie", "'Cookie'", id="Vary without the documented name"),
    ],
)
def test_missing_vary_name_fails_only_the_vary_item(project: Project, vary: str | None, live: str) -> None:
    project.app(shop_app(vary=vary))
    project.manifest(MANIFEST)
    result = project.run()
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"cache_rule \"catalog\" Vary on /catalog: documented 'Accept-Encoding', live {live} "
            "(Accept-Encoding missing)",
            "FAILED *cache_rule:catalog?/catalog vary?*",
        ],
        consecutive=False,
    )


@pytest.mark.parametrize("vary", ["*", "accept-encoding", "Origin, ACCEPT-ENCODING, Cookie"])
def test_vary_names_compare_case_insensitively_and_star_covers_all(project: Project, vary: str) -> None:
    project.app(shop_app(vary=vary))
    project.manifest(MANIFEST)
    project.run().assert_outcomes(passed=9)


def test_an_example_answering_an_error_says_so(project: Project) -> None:
    project.app(shop_app())
    project.manifest(
        """
        [target]
        app = "app:app"

        [[cache_rule]]
        name = "assets"
        cache_control = "public, max-age=31536000, immutable"
        cached = ["/assets/app.js"]
        """
        + UNDOCUMENTED_OFF
    )
    result = project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "cache_rule \"assets\" /assets/app.js: documented 'public, max-age=31536000, immutable', "
            "live no Cache-Control (GET /assets/app.js answered 404)",
        ]
    )


def test_skip_reports_every_item_of_the_rule_as_skipped(project: Project) -> None:
    project.app(shop_app(cookies=()))
    project.manifest(MANIFEST.replace('name = "catalog"', 'name = "catalog"\nskip = "CDN migration"'))
    result = project.run()
    result.assert_outcomes(passed=3, skipped=6)
    result.stdout.fnmatch_lines(["SKIPPED * CDN migration"], consecutive=False)


def test_cache_headers_count_as_documented_on_the_paths_a_rule_covers(project: Project) -> None:
    project.manifest(MANIFEST.replace(UNDOCUMENTED_OFF, ""))
    kind = CacheRuleKind()
    manifest = load_manifest(project.path / "defaults.toml", [kind])
    catalog = manifest.entries("cache_rule")[2]
    assert isinstance(catalog, CacheRuleEntry)
    paths = frozenset({"/catalog", "/catalog?preview=1"})
    assert list(kind.documented_headers(catalog, manifest)) == [
        DocumentedHeader("cache-control", paths=paths),
        DocumentedHeader("vary", paths=paths),
        DocumentedHeader("expires", paths=paths),
        DocumentedHeader("pragma", paths=paths),
    ]
    assert list(kind.probed_paths(catalog, manifest)) == ["/catalog", "/catalog?preview=1"]


# -- manifest errors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        pytest.param(
            'name = "r"\ncached = ["/a"]',
            "defaults.toml:4: cache_rule[1] (r): 'cached' examples need 'cache_control'*",
            id="cached without cache_control",
        ),
        pytest.param(
            'name = "r"\ncache_control = "public"',
            "defaults.toml:4: cache_rule[1] (r): a cache rule needs examples*",
            id="no examples",
        ),
        pytest.param(
            'name = "r"\ncache_control = "public, no store"\ncached = ["/a"]',
            "defaults.toml:6: cache_rule[1].cache_control (r): cannot parse 'no store'*",
            id="unparseable cache_control",
        ),
        pytest.param(
            'name = "r"\ncache_control = "max-age=soon"\ncached = ["/a"]',
            "defaults.toml:6: cache_rule[1].cache_control (r): max-age needs a number of seconds*",
            id="max-age not a number",
        ),
        pytest.param(
            'cache_control = "public"\ncached = ["/a"]',
            "defaults.toml:4: cache_rule[1].name: required key is missing",
            id="no name",
        ),
        pytest.param(
            'name = "r"\ncache_control = "public"\ncached = ["a"]',
            "defaults.toml:7: cache_rule[1].cached[1] (r): a path starts with '/'*",
            id="path without slash",
        ),
        pytest.param(
            'name = "r"\nnot_cached = ["/a"]\nvary = ["Cookie"]',
            "defaults.toml:4: cache_rule[1] (r): 'vary' applies to 'cached' examples, and this rule has none",
            id="vary without cached examples",
        ),
        pytest.param(
            'name = "r"\ncache_control = "public"\ncached = ["/a"]\nnot_cached = ["/a"]',
            "defaults.toml:4: cache_rule[1] (r): /a cannot be both cached and not_cached",
            id="example both cached and not cached",
        ),
        pytest.param(
            'name = "r"\ncache_control = "public"\ncached = ["/a"]\nbypass = { cookie = ["session"] }',
            "defaults.toml:8: cache_rule[1].bypass.cookie (r): unknown key 'cookie'; did you mean 'cookies'?",
            id="unknown bypass key",
        ),
        pytest.param(
            'name = "r"\ncache_control = "public"\ncached = ["/a"]\nbypass = { headers = ["X Token"] }',
            "defaults.toml:8: cache_rule[1].bypass.headers[1] (r): 'X Token' is not a header name*",
            id="bypass header not a token",
        ),
        pytest.param(
            'name = "r"\ncache_control = "public"\ncached = ["/a"]\nvaries = ["Cookie"]',
            "defaults.toml:8: cache_rule[1].varies (r): unknown key 'varies'; did you mean 'vary'?",
            id="misspelt key",
        ),
    ],
)
def test_manifest_errors_name_file_line_and_key(project: Project, rule: str, message: str) -> None:
    project.app(shop_app())
    project.manifest(f'[target]\napp = "app:app"\n\n[[cache_rule]]\n{rule}\n')
    result = project.run()
    assert result.ret == 4
    result.stderr.fnmatch_lines([message.replace("[", "[[]")])
    assert "Traceback" not in result.stderr.str()
