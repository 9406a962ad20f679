"""An unusable manifest is a usage error (exit 4) naming file, line, key
path and what is wrong: never a traceback, never INTERNALERROR."""

from __future__ import annotations

import pytest
from conftest import Project, usage_error

CASES = {
    "toml-syntax": (
        '[target]\napp = "app:app"\n\n[[header]]\nname = "X-A"\nequals = "unterminated\n',
        ["defaults.toml:6: TOML syntax error: *"],
    ),
    "unknown-key": (
        '[target]\napp = "app:app"\n\n[[header]]\nname = "X-A"\nequls = "x"\n',
        ["defaults.toml:6: header[[]1[]].equls (X-A): unknown key 'equls'; did you mean 'equals'?"],
    ),
    "unknown-table": (
        '[target]\napp = "app:app"\n\n[[hedaer]]\nname = "X-A"\n',
        ["defaults.toml:4: hedaer: unknown table 'hedaer'; did you mean 'header'?"],
    ),
    "unknown-target-key": (
        '[target]\napp = "app:app"\nmdoe = "asgi"\n',
        ["defaults.toml:3: target.mdoe: unknown key 'mdoe'; did you mean 'mode'?"],
    ),
    "wrong-type": (
        '[target]\napp = "app:app"\ntimeout = "soon"\n',
        ["defaults.toml:3: target.timeout: Input should be a valid number* (got 'soon')"],
    ),
    "invalid-regex": (
        '[target]\napp = "app:app"\n\n[[header]]\nname = "X-A"\nmatches = "([a-z"\n',
        ["defaults.toml:6: header[[]1[]].matches (X-A): invalid regular expression '([[]a-z': *"],
    ),
    "two-matchers": (
        '[target]\napp = "app:app"\n\n[[header]]\nname = "X-A"\nequals = "a"\nabsent = true\n',
        [
            "defaults.toml:4: header[[]1[]] (X-A): a header entry needs exactly one of equals, contains, matches,"
            " absent = true (got equals and absent)"
        ],
    ),
    "no-matcher": (
        '[target]\napp = "app:app"\n\n[[header]]\nname = "X-A"\n',
        ["defaults.toml:4: header[[]1[]] (X-A): a header entry needs exactly one of * (got none)"],
    ),
    "unknown-mode": (
        '[target]\napp = "app:app"\nmode = "lambda"\n',
        ["defaults.toml:3: target.mode: Input should be 'asgi', 'server' or 'url' (got 'lambda')"],
    ),
    "missing-target": (
        'version = 1\n\n[[header]]\nname = "X-A"\nequals = "a"\n',
        ['defaults.toml: target: missing [[]target[]] table: say which app to check, e.g. app = "shop.main:app"'],
    ),
    "app-without-colon": (
        '[target]\napp = "shop.main"\n',
        ["defaults.toml:2: target.app: 'shop.main' is not 'module:attribute' or 'module:factory()'"],
    ),
    "unsupported-version": (
        'version = 2\n[target]\napp = "app:app"\n',
        ["defaults.toml:1: version: unsupported manifest version 2; this plugin reads version 1"],
    ),
    "missing-required-key": (
        '[target]\napp = "app:app"\n\n[[header]]\nequals = "a"\n',
        ["defaults.toml:4: header[[]1[]].name: required key is missing"],
    ),
    "path-without-slash": (
        '[target]\napp = "app:app"\npaths = ["api/items"]\n',
        ["defaults.toml:3: target.paths[[]1[]]: a path starts with '/' (got 'api/items')"],
    ),
    "waiver-date-not-a-date": (
        '[target]\napp = "app:app"\n\n[[header]]\nname = "X-A"\nabsent = true\nskip = "r"\nuntil = "next week"\n',
        ["defaults.toml:8: header[[]1[]].until (X-A): Input should be a valid date*"],
    ),
    "until-without-skip": (
        '[target]\napp = "app:app"\n\n[[header]]\nname = "X-A"\nabsent = true\nuntil = 2030-01-01\n',
        ["defaults.toml:4: header[[]1[]] (X-A): 'until' dates a waiver: give 'skip' a reason too"],
    ),
    "url-mode-without-base-url": (
        '[target]\nmode = "url"\n',
        ["defaults.toml:1: target: mode = 'url' needs 'base_url' (or --defaults-url)"],
    ),
    "empty-file": ("   \n", ["defaults.toml: the manifest is empty; it needs at least a [[]target[]] table"]),
}


@pytest.mark.parametrize("toml, expected", list(CASES.values()), ids=list(CASES))
def test_unusable_manifest_is_a_usage_error_naming_line_and_key(
    project: Project, toml: str, expected: list[str]
) -> None:
    usage_error(project, toml, expected)


def test_not_utf8(project: Project) -> None:
    (project.path / "defaults.toml").write_bytes(b'[target]\napp = "app:app"\n# caf\xe9\n')
    result = project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["defaults.toml: not UTF-8 text (invalid continuation byte at byte 30)"])


def test_not_a_file(project: Project) -> None:
    (project.path / "defaults.toml").mkdir()
    result = project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["defaults.toml: not a file"])


def test_every_problem_is_listed_at_once(project: Project) -> None:
    (project.path / "defaults.toml").write_text(
        '[target]\napp = "app:app"\nmdoe = "asgi"\n\n[[header]]\nname = "X-A"\nequls = "x"\n', encoding="utf-8"
    )
    result = project.run()
    result.stderr.fnmatch_lines(
        ["defaults.toml:3: target.mdoe: unknown key*", "defaults.toml:7: header[[]1[]].equls (X-A): unknown key*"]
    )


def test_a_problem_in_an_entry_names_the_entry_as_well_as_its_place(project: Project) -> None:
    # "header[3]" alone sends a reader counting tables; the name is what they search for.
    usage_error(
        project,
        '[target]\napp = "app:app"\n'
        '\n[[header]]\nname = "Strict-Transport-Security"\nequals = "max-age=63072000"\n'
        '\n[[header]]\nname = "X-Frame-Options"\nequals = "DENY"\n'
        '\n[[header]]\nname = "X-Content-Type-Options"\nequal = "nosniff"\n'
        '\n[[health_check]]\npath = "/api/health"\nstatus = 600\n',
        [
            "defaults.toml:14: header[[]3[]].equal (X-Content-Type-Options): unknown key 'equal';"
            " did you mean 'equals'?",
            "defaults.toml:18: health_check[[]1[]].status (/api/health): Input should be less than or equal to 599",
        ],
    )
