"""``load_manifest(path, kinds, text=...)``: a manifest given as text, named
as if written at ``path``. ``prod-defaults init`` loads the bases it
extends and checks what it wrote this way, so nothing is written to disk to
be read back."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_prod_defaults.manifest import ManifestError, load_manifest
from pytest_prod_defaults.registry import ordered_kinds, standalone_plugin_manager

KINDS = ordered_kinds(standalone_plugin_manager().hook.pytest_prod_defaults_kinds())

BASE = """\
[service]
owner = "platform-team"

[[header]]
name = "Strict-Transport-Security"
equals = "max-age=63072000; includeSubDomains"

[[header]]
name = "X-Frame-Options"
equals = "DENY"
"""

SERVICE = """\
extends = ["../platform/base.toml"]

[target]
app = "orders.main:app"

[[header]]
name = "X-Frame-Options"
skip = "the partner portal frames us"
"""


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``platform/base.toml`` in a folder that is the current directory, and
    an empty ``svc/`` beside it where nothing is written."""
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "base.toml").write_text(BASE, encoding="utf-8")
    (tmp_path / "svc").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_loads_with_bases_found_relative_to_the_given_folder(platform: Path) -> None:
    manifest = load_manifest("svc/defaults.toml", KINDS, text=SERVICE)
    assert manifest.path == Path("svc/defaults.toml")
    assert manifest.target.app == "orders.main:app"
    hsts, frames = manifest.entries("header")
    assert (hsts.name, hsts.source, hsts.line, hsts.owner) == (
        "Strict-Transport-Security",
        "platform/base.toml",
        4,
        "platform-team",
    )
    # Amended (waived) in the text, defined in the base.
    assert (frames.source, frames.line, frames.skip) == ("svc/defaults.toml", 6, "the partner portal frames us")
    assert frames.inherited == "platform/base.toml:8"
    assert not (platform / "svc" / "defaults.toml").exists()
    assert list((platform / "svc").iterdir()) == []


def test_text_is_what_loads_even_where_a_file_exists(platform: Path) -> None:
    (platform / "svc" / "defaults.toml").write_text("this is not TOML\n", encoding="utf-8")
    manifest = load_manifest(platform / "svc" / "defaults.toml", KINDS, text=SERVICE)
    assert [entry.name for entry in manifest.entries("header")] == ["Strict-Transport-Security", "X-Frame-Options"]


def test_a_problem_in_the_text_names_the_given_source_and_line(platform: Path) -> None:
    text = SERVICE + textwrap.dedent(
        """
        [[header]]
        name = "X-Content-Type-Options"
        equls = "nosniff"
        """
    )
    with pytest.raises(ManifestError) as raised:
        load_manifest("svc/defaults.toml", KINDS, text=text)
    assert str(raised.value) == (
        "svc/defaults.toml:12: header[3].equls (X-Content-Type-Options): unknown key 'equls'; did you mean 'equals'?"
    )
    (problem,) = raised.value.problems
    assert (problem.file, problem.line) == ("svc/defaults.toml", 12)


def test_a_syntax_error_in_the_text_names_the_given_source_and_line(platform: Path) -> None:
    with pytest.raises(ManifestError) as raised:
        load_manifest("svc/defaults.toml", KINDS, text='[target]\napp = "a:app"\n\n[[header]]\nname = "X-A\n')
    assert str(raised.value).startswith("svc/defaults.toml:5: TOML syntax error: ")


def test_a_problem_in_a_base_names_the_base_and_its_line(platform: Path) -> None:
    (platform / "platform" / "base.toml").write_text(BASE.replace('equals = "max-age', 'equal = "max-age'))
    with pytest.raises(ManifestError) as raised:
        load_manifest("svc/defaults.toml", KINDS, text=SERVICE)
    assert str(raised.value) == (
        "platform/base.toml:6: header[1].equal (Strict-Transport-Security): unknown key 'equal'; did you mean 'equals'?"
    )


def test_a_missing_base_is_named_from_the_given_source(platform: Path) -> None:
    with pytest.raises(ManifestError) as raised:
        load_manifest("svc/defaults.toml", KINDS, text=SERVICE.replace("base.toml", "nope.toml"))
    assert str(raised.value) == (
        "svc/defaults.toml:1: extends: '../platform/nope.toml' (svc/defaults.toml → platform/nope.toml): no such file"
    )
