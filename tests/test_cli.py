"""The ``prod-defaults`` command: ``docs`` renders a manifest for people,
``schema`` prints its JSON Schema, and bad arguments or unusable manifests
end with the same clear errors and exit codes as in pytest.

``docs`` and ``schema`` import no app, so they run in-process through
``main(argv)``; ``--help`` and ``--version`` run as a user runs them."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

import pytest
from conftest import Project

from pytest_prod_defaults.cli import Progress, main
from pytest_prod_defaults.registry import ordered_kinds, standalone_plugin_manager

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLES = Path(__file__).parent.parent / "examples"


@dataclass
class CliResult:
    ret: int
    out: str
    err: str


class Cli(Protocol):
    def __call__(self, *args: str) -> CliResult: ...


@pytest.fixture
def cli(project: Project, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``prod-defaults ARGS`` in-process, in the project's folder."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            ret = main(list(args))
        except SystemExit as exc:
            ret = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(ret, captured.out, captured.err)

    return run


def prod_defaults(project: Project, *args: str) -> pytest.RunResult:
    return project.pytester.run(sys.executable, "-m", "pytest_prod_defaults", *args, timeout=60)


# -- the command itself -------------------------------------------------------------------


def test_help_lists_the_commands_and_the_exit_codes(project: Project) -> None:
    result = prod_defaults(project, "--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "usage: prod-defaults [[]-h[]] [[]--version[]] COMMAND ...",
            "*init*probe the live app and write what it does as a manifest",
            "*docs*render the manifest as Markdown for people",
            "*profiles*list the bundled profiles a manifest can extend",
            "*schema*print the JSON Schema of the manifest, for editors",
            "exit codes:",
            "  0  done",
            "  1  docs --check: the Markdown file is out of date with the manifest",
            "  2  bad arguments",
            "  3  init: the app could not be imported, started or probed",
            "  4  the manifest cannot be used (file, line, key and what is wrong), as in pytest",
        ],
        consecutive=False,
    )
    init_help = prod_defaults(project, "init", "--help")
    assert init_help.ret == 0
    init_help.stdout.fnmatch_lines(
        ["*--app MOD:ATTR*", "*--upload PATH*", "*--extends REF*", "exit codes:"], consecutive=False
    )


def test_version_and_console_script(project: Project) -> None:
    from pytest_prod_defaults import __version__

    result = prod_defaults(project, "--version")
    assert result.ret == 0
    assert result.outlines == [f"prod-defaults {__version__}"]
    (script,) = entry_points(group="console_scripts", name="prod-defaults")
    assert script.value == "pytest_prod_defaults.cli:main"


def test_the_command_never_imports_pytest(project: Project) -> None:
    project.app(
        """
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        """
    )
    script = (
        "import sys\n"
        "from pytest_prod_defaults.cli import main\n"
        "main(['schema', '-o', 'schema.json'])\n"
        "main(['init', '--app', 'app:app', '--path', '/', '-o', '-'])\n"
        "print('pytest imported:', sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest')))\n"
    )
    result = project.pytester.run(sys.executable, "-c", script, timeout=60)
    assert result.ret == 0, result.stderr.str()
    assert result.outlines[-1] == "pytest imported: []"


def test_a_command_is_required(cli: Cli) -> None:
    result = cli()
    assert result.ret == 2
    assert "prod-defaults: error: the following arguments are required: COMMAND" in result.err


def test_progress_is_shown_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    progress = Progress(terminal)
    progress("GET /healthz")
    progress("POST /api/avatar: 1 MiB")
    progress.clear()
    assert terminal.getvalue() == "\r\x1b[2KGET /healthz\r\x1b[2KPOST /api/avatar: 1 MiB\r\x1b[2K"

    log = io.StringIO()
    quiet = Progress(log)
    quiet("GET /healthz")
    quiet.clear()
    assert log.getvalue() == ""


# -- docs -------------------------------------------------------------------------------------

DOCUMENTED = """\
    version = 1

    [service]
    name = "orders"
    owner = "platform-team"

    [target]
    app = "app:app"

    [[header]]
    name = "Strict-Transport-Security"
    equals = "max-age=63072000"
    why = "browsers must only ever speak HTTPS to us"
    owner = "security-team"
    rollback = "send max-age=0 for one max-age period"
    docs = "https://developer.mozilla.org/docs/Web/HTTP/Headers/Strict-Transport-Security"

    [[header]]
    name = "Server"
    absent = true
    skip = "uvicorn | nginx still send it"
    until = 2030-01-01

    [[upload]]
    name = "avatar"
    path = "/api/avatar"
    max_bytes = "1 MiB"
    why = "avatars over 1 MiB never reach the image pipeline"

    [settings]
    debug = false
    docs_url = { value = false, why = "no public API explorer", owner = "api-team" }
    why = "no tracebacks in production"

    [undocumented]
    headers = "fail"
"""

DOCUMENTED_MARKDOWN = """\
<!-- Generated by `prod-defaults docs` from defaults.toml: edit that file, not this one. -->

# Production defaults of orders

Every default below is documented in [defaults.toml](defaults.toml) and checked against the live service by \
`pytest --check-defaults`.

- **Owner:** platform-team

## Response headers

### Strict-Transport-Security

```toml
equals = "max-age=63072000"
```

- **Why:** browsers must only ever speak HTTPS to us
- **Owner:** security-team
- **Rollback:** send max-age=0 for one max-age period
- **Docs:** <https://developer.mozilla.org/docs/Web/HTTP/Headers/Strict-Transport-Security>
- **Manifest:** [defaults.toml:10](defaults.toml#L10)

### Server

```toml
absent = true
```

- **Why:** _not written yet_
- **Owner:** platform-team (the service's owner)
- **Rollback:** _not written yet_
- **Waived:** uvicorn | nginx still send it (until 2030-01-01)
- **Manifest:** [defaults.toml:18](defaults.toml#L18)

## Upload limits

### avatar

```toml
path = "/api/avatar"
max_bytes = 1048576  # 1 MiB
```

- **Why:** avatars over 1 MiB never reach the image pipeline
- **Owner:** platform-team (the service's owner)
- **Rollback:** _not written yet_
- **Manifest:** [defaults.toml:24](defaults.toml#L24)

## Application settings

| attribute | documented | why | owner | rollback | manifest |
|---|---|---|---|---|---|
| `debug` | `false` | no tracebacks in production | platform-team | _not written yet_ | \
[defaults.toml:31](defaults.toml#L31) |
| `docs_url` | `false` | no public API explorer | api-team | _not written yet_ | \
[defaults.toml:32](defaults.toml#L32) |

- **Why:** no tracebacks in production
- **Owner:** platform-team (the service's owner)
- **Rollback:** _not written yet_
- **Manifest:** [defaults.toml:30](defaults.toml#L30)

## What the manifest does not mention

```toml
headers = "fail"
settings = "warn"
middleware = "warn"
config = "warn"
```

- **Manifest:** [defaults.toml:35](defaults.toml#L35)
"""


def test_docs_renders_each_default_with_its_value_why_owner_rollback_and_link(project: Project, cli: Cli) -> None:
    project.manifest(DOCUMENTED)
    result = cli("docs")
    assert (result.ret, result.err) == (0, "")
    assert result.out == DOCUMENTED_MARKDOWN


def test_docs_of_the_examples_covers_every_kind(cli: Cli, project: Project) -> None:
    result = cli("docs", str(EXAMPLES / "defaults.toml"))
    assert result.ret == 0
    headings = [line for line in result.out.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Response headers",
        "## Cookies",
        "## Health checks",
        "## Upload limits",
        "## Cache rules",
        "## Application settings",
        "## Middleware",
        "## Configuration",
        "## What the manifest does not mention",
    ]
    assert "### catalog is cached unless personalised" in result.out
    assert 'bypass = { cookies = ["session"], headers = ["Authorization"], query = ["preview"] }' in result.out


def test_docs_output_links_relative_to_where_it_is_written_and_check_keeps_it_in_step(
    project: Project, cli: Cli
) -> None:
    project.manifest(DOCUMENTED)
    (project.path / "docs").mkdir()
    missing = cli("docs", "defaults.toml", "-o", "docs/DEFAULTS.md", "--check")
    assert missing.ret == 1
    assert missing.err == (
        "prod-defaults: docs/DEFAULTS.md does not exist with defaults.toml;"
        " run: prod-defaults docs defaults.toml -o docs/DEFAULTS.md\n"
    )

    written = cli("docs", "defaults.toml", "-o", "docs/DEFAULTS.md")
    assert (written.ret, written.out, written.err) == (0, "", "")
    text = (project.path / "docs" / "DEFAULTS.md").read_text(encoding="utf-8")
    assert "- **Manifest:** [../defaults.toml:10](../defaults.toml#L10)" in text
    assert cli("docs", "defaults.toml", "-o", "docs/DEFAULTS.md", "--check").ret == 0

    project.manifest(DOCUMENTED.replace("no tracebacks in production", "tracebacks leak internals"))
    stale = cli("docs", "defaults.toml", "-o", "docs/DEFAULTS.md", "--check")
    assert stale.ret == 1
    assert stale.err.startswith("prod-defaults: docs/DEFAULTS.md is out of date with defaults.toml; run:")
    assert (project.path / "docs" / "DEFAULTS.md").read_text(encoding="utf-8") == text  # --check writes nothing


def test_docs_points_each_default_to_the_file_that_writes_it(project: Project, cli: Cli) -> None:
    (project.path / "platform").mkdir()
    (project.path / "platform" / "base.toml").write_text(
        '[target]\napp = "app:app"\n\n[[header]]\nname = "X-Frame-Options"\nequals = "DENY"\n'
        'why = "no framing, company-wide"\n',
        encoding="utf-8",
    )
    project.manifest(
        """\
        extends = ["platform/base.toml"]

        [target]
        app = "app:app"

        [[header]]
        name = "Referrer-Policy"
        equals = "no-referrer"
        """
    )
    result = cli("docs", "-o", "DEFAULTS.md")
    assert result.ret == 0
    text = (project.path / "DEFAULTS.md").read_text(encoding="utf-8")
    assert "- **Why:** no framing, company-wide\n" in text
    assert "- **Inherited from:** [platform/base.toml:4](platform/base.toml#L4)\n" in text
    assert "- **Manifest:** [platform/base.toml:4]" not in text  # said once, as where it is inherited from
    assert "- **Manifest:** [defaults.toml:6](defaults.toml#L6)\n" in text
    assert "| [platform/base.toml](platform/base.toml) | _no [profile] table_ |  |  |\n" in text


def test_docs_check_needs_an_output_file(project: Project, cli: Cli) -> None:
    project.manifest(DOCUMENTED)
    result = cli("docs", "--check")
    assert result.ret == 2
    assert "prod-defaults docs: error: --check compares with OUT: give -o OUT" in result.err


TYPO = """\
    [target]
    app = "app:app"

    [[header]]
    name = "X-Frame-Options"
    equal = "DENY"
"""


def test_unusable_manifest_exits_4_with_the_same_text_as_pytest(project: Project, cli: Cli) -> None:
    project.manifest(TYPO)
    problem = "defaults.toml:6: header[1].equal (X-Frame-Options): unknown key 'equal'; did you mean 'equals'?"
    for command in (("docs",), ("docs", "-o", "DEFAULTS.md", "--check")):
        result = cli(*command)
        assert result.ret == 4
        assert result.err == f"prod-defaults: unusable defaults manifest:\n{problem}\n"
    assert not (project.path / "DEFAULTS.md").exists()
    in_pytest = project.run()
    assert in_pytest.ret == 4
    in_pytest.stderr.fnmatch_lines(["*unusable defaults manifest:", problem])


def test_missing_manifest_exits_4(cli: Cli) -> None:
    result = cli("docs", "nowhere.toml")
    assert result.ret == 4
    assert result.err == "prod-defaults: unusable defaults manifest:\nnowhere.toml: no such file\n"


# -- schema ------------------------------------------------------------------------------------


def kind_keys() -> list[str]:
    return [kind.key for kind in ordered_kinds(standalone_plugin_manager().hook.pytest_prod_defaults_kinds())]


def test_schema_is_generated_from_the_models(cli: Cli, project: Project) -> None:
    result = cli("schema")
    assert (result.ret, result.err) == (0, "")
    schema = json.loads(result.out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "defaults.toml (pytest-prod-defaults manifest)"
    keys = kind_keys()
    assert {"version", "service", "target"} <= set(schema["properties"])
    assert list(schema["properties"])[-len(keys) :] == keys
    assert schema["required"] == ["target"]
    definitions = schema["$defs"]
    assert definitions["HeaderEntry"]["additionalProperties"] is False
    assert definitions["HealthCheckEntry"]["properties"]["json"]["title"] == "Json"  # the alias, as written
    assert "class" in definitions["MiddlewareEntry"]["properties"]
    # What the manifest accepts, not only what it becomes: "1 MiB", contains = "one string", debug = false
    max_bytes = definitions["UploadEntry"]["properties"]["max_bytes"]["anyOf"]
    assert {"type": "string", "pattern": max_bytes[1]["pattern"]} == max_bytes[1]
    assert {"type": "string"} in definitions["HeaderEntry"]["properties"]["contains"]["anyOf"]
    assert "type" not in definitions["SettingsTable"]["additionalProperties"]

    written = cli("schema", "-o", "defaults.schema.json")
    assert (written.ret, written.out) == (0, "")
    assert (project.path / "defaults.schema.json").read_text(encoding="utf-8") == result.out


def _json_ready(value: Any) -> Any:
    """TOML dates as the strings an editor's TOML-to-JSON view holds."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


def test_schema_accepts_the_examples_and_rejects_a_typo(cli: Cli, project: Project) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(cli("schema").out)
    validator = jsonschema.Draft202012Validator(schema)
    examples = _json_ready(tomllib.loads((EXAMPLES / "defaults.toml").read_text(encoding="utf-8")))
    assert list(validator.iter_errors(examples)) == []
    project.manifest(DOCUMENTED)
    documented = _json_ready(tomllib.loads((project.path / "defaults.toml").read_text(encoding="utf-8")))
    assert list(validator.iter_errors(documented)) == []
    # SameSite is read in any case, as Set-Cookie spells it.
    cookie: dict[str, Any] = {
        "target": {"app": "app:app"},
        "cookie": [{"name": "sid", "path": "/", "same_site": "Strict"}],
    }
    assert list(validator.iter_errors(cookie)) == []
    cookie["cookie"][0]["same_site"] = "strictly"
    assert [error.path[-1] for error in validator.iter_errors(cookie)] == ["same_site"]
    typo = tomllib.loads(TYPO.replace("    ", ""))
    (error,) = validator.iter_errors(typo)
    assert list(error.path) == ["header", 0]
    assert "'equal' was unexpected" in error.message


# -- kinds from a plugin module ------------------------------------------------------------------

REDIRECT_KIND = """\
from pytest_prod_defaults import BaseKind, Check, Entry


class RedirectEntry(Entry):
    path: str
    location: str

    def default_name(self) -> str:
        return self.path


class RedirectKind(BaseKind):
    key = "redirect"
    model = RedirectEntry

    def checks(self, entry, manifest):
        yield Check("redirect", entry.display_name(), None, entry, lambda target: None)
"""

CONFTEST = """\
def pytest_prod_defaults_kinds():
    from redirect_kind import RedirectKind

    return [RedirectKind()]
"""

WITH_REDIRECT = """\
    [target]
    app = "app:app"

    [[redirect]]
    path = "/old-shop"
    location = "/shop"
    why = "links printed on 2019 flyers"
"""


def test_kinds_of_a_plugin_module_as_a_conftest_gives_them(project: Project, cli: Cli) -> None:
    (project.path / "redirect_kind.py").write_text(REDIRECT_KIND, encoding="utf-8")
    (project.path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    project.manifest(WITH_REDIRECT)

    without = cli("docs")
    assert without.ret == 4
    assert "defaults.toml:4: redirect: unknown table 'redirect'" in without.err

    # In a subprocess: in this one, ``conftest`` is the test suite's.
    result = prod_defaults(project, "docs", "-p", "conftest")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "## [[][[]redirect[]][]]",
            "",
            "### /old-shop",
            "",
            "```toml",
            'path = "/old-shop"',
            'location = "/shop"',
            "```",
            "",
            "- **Why:** links printed on 2019 flyers",
        ]
    )
    schema = json.loads(prod_defaults(project, "schema", "--plugin", "conftest").stdout.str())
    assert list(schema["properties"])[-1] == "redirect"


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (
            "no_such_module",
            "prod-defaults schema: error: --plugin no_such_module: cannot import it: ModuleNotFoundError",
        ),
        ("hookless", "prod-defaults schema: error: --plugin hookless: it has no pytest_prod_defaults_kinds() hook"),
    ],
)
def test_a_plugin_that_gives_no_kinds_is_a_bad_argument(project: Project, cli: Cli, module: str, message: str) -> None:
    (project.path / "hookless.py").write_text("VALUE = 1\n", encoding="utf-8")
    result = cli("schema", "-p", module)
    assert result.ret == 2
    assert message in result.err
