"""The ``prod-defaults`` command (also ``python -m pytest_prod_defaults``):
capture a live app into a manifest (all of it, or what differs from the bases
it extends), render a manifest, a base or a bundled profile as Markdown, list
the bundled profiles, print the manifest's JSON Schema. It reuses the
pytest-free core and never imports pytest."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from . import __version__

EXIT_OK = 0
EXIT_OUT_OF_DATE = 1
EXIT_BAD_ARGUMENTS = 2
EXIT_TARGET_UNAVAILABLE = 3
EXIT_UNUSABLE_MANIFEST = 4

EXIT_CODES = f"""\
exit codes:
  {EXIT_OK}  done
  {EXIT_OUT_OF_DATE}  docs --check: the Markdown file is out of date with the manifest
  {EXIT_BAD_ARGUMENTS}  bad arguments
  {EXIT_TARGET_UNAVAILABLE}  init: the app could not be imported, started or probed
  {EXIT_UNUSABLE_MANIFEST}  the manifest cannot be used (file, line, key and what is wrong), as in pytest
"""
DEFAULT_MANIFEST = "defaults.toml"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class Progress:
    """One self-overwriting status line on stderr, only when stderr is a
    terminal: a log file gets none of it."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.shown = False

    def __call__(self, message: str) -> None:
        if not self.live:
            return
        width = shutil.get_terminal_size().columns - 1
        self.stream.write("\r\x1b[2K" + message[:width])
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.shown = False


# -- argument types ------------------------------------------------------------------


def _app_reference(value: str) -> str:
    from .model import APP_REFERENCE

    if not APP_REFERENCE.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not 'module:attribute' or 'module:factory()'")
    return value


def _object_reference(value: str) -> str:
    from .model import APP_REFERENCE

    if not APP_REFERENCE.match(value) or value.endswith("()"):
        raise argparse.ArgumentTypeError(f"{value!r} is not 'module:attribute'")
    return value


def _url_path(value: str) -> str:
    if not value.startswith("/"):
        raise argparse.ArgumentTypeError(f"a path starts with '/' (got {value!r})")
    return value


def _size(value: str) -> int:
    from .sizes import parse_size

    try:
        size = parse_size(int(value) if value.isdigit() else value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if size < 2:
        raise argparse.ArgumentTypeError(f"{value!r} is too small to search for a limit")
    return size


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"a timeout is more than 0 seconds (got {value})")
    return seconds


# -- the parser ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="prod-defaults",
        description="Production defaults of a FastAPI (or any ASGI) service, documented in defaults.toml.",
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    plugins = argparse.ArgumentParser(add_help=False)
    plugins.add_argument(
        "-p",
        "--plugin",
        dest="plugins",
        metavar="MODULE",
        action="append",
        default=[],
        help="import MODULE and take the check kinds its pytest_prod_defaults_kinds hook returns"
        " (as a conftest.py gives them to pytest); repeatable",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    init = commands.add_parser(
        "init",
        parents=[plugins],
        help="probe the live app and write what it does as a manifest",
        description="Probe the live app in-process and write a manifest of what it does: headers per path,"
        " cookies, Cache-Control as cache rules, health endpoints, settings, middleware, config values and"
        " upload limits. The file passes `pytest --check-defaults` against the same app unchanged; fill in"
        " why, owner and rollback (the TODOs). Progress goes to stderr when it is a terminal.",
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    init.add_argument(
        "--app",
        required=True,
        type=_app_reference,
        metavar="MOD:ATTR",
        help="the application, 'module:attribute' or 'module:factory()', imported from the current directory",
    )
    init.add_argument("--host", metavar="H", help="Host header sent with every request (TrustedHostMiddleware)")
    init.add_argument(
        "--path",
        dest="paths",
        action="append",
        type=_url_path,
        metavar="P",
        help="a path to probe with GET (repeatable; default /); health endpoints are found on their own",
    )
    init.add_argument(
        "--config",
        type=_object_reference,
        metavar="MOD:OBJ",
        help="the settings object (pydantic-settings BaseSettings): its values are documented,"
        " its SecretStr fields by name only",
    )
    init.add_argument(
        "--upload",
        dest="uploads",
        action="append",
        type=_url_path,
        default=[],
        metavar="PATH",
        help="an upload path: the largest POST body it accepts is searched for (repeatable)",
    )
    init.add_argument(
        "--upload-cap",
        type=_size,
        default=None,
        metavar="SIZE",
        help="largest body tried when searching for an upload limit (default 1 GiB)",
    )
    init.add_argument(
        "--timeout", type=_positive_seconds, default=5.0, metavar="SECONDS", help="seconds per request (default 5)"
    )
    init.add_argument(
        "-o",
        "--output",
        default=DEFAULT_MANIFEST,
        metavar="FILE",
        help="where to write the manifest ('-' for stdout; default defaults.toml)",
    )
    init.add_argument(
        "--extends",
        action="append",
        default=[],
        metavar="REF",
        help="a base the manifest extends: a path relative to FILE's folder, or profile:NAME (repeatable, applied"
        " in order). Inherited entries are run against the app: those that hold are not written again, a captured"
        " entry replaces one that does not, and one that nothing replaces is waived with a TODO",
    )
    init.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    init.set_defaults(handler=run_init, parser=init)

    docs = commands.add_parser(
        "docs",
        parents=[plugins],
        help="render the manifest as Markdown for people",
        description="Render the manifest as Markdown: per kind, each default with its documented value, why,"
        " owner, rollback, link and line in the manifest, and where an inherited default comes from; the bases"
        " it extends with the title, source and date of what they follow. A base or a profile (no [target])"
        " renders too: `prod-defaults docs profile:owasp-api`.",
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    docs.add_argument(
        "manifest",
        nargs="?",
        default=DEFAULT_MANIFEST,
        metavar="FILE",
        help="the manifest, a base, or profile:NAME (default defaults.toml)",
    )
    docs.add_argument("-o", "--output", metavar="OUT", help="write the Markdown to OUT (default stdout)")
    docs.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when OUT differs from what would be written (for CI)",
    )
    docs.set_defaults(handler=run_docs, parser=docs)

    profiles = commands.add_parser(
        "profiles",
        help="list the bundled profiles a manifest can extend",
        description="List the bundled profiles, each with its title, the source it follows and that source's"
        ' date. Extend one with `extends = ["profile:NAME"]`; read it with `prod-defaults docs profile:NAME`.',
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    profiles.set_defaults(handler=run_profiles, parser=profiles)

    schema = commands.add_parser(
        "schema",
        parents=[plugins],
        help="print the JSON Schema of the manifest, for editors",
        description="Print the JSON Schema of defaults.toml, generated from the check kinds' models. Point your"
        " editor's TOML support at it (taplo / Even Better TOML: a `#:schema ./defaults.schema.json` first line).",
        epilog=EXIT_CODES,
        formatter_class=formatter,
    )
    schema.add_argument("-o", "--output", metavar="OUT", help="write the schema to OUT (default stdout)")
    schema.set_defaults(handler=run_schema, parser=schema)
    return parser


# -- shared -------------------------------------------------------------------------------


def fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"prod-defaults: {message}\n")
    raise SystemExit(code)


def load_kinds(parser: argparse.ArgumentParser, plugins: Sequence[str]) -> list[Any]:
    from .registry import KindError, ordered_kinds, standalone_plugin_manager

    contributions = list(standalone_plugin_manager().hook.pytest_prod_defaults_kinds())
    if plugins and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    for name in plugins:
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            parser.error(f"--plugin {name}: cannot import it: {type(exc).__name__}: {exc}")
        hook = getattr(module, "pytest_prod_defaults_kinds", None)
        if not callable(hook):
            parser.error(f"--plugin {name}: it has no pytest_prod_defaults_kinds() hook")
        # Called directly: a conftest.py's hook needs no marker under pytest, so it has none here either.
        contributions.append(hook())
    try:
        return ordered_kinds(contributions)
    except KindError as exc:
        fail(str(exc), EXIT_UNUSABLE_MANIFEST)


def load(path: str | Path, kinds: Sequence[Any], require_target: bool = True) -> Any:
    from .manifest import ManifestError, load_manifest

    try:
        return load_manifest(path, kinds, require_target=require_target)
    except ManifestError as exc:
        fail(f"unusable defaults manifest:\n{exc}", EXIT_UNUSABLE_MANIFEST)


def load_bases(parser: argparse.ArgumentParser, references: Sequence[str], kinds: Sequence[Any], folder: Path) -> Any:
    """The manifest of ``references`` alone, resolved by the loader as the
    written manifest's ``extends`` will be: from a file in its folder."""
    from .docs import toml_line
    from .extends import PROFILE_PREFIX, bundled_profiles
    from .manifest import ManifestError, load_manifest

    for reference in references:
        if reference.startswith(PROFILE_PREFIX):
            if reference[len(PROFILE_PREFIX) :] not in bundled_profiles():
                known = ", ".join(PROFILE_PREFIX + name for name in bundled_profiles())
                parser.error(f"--extends {reference}: no such profile; bundled profiles: {known}")
        elif not (folder / reference).is_file():
            parser.error(f"--extends {reference}: no such file {folder / reference} (relative to the output's folder)")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".prod-defaults-init.", suffix=".toml")
    # Relative, so inherited entries are named as pytest run from here names them.
    shown = os.path.relpath(temporary)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(toml_line("extends", list(references)) + "\n")
        return load_manifest(shown, kinds, require_target=False)
    except ManifestError as exc:
        fail(f"unusable base manifest:\n{str(exc).replace(shown, '--extends')}", EXIT_UNUSABLE_MANIFEST)
    finally:
        Path(temporary).unlink(missing_ok=True)


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# -- commands -----------------------------------------------------------------------------


def run_init(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .capture import DEFAULT_UPLOAD_CAP, CaptureError, CaptureRequest, capture, init_summary
    from .manifest_writer import write_manifest
    from .outcomes import TargetUnavailable

    output = None if args.output == "-" else Path(args.output)
    if output is not None:
        if output.exists() and not args.force:
            parser.error(f"{output} exists; pass --force to overwrite it")
        if not output.parent.is_dir():
            parser.error(f"-o {output}: no such directory {output.parent}")
    kinds = load_kinds(parser, args.plugins)
    root = Path.cwd()
    app_dir = None
    if output is not None and output.parent.resolve() != root.resolve():
        app_dir = Path(os.path.relpath(root.resolve(), output.parent.resolve())).as_posix()
    references = tuple(dict.fromkeys(args.extends))
    bases = load_bases(parser, references, kinds, output.parent if output else root) if references else None
    # The bases' [target].env and headers apply to the written manifest too: capture the app as it will be checked.
    base_target = bases.target if bases is not None else None
    given = base_target.model_fields_set if base_target is not None else set()
    request = CaptureRequest(
        app=args.app,
        root=root,
        host=args.host,
        paths=tuple(dict.fromkeys(args.paths or ["/"])),
        config=args.config,
        uploads=tuple(dict.fromkeys(args.uploads)),
        upload_cap=args.upload_cap or DEFAULT_UPLOAD_CAP,
        app_dir=app_dir,
        timeout=args.timeout,
        extends=references,
        env=dict(base_target.env) if base_target is not None and "env" in given else {},
        headers=dict(base_target.headers) if base_target is not None and "headers" in given else {},
    )
    progress = Progress(sys.stderr)
    try:
        captured = capture(request, progress, bases, kinds)
    except (TargetUnavailable, CaptureError) as exc:
        progress.clear()
        fail(f"cannot capture the app: {exc}", EXIT_TARGET_UNAVAILABLE)
    finally:
        progress.clear()
    text = write_manifest(captured)
    verify_manifest(text, kinds, output)
    if output is None:
        sys.stdout.write(text)
    else:
        write_text(str(output), text)
    sys.stderr.write(init_summary(captured, output))
    return EXIT_OK


def verify_manifest(text: str, kinds: Sequence[Any], output: Path | None) -> None:
    """The written manifest must load as it will be loaded for checking:
    from its own folder, with the same kinds."""
    from .manifest import ManifestError, load_manifest

    folder = output.parent if output is not None else Path.cwd()
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".prod-defaults-init.", suffix=".toml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        load_manifest(temporary, kinds)
    except ManifestError as exc:  # a bug in the writer, not the user's doing
        raise RuntimeError(f"the captured manifest does not load:\n{exc}\n\n{text}") from None
    finally:
        Path(temporary).unlink(missing_ok=True)


def run_docs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .docs import bundled_profile_path, render_markdown
    from .extends import PROFILE_PREFIX, bundled_profiles

    if args.check and not args.output:
        parser.error("--check compares with OUT: give -o OUT")
    kinds = load_kinds(parser, args.plugins)
    path = bundled_profile_path(args.manifest) or Path(args.manifest)
    if args.manifest.startswith(PROFILE_PREFIX) and not path.is_file():
        known = ", ".join(PROFILE_PREFIX + name for name in bundled_profiles())
        parser.error(f"{args.manifest}: no such profile; bundled profiles: {known}")
    # Documentation needs no app: a base or a profile, which has no [target], renders too.
    manifest = load(path, kinds, require_target=False)
    output = Path(args.output) if args.output else None
    text = render_markdown(manifest, output.parent if output is not None else Path.cwd())
    if args.check:
        assert output is not None
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != text:
            state = "does not exist" if current is None else "is out of date"
            sys.stderr.write(
                f"prod-defaults: {output} {state} with {args.manifest}; run: prod-defaults docs {args.manifest}"
                f" -o {output}\n"
            )
            return EXIT_OUT_OF_DATE
        return EXIT_OK
    if output is None:
        sys.stdout.write(text)
    else:
        write_text(str(output), text)
    return EXIT_OK


def run_profiles(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .docs import own_profile
    from .extends import PROFILE_PREFIX, PROFILES_DIR, bundled_profiles

    kinds = load_kinds(parser, [])
    blocks = []
    for name in bundled_profiles():
        path = PROFILES_DIR / f"{name}.toml"
        manifest = load(path, kinds, require_target=False)
        profile = own_profile(path)
        lines = [f"{PROFILE_PREFIX}{name}"]
        if profile is not None and profile.title:
            lines.append(f"  {profile.title}")
        if profile is not None and (profile.source or profile.date):
            dated = f" (as of {profile.date.isoformat()})" if profile.date else ""
            lines.append(f"  source: {profile.source or 'not given'}{dated}")
        counts = [
            f"{len(manifest.entries(key))} [[{key}]]" if kind.many else f"[{key}]"
            for key, kind in manifest.kinds.items()
            if manifest.entries(key) and manifest.line_of(key) is not None
        ]
        lines.append(f"  defaults: {', '.join(counts) or 'none'}")
        blocks.append("\n".join(lines))
    sys.stdout.write("\n\n".join(blocks) + "\n")
    sys.stdout.write(
        '\nExtend one with `extends = ["profile:NAME"]` (or `prod-defaults init --extends profile:NAME`);'
        " read one with `prod-defaults docs profile:NAME`.\n"
    )
    return EXIT_OK


def manifest_schema(kinds: Sequence[Any]) -> dict[str, Any]:
    from .manifest import manifest_model

    schema: dict[str, Any] = manifest_model(kinds).model_json_schema(by_alias=True)
    schema["title"] = "defaults.toml (pytest-prod-defaults manifest)"
    schema["description"] = "Production defaults of a service, documented and checked by `pytest --check-defaults`."
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def run_schema(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    kinds = load_kinds(parser, args.plugins)
    text = json.dumps(manifest_schema(kinds), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args, args.parser))
