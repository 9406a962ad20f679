"""Lines of manifest keys are found when a report or a problem asks for
one, by one scan of each file at most; a manifest that loads cleanly and
is never asked is never scanned. And the scan finds what it always found."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Project
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pytest_prod_defaults import toml_positions
from pytest_prod_defaults.manifest import Manifest, load_manifest
from pytest_prod_defaults.registry import ordered_kinds, standalone_plugin_manager
from pytest_prod_defaults.toml_positions import KeyPath, key_lines

KINDS = ordered_kinds(standalone_plugin_manager().hook.pytest_prod_defaults_kinds())

BASE = """\
[service]
owner = "platform-team"

[[header]]
name = "Strict-Transport-Security"
equals = "max-age=63072000; includeSubDomains"
why = "HTTPS only"

[[header]]
name = "X-Frame-Options"
equals = "DENY"
"""

SERVICE = """\
extends = ["../platform/base.toml"]

[target]
app = "app:app"

[[header]]
name = "X-Frame-Options"
skip = "the partner portal frames us"

[[header]]
name = "X-Content-Type-Options"
equals = "nosniff"

[settings]
debug = false
docs_url = false

[undocumented]
headers = "off"
middleware = "off"
"""

APP = """
from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/")
def index():
    headers = {"Strict-Transport-Security": "max-age=1", "X-Content-Type-Options": "nosniff"}
    return JSONResponse({}, headers=headers)
"""


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The first line of each text the line scanner is run on, in order."""
    scanned: list[str] = []
    scan = toml_positions.key_lines

    def counted(text: str) -> dict[KeyPath, int]:
        scanned.append(text.partition("\n")[0])
        return scan(text)

    monkeypatch.setattr(toml_positions, "key_lines", counted)
    yield scanned


def write_service(root: Path) -> Path:
    (root / "platform").mkdir()
    (root / "platform" / "base.toml").write_text(BASE, encoding="utf-8")
    (root / "svc").mkdir()
    (root / "svc" / "defaults.toml").write_text(SERVICE, encoding="utf-8")
    return root / "svc" / "defaults.toml"


def every_line(manifest: Manifest) -> list[tuple[str, str | None, int | None, str | None]]:
    """What a report of every item reads: each check's id, file, line, and the base it is inherited from."""
    found = []
    for key, kind in manifest.kinds.items():
        for entry in manifest.entries(key):
            for check in kind.checks(entry, manifest):
                found.append((check.id, entry.source, check.own_line() or entry.line, entry.inherited))
    return found


def test_a_plain_load_and_its_checks_scan_no_line(tmp_path: Path, scans: list[str]) -> None:
    path = write_service(tmp_path)
    manifest = load_manifest(path, KINDS)
    checks = [
        check.id
        for key, kind in manifest.kinds.items()
        for entry in manifest.entries(key)
        for check in kind.checks(entry, manifest)  # as pytest collects them
    ]
    assert "header:X-Content-Type-Options[/]" in checks
    assert "settings:debug" in checks
    assert scans == []


def test_lines_asked_for_scan_each_file_once_and_are_the_lines_written(tmp_path: Path, scans: list[str]) -> None:
    path = write_service(tmp_path)
    base = str(tmp_path / "platform" / "base.toml")
    manifest = load_manifest(path, KINDS)
    lines = every_line(manifest)
    assert sorted(scans) == ["[service]", 'extends = ["../platform/base.toml"]']
    assert every_line(manifest) == lines  # asked again: nothing scanned again
    assert len(scans) == 2
    assert lines[:3] == [
        ("header:Strict-Transport-Security[/]", base, 4, f"{base}:4"),
        # amended (waived) in the service, defined in the base
        ("header:X-Frame-Options[/]", str(path), 6, f"{base}:9"),
        ("header:X-Content-Type-Options[/]", str(path), 10, None),
    ]
    assert ("settings:debug", str(path), 15, None) in lines
    assert ("settings:docs_url", str(path), 16, None) in lines
    assert ("undocumented:settings", str(path), 18, None) in lines


def test_a_collect_only_run_scans_no_line_and_a_run_scans_each_file_once(project: Project, scans: list[str]) -> None:
    # Amended with an owner, not waived: a waived item records its result,
    # manifest line included, as it is collected.
    service = SERVICE.replace("skip = ", "owner = ").replace('headers = "off"', 'headers = "off"\nsettings = "off"')
    write_service(project.path).write_text(service, encoding="utf-8")
    project.app(APP, name="svc/app")
    collected = project.run("--defaults-file", "svc/defaults.toml", "--collect-only", "-q")
    assert collected.ret == 0
    collected.stdout.fnmatch_lines(["svc/defaults.toml::header:Strict-Transport-Security[[]/[]]", "* tests collected*"])
    assert scans == []

    result = project.run("--defaults-file", "svc/defaults.toml", "--junitxml=report.xml", "-o", "junit_family=xunit1")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(["header Strict-Transport-Security on /: *", "  manifest: platform/base.toml:4"])
    result.stdout.fnmatch_lines(
        ["header X-Frame-Options on /: *", "  manifest: svc/defaults.toml:6", "  inherited from: platform/base.toml:9"]
    )
    assert sorted(scans) == ["[service]", 'extends = ["../platform/base.toml"]']
    junit = (project.path / "report.xml").read_text(encoding="utf-8")
    # pytest's location is 0-based: line 10 of the file
    assert re.search(r'name="header:X-Content-Type-Options\[/\]"[^>]*line="9"', junit)


# -- the scan finds what it always found ------------------------------------------------------
#
# The scanner once walked every line a character at a time; it now searches
# for what matters (quotes, brackets, comments). That walk, kept here as it
# was, is the specification: for any text both find the same lines.


def _reference_split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for match in toml_positions._KEY_PART.finditer(dotted):
        part = match.group(0)
        if part[0] in "\"'":
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def _reference_open_brackets(line: str, in_multiline: str | None) -> tuple[int, str | None]:
    depth = 0
    i = 0
    quote = in_multiline
    while i < len(line):
        if quote:
            if quote in ('"', '"""') and line[i] == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
            else:
                i += 1
            continue
        ch = line[i]
        if ch == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            quote = line[i : i + 3]
            i += 3
            continue
        if ch in "\"'":
            quote = ch
            i += 1
            continue
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    if quote is not None and len(quote) == 1:
        quote = None
    return depth, quote


def _reference_key_lines(text: str) -> dict[KeyPath, int]:
    lines: dict[KeyPath, int] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    table: KeyPath = ()
    depth = 0
    multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if depth == 0 and multiline is None:
            if match := toml_positions._TABLE_ARRAY.match(line):
                name = _reference_split_key(match.group(1))
                index = array_counts.get(name, 0)
                array_counts[name] = index + 1
                table = (*name, index)
                lines.setdefault(table, number)
                lines.setdefault(name, number)
                continue
            if match := toml_positions._TABLE.match(line):
                table = _reference_split_key(match.group(1))
                lines.setdefault(table, number)
                continue
            if match := toml_positions._KEY_VALUE.match(line):
                key = _reference_split_key(match.group(1))
                for end in range(1, len(key) + 1):
                    lines.setdefault((*table, *key[:end]), number)
        change, multiline = _reference_open_brackets(line, multiline)
        depth = max(0, depth + change)
    return lines


# Pieces that move the scanner between its states, and some that do not.
TOML_PIECES = st.sampled_from(
    [
        "[[header]]",
        "[ a . 'b' ]",
        '["q.k"]',
        "[",
        "]",
        "{",
        "}",
        "a = ",
        "Ab_1-c = ",
        "b.c = ",
        "[[X_y]]",
        '"k" = ',
        '"',
        "'",
        '"""',
        "'''",
        '""',
        "\\",
        '\\"',
        "#",
        "=",
        " ",
        "\t",
        ".",
        "x",
        "\n",
        "\r\n",
        "\u2028",
    ]
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.lists(TOML_PIECES, max_size=60).map("".join), st.text(max_size=200)))
@example(text='a = """x\\"""\n[[t]]\nb = """\n[[u]]\n"""\n[[v]]\n')
@example(text="a = '''x\n[[t]]\n'''\nb = [ # ]\n[[u]]\n]\n[[w]]\n")
@example(text='a = "x\\\\" # [\n[[t]]\nb = "\\"[" [\n[[u]]\n')
@example(text='a = """""" [\n]\n[[t]]\n')
@example(text='a = """x""y""" [\n]\n[[t]]\n')
@example(text='a = """x\n""y"" [\n"""\n[[t]]\n')
@example(text='a = """x""""[\n[[t]]\n')
@example(text="a = '''x''y''' [\n]\n[[t]]\n")
def test_the_scan_finds_what_the_character_walk_found(text: str) -> None:
    assert key_lines(text) == _reference_key_lines(text)


def test_the_examples_scan_as_before() -> None:
    examples = Path(__file__).parent.parent / "examples"
    manifests = [*examples.rglob("*.toml"), *(Path(toml_positions.__file__).parent / "profiles").glob("*.toml")]
    assert len(manifests) > 3
    for path in manifests:
        text = path.read_text(encoding="utf-8")
        assert key_lines(text) == _reference_key_lines(text), path


def test_a_table_of_a_manifest_scans_to_its_line() -> None:
    text = textwrap.dedent(
        """\
        version = 1
        description = '''
        [[header]]
        '''
        [target]
        app = "app:app"
        paths = [
          "/", # [[header]]
        ]

        [[header]]
        name = "X-A"
        """
    )
    assert key_lines(text) == {
        ("version",): 1,
        ("description",): 2,
        ("target",): 5,
        ("target", "app"): 6,
        ("target", "paths"): 7,
        ("header", 0): 11,
        ("header",): 11,
        ("header", 0, "name"): 12,
    }
