"""``prod-defaults``: the top-level parser, with one subcommand per module."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .. import __version__
from . import docs, init, profiles, schema
from .common import EXIT_CODES, FORMATTER, plugins_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prod-defaults",
        description="Production defaults of a FastAPI (or any ASGI) service, documented in defaults.toml.",
        epilog=EXIT_CODES,
        formatter_class=FORMATTER,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    plugins = plugins_parser()
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # In this order in --help.
    for command in (init, docs, profiles, schema):
        command.add_parser(commands, plugins)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args, args.parser))
