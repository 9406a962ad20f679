"""The custom kinds of ``docs/custom-kinds.md``, run as written: a
third-party kind registers through the same hook as the built-ins and
behaves like one, in ``pytest --check-defaults``, in ``prod-defaults init``
(captured, written, summarised), in ``extends`` merging and in ``docs``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import QUIET, Project

import pytest_prod_defaults

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "custom-kinds.md"
EXAMPLE = ROOT / "examples" / "custom_kind" / "rate_limit.py"


def readme_blocks() -> dict[str, str]:
    """Code blocks that follow a ``<!-- custom-kind: FILE -->`` marker (the
    custom-kind example moved from the README to its own page)."""
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(r"<!-- custom-kind: (\S+) -->\n```python\n(.*?)```", re.S)
    return {name: body for name, body in pattern.findall(text)}


REDIRECT_APP = """
    from fastapi import FastAPI
    from fastapi.responses import RedirectResponse

    app = FastAPI()

    @app.get("/old-shop")
    def old_shop():
        return RedirectResponse("/shop", status_code=STATUS)
"""

MANIFEST = """
    [target]
    app = "app:app"

    [[redirect]]
    path = "/old-shop"
    location = "/shop"
    status = 308
    why = "links printed on 2019 flyers"

    [undocumented]
    headers = "off"
    settings = "off"
    middleware = "off"
    config = "off"
"""


@pytest.fixture
def readme_kind(project: Project) -> Project:
    blocks = readme_blocks()
    assert set(blocks) == {"redirect_kind.py", "conftest.py"}
    for name, body in blocks.items():
        (project.path / name).write_text(body, encoding="utf-8")
    project.manifest(MANIFEST)
    return project


def test_readme_custom_kind_passes(readme_kind: Project) -> None:
    readme_kind.app(REDIRECT_APP.replace("STATUS", "308"))
    result = readme_kind.run()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["PASSED defaults.toml::redirect:/old-shop"])


def test_readme_custom_kind_reports_drift_like_a_builtin(readme_kind: Project) -> None:
    readme_kind.app(REDIRECT_APP.replace("STATUS", "302"))
    result = readme_kind.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "redirect /old-shop: documented 308 /shop, live 302 /shop",
            "  why:      links printed on 2019 flyers",
            "  manifest: defaults.toml:5",
        ]
    )


def test_custom_kind_keys_are_validated(readme_kind: Project) -> None:
    readme_kind.manifest('[target]\napp = "app:app"\n\n[[redirect]]\npath = "/a"\nlocaton = "/b"\n')
    result = readme_kind.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["defaults.toml:6: redirect[[]1[]].locaton (/a): unknown key 'locaton'; did you mean 'location'?"]
    )


def test_two_kinds_claiming_one_key_is_a_usage_error(project: Project) -> None:
    project.pytester.makeconftest(
        """
        def pytest_prod_defaults_kinds():
            from pytest_prod_defaults.kinds.header import HeaderKind

            class Impostor(HeaderKind):
                pass

            return [Impostor()]
        """
    )
    project.manifest('[target]\napp = "app:app"\n')
    result = project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: pytest-prod-defaults: two check kinds claim the manifest key 'header'*"])


# -- a kind's whole life: examples/custom_kind/rate_limit.py ------------------------------------

LIMITED_APP = """
    import os

    from fastapi import FastAPI, Response

    app = FastAPI(title="limited", docs_url=None, redoc_url=None, openapi_url=None)


    @app.get("/")
    def index():
        return {"ok": True}


    @app.get("/api/items")
    def items(response: Response):
        response.headers["X-RateLimit-Limit"] = os.environ.get("APP_LIMIT", "100")
        return ["tea"]


    @app.get("/api/orders")
    def orders(response: Response):
        response.headers["X-RateLimit-Limit"] = "20"
        return []
"""

RATE_LIMIT_CONFTEST = """\
def pytest_prod_defaults_kinds():
    from rate_limit import RateLimitKind

    return [RateLimitKind()]
"""


def prod_defaults(project: Project, *args: str) -> pytest.RunResult:
    """``python -m pytest_prod_defaults ARGS`` in the project's folder, as a user runs it."""
    return project.pytester.run(sys.executable, "-m", "pytest_prod_defaults", *args, timeout=120)


def read(project: Project, name: str = "defaults.toml") -> dict[str, Any]:
    return tomllib.loads((project.path / name).read_text(encoding="utf-8"))


@pytest.fixture
def limited(project: Project) -> Project:
    """A FastAPI app announcing its rate limits, the example kind beside it,
    and a conftest.py registering it as the doc says."""
    shutil.copy(EXAMPLE, project.path / "rate_limit.py")
    (project.path / "conftest.py").write_text(RATE_LIMIT_CONFTEST, encoding="utf-8")
    project.app(LIMITED_APP)
    return project


def test_the_doc_shows_the_example_file_as_it_is() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- example: examples/custom_kind/rate_limit.py -->\n```python\n(.*?)```\n", text, re.S)
    assert found is not None, "docs/custom-kinds.md has no block marked as the example file"
    assert found.group(1) == EXAMPLE.read_text(encoding="utf-8")


def test_init_captures_writes_and_summarises_a_custom_kind_whose_manifest_then_passes(
    limited: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = ("--path", "/", "--path", "/api/items")
    result = prod_defaults(limited, "init", "--app", "app:app", *paths, "--plugin", "rate_limit")
    assert result.ret == 0, result.stderr.str()
    text = (limited.path / "defaults.toml").read_text(encoding="utf-8")
    document = read(limited)
    assert document["rate_limit"] == [{"path": "/api/items", "limit": 100, "why": "", "owner": "", "rollback": ""}]
    assert "limit = 100  # requests, as X-RateLimit-Limit announced it" in text
    assert "# -- rate limits " in text
    # The header is the kind's (it claimed it): no [[header]] entry says it again.
    assert "x-ratelimit-limit" not in {header["name"].lower() for header in document.get("header", [])}
    summary = result.stderr.lines[0]
    assert summary.startswith("prod-defaults: wrote defaults.toml: ")
    assert summary.endswith(", 1 rate limit")

    checked = limited.run()
    assert checked.ret == 0
    checked.stdout.fnmatch_lines(
        ["PASSED defaults.toml::undocumented:headers[[]/api/items[]]", "PASSED defaults.toml::rate_limit:/api/items"],
        consecutive=False,
    )
    monkeypatch.setenv("APP_LIMIT", "1000")
    drifted = limited.run()
    drifted.assert_outcomes(failed=1, passed=checked.parseoutcomes()["passed"] - 1)
    drifted.stdout.fnmatch_lines(["*rate limit on /api/items: documented 100, live 1000 (GET /api/items answered 200)"])

    docs = prod_defaults(limited, "docs", "--plugin", "rate_limit")
    assert docs.ret == 0, docs.stderr.str()
    docs.stdout.fnmatch_lines(
        ["## Rate limits", "", "### /api/items", "", "```toml", 'path = "/api/items"', "limit = 100", "```"]
    )


BASE = """\
[[rate_limit]]
path = "/api/items"
limit = 50
why = "the platform's default"

[[rate_limit]]
path = "/"
limit = 10
why = "every path is limited"

[[rate_limit]]
path = "/api/orders"
limit = 20
why = "orders are expensive"
"""


def test_extends_merges_a_custom_kind_by_its_identity(limited: Project) -> None:
    (limited.path / "base.toml").write_text(BASE, encoding="utf-8")
    limited.manifest(
        """
        extends = ["base.toml"]

        [target]
        app = "app:app"
        paths = ["/", "/api/items", "/api/orders"]

        [[rate_limit]]
        path = "/api/items"
        limit = 100
        why = "this service's own limit"

        [[rate_limit]]
        path = "/"
        skip = "the index is not limited yet"
        """
        + QUIET
    )
    result = limited.run()
    # One entry per path: /api/items replaced (the base's 50 would fail), / amended with a waiver.
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "PASSED defaults.toml::rate_limit:/api/items",
            "PASSED defaults.toml::rate_limit:/api/orders",
            "SKIPPED [[]1[]] defaults.toml*: the index is not limited yet",
        ],
        consecutive=False,
    )


WAIVED = "rate limit on /: documented 10, live missing (GET / answered 200)"
DECIDE = "fix the app, or say why it is waived"


def test_init_extends_compares_a_custom_kind_with_the_bases_by_its_identity(limited: Project) -> None:
    (limited.path / "base.toml").write_text(BASE, encoding="utf-8")
    paths = ("--path", "/", "--path", "/api/items", "--path", "/api/orders")
    result = prod_defaults(
        limited, "init", "--app", "app:app", *paths, "--extends", "base.toml", "--plugin", "rate_limit"
    )
    assert result.ret == 0, result.stderr.str()
    text = (limited.path / "defaults.toml").read_text(encoding="utf-8")
    # /api/orders holds: not written again; /api/items does not: the captured
    # entry is written over it; / does not and nothing replaces it: waived.
    assert "# [[rate_limit]] /api/orders" in text
    assert read(limited)["rate_limit"] == [
        {"path": "/api/items", "limit": 100, "why": "", "owner": "", "rollback": ""},
        {"path": "/", "skip": f"TODO: does not hold against the app as captured ({WAIVED}); {DECIDE}"},
    ]
    assert (
        "# replaces the inherited entry of base.toml:1, which does not hold: rate limit on /api/items:"
        " documented 50, live 100 (GET /api/items answered 200)" in text
    )
    result.stderr.fnmatch_lines(
        [
            "prod-defaults: wrote defaults.toml: *, 1 rate limit; 1 inherited default holds, not repeated",
            "  note: [[][[]rate_limit[]][]] /api/items replaces the inherited entry of base.toml:1, *",
            "  note: waived with a TODO: the inherited [[][[]rate_limit[]][]] / of base.toml:6 does not hold",
        ]
    )
    checked = limited.run()
    assert checked.ret == 0
    checked.stdout.fnmatch_lines(
        ["PASSED defaults.toml::rate_limit:/api/items", "PASSED defaults.toml::rate_limit:/api/orders"],
        consecutive=False,
    )


def test_mypy_strict_accepts_the_examples_and_the_built_in_kinds_as_check_kinds(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    shutil.copy(EXAMPLE, tmp_path / "rate_limit.py")
    (tmp_path / "redirect_kind.py").write_text(readme_blocks()["redirect_kind.py"], encoding="utf-8")
    (tmp_path / "every_kind.py").write_text(
        textwrap.dedent(
            """\
            from pytest_prod_defaults import CheckKind
            from pytest_prod_defaults.kinds.cache_rule import CacheRuleKind
            from pytest_prod_defaults.kinds.config import ConfigKind
            from pytest_prod_defaults.kinds.cookie import CookieKind
            from pytest_prod_defaults.kinds.header import HeaderKind
            from pytest_prod_defaults.kinds.health_check import HealthCheckKind
            from pytest_prod_defaults.kinds.middleware import MiddlewareKind
            from pytest_prod_defaults.kinds.settings import SettingsKind
            from pytest_prod_defaults.kinds.undocumented import UndocumentedKind
            from pytest_prod_defaults.kinds.upload import UploadKind
            from rate_limit import RateLimitKind
            from redirect_kind import RedirectKind

            KINDS: list[CheckKind] = [
                HeaderKind(),
                CookieKind(),
                HealthCheckKind(),
                UploadKind(),
                CacheRuleKind(),
                SettingsKind(),
                MiddlewareKind(),
                ConfigKind(),
                UndocumentedKind(),
                RateLimitKind(),
                RedirectKind(),
            ]
            """
        ),
        encoding="utf-8",
    )
    # The package may be installed in editable mode, which mypy cannot follow: point it at the source.
    env = {**os.environ, "MYPYPATH": str(Path(pytest_prod_defaults.__file__).parent.parent)}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / ".mypy_cache"), "."],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in 3 source files" in result.stdout


PLAIN_KIND = """\
from pytest_prod_defaults import Check, Entry


class PingEntry(Entry):
    path: str


class PingKind:
    key = "ping"
    many = True
    model = PingEntry

    def checks(self, entry, manifest):
        yield Check("ping", entry.path, None, entry, lambda target: None)


def pytest_prod_defaults_kinds():
    return [PingKind()]
"""


def test_a_kind_that_does_not_inherit_base_kind_still_takes_part(limited: Project) -> None:
    """Only key, many, model and checks: the plugin answers the rest as
    BaseKind does, in a checking run and in ``init``."""
    (limited.path / "ping_kind.py").write_text(PLAIN_KIND, encoding="utf-8")
    (limited.path / "conftest.py").write_text("pytest_plugins = ['ping_kind']\n", encoding="utf-8")
    limited.manifest(
        """
        [target]
        app = "app:app"

        [[ping]]
        path = "/"

        [undocumented]
        headers = "fail"
        settings = "off"
        middleware = "off"
        """
    )
    result = limited.run()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["PASSED defaults.toml::undocumented:headers[[]/[]]", "PASSED defaults.toml::ping:/"])

    captured = prod_defaults(limited, "init", "--app", "app:app", "--plugin", "ping_kind", "--output", "captured.toml")
    assert captured.ret == 0, captured.stderr.str()
    assert "ping" not in read(limited, "captured.toml")
    assert captured.stderr.lines[0].startswith("prod-defaults: wrote captured.toml: ")
