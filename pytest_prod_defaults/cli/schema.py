"""``prod-defaults schema``: the manifest's JSON Schema, generated from the
check kinds' models, for editors."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from .common import EXIT_CODES, EXIT_OK, FORMATTER, load_kinds, write_text

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], plugins: argparse.ArgumentParser) -> None:
    schema = commands.add_parser(
        "schema",
        parents=[plugins],
        help="print the JSON Schema of the manifest, for editors",
        description="Print the JSON Schema of defaults.toml, generated from the check kinds' models. Point your"
        " editor's TOML support at it (taplo / Even Better TOML: a `#:schema ./defaults.schema.json` first line).",
        epilog=EXIT_CODES,
        formatter_class=FORMATTER,
    )
    schema.add_argument("-o", "--output", metavar="OUT", help="write the schema to OUT (default stdout)")
    schema.set_defaults(handler=run_schema, parser=schema)


def manifest_schema(kinds: Sequence[Any]) -> dict[str, Any]:
    from ..manifest import manifest_model

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
