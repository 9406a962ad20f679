"""examples/: the README's demo passes in every mode, and its drifted
variant fails with the readable first line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import Project

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture
def example(project: Project) -> Project:
    shutil.copytree(EXAMPLES / "shop", project.path / "shop")
    shutil.copy(EXAMPLES / "defaults.toml", project.path / "defaults.toml")
    shutil.copy(EXAMPLES / "pytest.ini", project.path / "pytest.ini")
    return project


@pytest.mark.all_modes
def test_example_service_holds_every_documented_default(example: Project) -> None:
    result = example.run()
    assert result.ret == 0
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] > 50
    assert "failed" not in outcomes


def test_drifted_example_fails_with_documented_and_live(example: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DRIFT", "1")
    result = example.run()
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "header Strict-Transport-Security on /: documented 'max-age=63072000; includeSubDomains',"
            " live 'max-age=300' (GET / answered 200)",
            "  why:      browsers must only ever speak HTTPS to us",
        ]
    )
    result.stdout.fnmatch_lines(["setting debug: documented false, live true"])
    result.stdout.fnmatch_lines(["FAILED defaults.toml::cookie:session[[]secure[]]*"])
    assert "opaque-session-id" not in result.stdout.str()
    assert "example-only" not in result.stdout.str()
