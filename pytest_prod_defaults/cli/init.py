"""``prod-defaults init``: probe the live app in-process and write what it
does as a manifest (with ``--extends``, only what differs from the bases),
then say on stderr what was written and what is left to fill in."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .common import (
    DEFAULT_MANIFEST,
    EXIT_CODES,
    EXIT_OK,
    EXIT_TARGET_UNAVAILABLE,
    EXIT_UNUSABLE_MANIFEST,
    FORMATTER,
    Progress,
    fail,
    load_kinds,
    write_text,
)

# -- argument types ------------------------------------------------------------------


def _app_reference(value: str) -> str:
    from ..model import APP_REFERENCE

    if not APP_REFERENCE.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not 'module:attribute' or 'module:factory()'")
    return value


def _object_reference(value: str) -> str:
    from ..model import APP_REFERENCE

    if not APP_REFERENCE.match(value) or value.endswith("()"):
        raise argparse.ArgumentTypeError(f"{value!r} is not 'module:attribute'")
    return value


def _url_path(value: str) -> str:
    if not value.startswith("/"):
        raise argparse.ArgumentTypeError(f"a path starts with '/' (got {value!r})")
    return value


def _size(value: str) -> int:
    from ..sizes import parse_size

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


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], plugins: argparse.ArgumentParser) -> None:
    init = commands.add_parser(
        "init",
        parents=[plugins],
        help="probe the live app and write what it does as a manifest",
        description="Probe the live app in-process and write a manifest of what it does: headers per path,"
        " cookies, Cache-Control as cache rules, health endpoints, settings, middleware, config values and"
        " upload limits. The file passes `pytest --check-defaults` against the same app unchanged; fill in"
        " why, owner and rollback (the TODOs). Progress goes to stderr when it is a terminal.",
        epilog=EXIT_CODES,
        formatter_class=FORMATTER,
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


# -- the command -----------------------------------------------------------------------


def load_bases(parser: argparse.ArgumentParser, references: Sequence[str], kinds: Sequence[Any], folder: Path) -> Any:
    """The manifest of ``references`` alone, resolved by the loader as the
    written manifest's ``extends`` will be: from a file in its folder."""
    from ..docs import toml_line
    from ..extends import PROFILE_PREFIX, bundled_profiles
    from ..manifest import ManifestError, load_manifest

    for reference in references:
        if reference.startswith(PROFILE_PREFIX):
            if reference[len(PROFILE_PREFIX) :] not in bundled_profiles():
                known = ", ".join(PROFILE_PREFIX + name for name in bundled_profiles())
                parser.error(f"--extends {reference}: no such profile; bundled profiles: {known}")
        elif not (folder / reference).is_file():
            parser.error(f"--extends {reference}: no such file {folder / reference} (relative to the output's folder)")
    # Named as a file in the output's folder, never written: its bases resolve
    # from there. Relative, so inherited entries are named as pytest run from
    # here names them.
    shown = os.path.relpath(folder / "--extends")
    text = toml_line("extends", list(references)) + "\n"
    try:
        return load_manifest(shown, kinds, text=text, require_target=False)
    except ManifestError as exc:
        fail(f"unusable base manifest:\n{str(exc).replace(shown, '--extends')}", EXIT_UNUSABLE_MANIFEST)


def run_init(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..capture import DEFAULT_UPLOAD_CAP, CaptureError, CaptureRequest, capture, init_summary
    from ..manifest_writer import write_manifest
    from ..outcomes import TargetUnavailable

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
    from ..manifest import ManifestError, load_manifest

    try:
        load_manifest(output if output is not None else Path("-"), kinds, text=text)
    except ManifestError as exc:  # a bug in the writer, not the user's doing
        raise RuntimeError(f"the captured manifest does not load:\n{exc}\n\n{text}") from None


# -- what was written, on stderr -------------------------------------------------------
