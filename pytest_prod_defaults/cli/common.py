"""What every ``prod-defaults`` command shares: exit codes, the ``--plugin``
option, loading kinds and manifests, failing with a message, writing output
whole, and the progress line."""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

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
FORMATTER = argparse.RawDescriptionHelpFormatter


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


def plugins_parser() -> argparse.ArgumentParser:
    """The ``-p/--plugin`` option, a parent of the commands that read kinds."""
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
    return plugins


def fail(message: str, code: int) -> NoReturn:
    sys.stderr.write(f"prod-defaults: {message}\n")
    raise SystemExit(code)


def load_kinds(parser: argparse.ArgumentParser, plugins: Sequence[str]) -> list[Any]:
    from ..registry import KindError, ordered_kinds, standalone_plugin_manager

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
    from ..manifest import ManifestError, load_manifest

    try:
        return load_manifest(path, kinds, require_target=require_target)
    except ManifestError as exc:
        fail(f"unusable defaults manifest:\n{exc}", EXIT_UNUSABLE_MANIFEST)


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: beside it first, then
    renamed over it, so an interrupted run leaves the old file or none."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
