"""The README's custom kind, run as written: a third-party kind registers
through the same hook as the built-ins and behaves like one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import Project

README = Path(__file__).parent.parent / "README.md"


def readme_blocks() -> dict[str, str]:
    """Code blocks that follow a ``<!-- custom-kind: FILE -->`` marker."""
    text = README.read_text(encoding="utf-8")
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
