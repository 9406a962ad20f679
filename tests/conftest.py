"""Shared fixtures: every test writes a real FastAPI app and a manifest into a
pytester folder and runs a real pytest session against them."""

from __future__ import annotations

import textwrap

import pytest


class Project:
    """A folder with an app module and a ``defaults.toml``."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        self.path = pytester.path

    def app(self, source: str, name: str = "app") -> None:
        """Write ``<name>.py`` (dedented)."""
        self.pytester.makepyfile(**{name: textwrap.dedent(source)})

    def manifest(self, toml: str, name: str = "defaults.toml") -> None:
        """Write the manifest (dedented)."""
        (self.path / name).write_text(textwrap.dedent(toml), encoding="utf-8")

    def run(self, *args: str) -> pytest.RunResult:
        """``pytest --check-defaults`` in-process, no cache, every outcome reported."""
        return self.pytester.runpytest("--check-defaults", "-p", "no:cacheprovider", "-rA", *args)

    def run_subprocess(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess("--check-defaults", "-p", "no:cacheprovider", "-rA", *args)


@pytest.fixture
def project(pytester: pytest.Pytester) -> Project:
    return Project(pytester)
