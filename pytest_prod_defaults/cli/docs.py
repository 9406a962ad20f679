"""``prod-defaults docs``: a manifest, a base or a bundled profile as
Markdown for people, or a check (for CI) that a Markdown file is up to date."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import (
    DEFAULT_MANIFEST,
    EXIT_CODES,
    EXIT_OK,
    EXIT_OUT_OF_DATE,
    FORMATTER,
    load,
    load_kinds,
    write_text,
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], plugins: argparse.ArgumentParser) -> None:
    docs = commands.add_parser(
        "docs",
        parents=[plugins],
        help="render the manifest as Markdown for people",
        description="Render the manifest as Markdown: per kind, each default with its documented value, why,"
        " owner, rollback, link and line in the manifest, and where an inherited default comes from; the bases"
        " it extends with the title, source and date of what they follow. A base or a profile (no [target])"
        " renders too: `prod-defaults docs profile:owasp-api`.",
        epilog=EXIT_CODES,
        formatter_class=FORMATTER,
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


def run_docs(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from ..docs import bundled_profile_path, render_markdown
    from ..extends import PROFILE_PREFIX, bundled_profiles

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
