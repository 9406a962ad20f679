"""docs/manifest.md: its key tables are the models' (a stale table fails
here with the command that rewrites it), its complete example is a manifest
the plugin accepts, and every key that example names is in its table."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from pytest_prod_defaults import BaseKind, Check, Entry, Manifest
from pytest_prod_defaults.manifest import load_manifest
from pytest_prod_defaults.reference import MARKER, REGENERATE, StaleReference, builtin_kinds, render, sections

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "manifest.md"
PEOPLE_FIELDS = {"name", "why", "owner", "rollback", "docs", "skip", "until"}
"""The people-facing fields the manifest contract puts on every entry."""


def reference_text() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def table_keys(table: str) -> set[str]:
    """The keys in the first column of a generated table."""
    return set(re.findall(r"^\| `([^`]+)` \|", table, re.M))


def generated(text: str) -> dict[str, str]:
    return {match["name"]: match["body"] for match in MARKER.finditer(text)}


def complete_example() -> str:
    found = re.search(r"<!-- complete-example -->\n```toml\n(.*?)```", reference_text(), re.S)
    assert found is not None, "docs/manifest.md has lost its complete example"
    return found.group(1)


def test_the_reference_tables_are_the_models() -> None:
    text = reference_text()
    assert render(text) == text, f"docs/manifest.md is out of date with the models; run: {REGENERATE}"


def test_every_builtin_kind_and_table_has_its_section() -> None:
    tables = generated(reference_text())
    keys = [kind.key for kind in builtin_kinds()]
    assert {"manifest", "people", "service", "target", "profile", *keys} <= set(tables)
    overview = table_keys(tables["manifest"])
    for kind in builtin_kinds():
        table = f"[[{kind.key}]]" if kind.many else f"[{kind.key}]"
        assert table in overview
        assert f"## `{table}`" in reference_text()
    assert table_keys(tables["people"]) == PEOPLE_FIELDS


def test_the_complete_example_is_a_manifest_and_every_key_it_names_is_in_its_table(tmp_path: Path) -> None:
    example = complete_example()
    (tmp_path / "defaults.toml").write_text(example, encoding="utf-8")
    manifest = load_manifest(tmp_path / "defaults.toml", builtin_kinds(), environ={"SHOP_TOKEN": "t"})
    assert manifest.target.app == "shop.main:app"

    tables = generated(reference_text())
    people = table_keys(tables["people"])
    data = tomllib.loads(example)
    overview = table_keys(tables["manifest"])
    missing: list[str] = []
    for key, value in data.items():
        written = f"[[{key}]]" if isinstance(value, list) and value and isinstance(value[0], dict) else key
        written = f"[{key}]" if isinstance(value, dict) else written
        if written not in overview:
            missing.append(f"top level: {written}")
        entries = value if isinstance(value, list) else [value]
        for entry in (e for e in entries if isinstance(e, dict)):
            documented = table_keys(tables.get(key, "")) | people
            if key == "settings":  # every key of [settings] is an application attribute
                documented |= set(entry)
            missing += [f"{key}.{name}" for name in entry if name not in documented]
            for name, nested in entry.items():
                if isinstance(nested, dict) and f"{key}.{name}" in tables:
                    inner = table_keys(tables[f"{key}.{name}"])
                    missing += [f"{key}.{name}.{part}" for part in nested if part not in inner]
    assert missing == []
    for attribute in data["settings"]:
        assert f"`{attribute}`" in reference_text()


def test_every_toml_block_of_the_reference_is_toml() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", reference_text(), re.S)
    assert len(blocks) >= 3
    for block in blocks:
        tomllib.loads(block)


# -- the generator ---------------------------------------------------------------------------


class QuotaEntry(Entry):
    """A quota header a response carries."""

    path: str = Field(description="where the quota is read")
    limit: int = Field(default=100, ge=1, description="requests a minute")


class QuotaKind(BaseKind):
    key = "quota"
    many = True
    model = QuotaEntry

    def checks(self, entry: Any, manifest: Manifest) -> Iterable[Check]:
        return ()


class UndescribedEntry(Entry):
    """A model a key of which says nothing."""

    path: str


class UndescribedKind(BaseKind):
    key = "undescribed"
    many = True
    model = UndescribedEntry

    def checks(self, entry: Any, manifest: Manifest) -> Iterable[Check]:
        return ()


def test_any_kind_gets_a_table_of_its_own_keys() -> None:
    tables = sections([QuotaKind()])
    assert tables["quota"] == (
        "| key | type | default | meaning |\n"
        "|---|---|---|---|\n"
        "| `path` | string | required | where the quota is read |\n"
        "| `limit` | integer (≥ 1) | `100` | requests a minute |\n"
    )
    assert "| `[[quota]]` | array of tables | — | A quota header a response carries. |" in tables["manifest"]


def test_a_key_without_a_description_is_refused() -> None:
    with pytest.raises(StaleReference, match=r"UndescribedEntry\.path has no description: give it Field\("):
        sections([UndescribedKind()])


def test_a_table_without_its_marker_or_a_marker_without_its_table_is_refused() -> None:
    text = reference_text()
    without_header = re.sub(r"<!-- generated: header -->\n.*?<!-- end generated -->", "", text, flags=re.S)
    with pytest.raises(StaleReference, match="the 'header' table has no '<!-- generated: header -->' marker"):
        render(without_header)
    unknown = text + "\n<!-- generated: headers -->\n<!-- end generated -->\n"
    with pytest.raises(StaleReference, match="no table is called 'headers'"):
        render(unknown)


def run_reference(*args: str) -> subprocess.CompletedProcess[str]:
    """The generator as its users run it, reporting whether pytest was imported."""
    code = (
        "import sys\n"
        "from pytest_prod_defaults.reference import main\n"
        "try:\n"
        "    code = main(sys.argv[1:])\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "print('pytest imported:', sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest')))\n"
        "raise SystemExit(code)\n"
    )
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


def test_the_command_checks_then_rewrites_the_tables_and_leaves_the_prose(tmp_path: Path) -> None:
    text = reference_text()
    stale = text.replace("| `absent` | boolean |", "| `absent` | string |").replace(
        "## `[[header]]`\n", "## `[[header]]`\n\nA paragraph of our own.\n"
    )
    assert stale != text
    copy = tmp_path / "manifest.md"
    copy.write_text(stale, encoding="utf-8")

    checked = run_reference(str(copy), "--check")
    assert checked.returncode == 1
    assert checked.stderr == f"{copy} is out of date with the models; run: {REGENERATE}\n"
    assert copy.read_text(encoding="utf-8") == stale

    rewritten = run_reference(str(copy))
    assert (rewritten.returncode, rewritten.stderr) == (0, "")
    assert copy.read_text(encoding="utf-8") == text.replace(
        "## `[[header]]`\n", "## `[[header]]`\n\nA paragraph of our own.\n"
    )
    assert run_reference(str(copy), "--check").returncode == 0
    assert rewritten.stdout == "pytest imported: []\n"
