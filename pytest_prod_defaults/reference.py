"""The manifest reference's key tables, written from the pydantic models.

``docs/manifest.md`` is prose around tables. Each table sits between
``<!-- generated: NAME -->`` and ``<!-- end generated -->`` and is rewritten
from the models (key, type, default, and the field's ``description``), so a
key added to a model, a changed default or a reworded description reaches
the reference, and a test fails until it has::

    python -m pytest_prod_defaults.reference docs/manifest.md          # rewrite the tables
    python -m pytest_prod_defaults.reference docs/manifest.md --check  # exit 1 when out of date

Only the text between the markers is rewritten; the prose is left alone.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .checks import CheckKind
from .manifest import manifest_model
from .model import (
    AppReference,
    ByteSize,
    Documentation,
    Entry,
    HeaderName,
    HttpMethod,
    HttpStatus,
    Profile,
    Regex,
    Seconds,
    Service,
    Strict,
    Target,
    UrlPath,
)
from .registry import builtin_kind_modules, ordered_kinds

__all__ = ["StaleReference", "builtin_kinds", "key_table", "main", "render", "sections"]

REGENERATE = "python -m pytest_prod_defaults.reference docs/manifest.md"
"""The command that rewrites the reference, as failures quote it."""

MARKER = re.compile(r"<!-- generated: (?P<name>\S+) -->\n(?P<body>.*?)<!-- end generated -->", re.S)

# The manifest keys that are not a model of their own: what they mean is said here.
TOP_LEVEL_MEANINGS = {
    "version": "the manifest format's version; 1 is the only one",
    "extends": "bases applied before this manifest, in order: paths relative to this file, or `profile:NAME`",
}

NAMED_TYPES: tuple[tuple[Any, str], ...] = (
    (UrlPath, "path"),
    (HeaderName, "header name"),
    (HttpMethod, "HTTP method"),
    (HttpStatus, "HTTP status"),
    (ByteSize, "size"),
    (Regex, "regex"),
    (Seconds, "seconds"),
    (AppReference, "`module:attribute`"),
)
"""The shared value types of :mod:`.model`, named as a reader knows them
(recognised by their validators)."""

NOT_SET = "—"
"""The default of a key whose absence is its default (nothing compared, nothing sent)."""

PEOPLE_MODELS = (BaseModel, Strict, Documentation, Entry)
"""Models whose fields the people-fields table documents once for every entry."""


class StaleReference(Exception):
    """The reference's markers do not fit the models: a table is missing or unknown."""


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    meaning: str


def builtin_kinds() -> list[CheckKind]:
    """The built-in kinds, in their documented order; third-party kinds
    document themselves."""
    contributions = [module.pytest_prod_defaults_kinds() for module in builtin_kind_modules()]
    return ordered_kinds(contributions)


# -- types and defaults as a manifest writes them --------------------------------------------


def _flat(metadata: Iterable[Any]) -> list[Any]:
    """Metadata as pydantic keeps it on a field: ``Field(ge=100)`` as ``Ge(100)``."""
    return [part for item in metadata for part in (item.metadata if isinstance(item, FieldInfo) else [item])]


def _named(metadata: Sequence[Any]) -> str | None:
    for alias, name in NAMED_TYPES:
        if all(item in metadata for item in _flat(typing.get_args(alias)[1:])):
            return name
    return None


def _plural(name: str) -> str:
    return name[:-1] + "ies" if name.endswith("y") else name + ("es" if name.endswith("x") else "s")


def type_name(annotation: Any, metadata: Sequence[Any] = ()) -> str:
    """``list[UrlPath] | None`` → ``array of paths``: the type as a manifest's
    author reads it (``None`` is leaving the key out, so it is not shown)."""
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *more = typing.get_args(annotation)
        return type_name(inner, [*_flat(more), *metadata])
    named = _named(metadata)
    if named is not None:
        return named
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(arg, metadata) for arg in args if arg is not type(None))
    if origin is Literal:
        return ", ".join(f"`{json.dumps(arg)}`" for arg in args)
    if origin is list:
        return "array of " + _plural(type_name(args[0]))
    if origin is dict:
        value = args[1] if len(args) == 2 else Any
        return "table" if value is Any else "table of " + _plural(type_name(value))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", datetime.date: "date", Any: "any"}
    name = simple.get(annotation, getattr(annotation, "__name__", str(annotation)))
    return name + _bounds(metadata)


def _bounds(metadata: Sequence[Any]) -> str:
    low = next((f"≥ {m.ge}" for m in metadata if isinstance(m, annotated_types.Ge)), None)
    low = low or next((f"> {m.gt}" for m in metadata if isinstance(m, annotated_types.Gt)), None)
    high = next((f"≤ {m.le}" for m in metadata if isinstance(m, annotated_types.Le)), None)
    shown = [bound for bound in (low, high) if bound]
    return f" ({', '.join(shown)})" if shown else ""


def toml_value(value: Any) -> str:
    """A default as it would be written in the manifest."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_defaults=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }" if value else "{}"
    return repr(value)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    return NOT_SET if value is None or value is PydanticUndefined else f"`{toml_value(value)}`"


# -- tables ----------------------------------------------------------------------------------


def own_fields(model: type[BaseModel]) -> list[str]:
    """The keys ``model`` itself declares, leaving out the people fields an
    entry inherits unchanged (a kind that redeclares ``name`` keeps it)."""
    declared = {
        name
        for cls in model.__mro__
        if isinstance(cls, type) and issubclass(cls, BaseModel) and cls not in PEOPLE_MODELS
        for name in inspect.get_annotations(cls)
    }
    return [name for name in model.model_fields if name in declared or model in PEOPLE_MODELS]


def _meaning(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    if not info.description:
        raise StaleReference(
            f"{model.__name__}.{name} has no description: give it Field(description=...), which the"
            " reference and the JSON Schema both show"
        )
    return " ".join(info.description.split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(rows: Iterable[Row]) -> str:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{r.key}` | {_cell(r.type)} | {_cell(r.default)} | {_cell(r.meaning)} |" for r in rows]
    return "\n".join(lines) + "\n"


def key_table(model: type[BaseModel]) -> str:
    """The Markdown table of ``model``'s own keys: key, type, default, meaning."""
    rows = []
    for name in own_fields(model):
        info = model.model_fields[name]
        shown_type = type_name(info.annotation, info.metadata)
        rows.append(Row(info.alias or name, shown_type, _default(info), _meaning(model, name, info)))
    if model.model_config.get("extra") == "allow":
        extra = model.model_json_schema().get("additionalProperties", {})
        rows.append(Row("<any other key>", "any", NOT_SET, str(extra.get("description", ""))))
    return _table(rows)


def _summary(model: type[BaseModel]) -> str:
    """The first paragraph of the model's own docstring: what its table is."""
    doc = model.__dict__.get("__doc__")
    if not doc:
        raise StaleReference(f"{model.__name__} has no docstring: its first paragraph says what the table is")
    summary = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    return summary.replace("``", "`")  # reStructuredText literals, as Markdown writes them


def _nested_models(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Tables inside an entry (``bypass``), and the table form of an extra
    key (``[settings]``'s ``debug = { value = ... }``), by their key."""
    found: dict[str, type[BaseModel]] = {}

    def walk(annotation: Any, key: str) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.setdefault(key, annotation)
        for arg in typing.get_args(annotation):
            walk(arg, key)

    for name in own_fields(model):
        info = model.model_fields[name]
        walk(info.annotation, info.alias or name)
    if model.model_config.get("extra") == "allow":
        for cls in model.__mro__:
            # A string is an annotation pydantic could not use either (BaseModel's own).
            extra = inspect.get_annotations(cls).get("__pydantic_extra__")
            if extra is not None and not isinstance(extra, str):
                walk(extra, "*")
                break
    return found


def _overview(kinds: Sequence[CheckKind]) -> str:
    fields = manifest_model(kinds).model_fields
    rows = []
    for key, info in fields.items():
        annotation = info.annotation
        models = [a for a in (annotation, *typing.get_args(annotation)) if isinstance(a, type)]
        model = next((a for a in models if issubclass(a, BaseModel)), None)
        if key in TOP_LEVEL_MEANINGS:
            rows.append(Row(key, type_name(annotation), _default(info), TOP_LEVEL_MEANINGS[key]))
        elif typing.get_origin(annotation) is list:
            (entry,) = typing.get_args(annotation)
            rows.append(Row(f"[[{key}]]", "array of tables", NOT_SET, _summary(entry)))
        elif model is not None:
            rows.append(Row(f"[{key}]", "table", _default(info) if key == "target" else NOT_SET, _summary(model)))
    return _table(rows)


def sections(kinds: Sequence[CheckKind] | None = None) -> dict[str, str]:
    """Every generated table by its marker name: ``manifest`` (the top-level
    keys), ``people``, ``profile``, ``service``, ``target``, then each kind's
    key and its nested tables (``cache_rule.bypass``, ``settings.*``)."""
    kinds = builtin_kinds() if kinds is None else list(kinds)
    tables = {
        "manifest": _overview(kinds),
        "people": key_table(Entry),
        "profile": key_table(Profile),
        "service": key_table(Service),
        "target": key_table(Target),
    }
    for kind in kinds:
        tables[kind.key] = key_table(kind.model)
        for key, nested in _nested_models(kind.model).items():
            tables[f"{kind.key}.{key}"] = key_table(nested)
    return tables


def render(text: str, kinds: Sequence[CheckKind] | None = None) -> str:
    """``text`` with every generated table rewritten from the models. Raises
    :class:`StaleReference` when a table has no marker in ``text`` or a
    marker names no table."""
    tables = sections(kinds)
    named = [match["name"] for match in MARKER.finditer(text)]
    unknown = [name for name in named if name not in tables]
    missing = [name for name in tables if name not in named]
    if unknown or missing:
        problems = [f"no table is called {name!r}" for name in unknown]
        problems += [f"the {name!r} table has no '<!-- generated: {name} -->' marker" for name in missing]
        raise StaleReference("; ".join(problems))
    # Blank lines around a table: some Markdown renderers need them after an HTML comment.
    return MARKER.sub(lambda m: f"<!-- generated: {m['name']} -->\n\n{tables[m['name']]}\n<!-- end generated -->", text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_prod_defaults.reference",
        description="Rewrite the key tables of the manifest reference from the models; the prose is left alone.",
    )
    parser.add_argument("file", type=Path, help="the reference, docs/manifest.md")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when FILE is out of date")
    args = parser.parse_args(argv)
    text = args.file.read_text(encoding="utf-8")
    try:
        rendered = render(text)
    except StaleReference as exc:
        parser.exit(1, f"{args.file}: {exc}\n")
    if rendered == text:
        return 0
    if args.check:
        parser.exit(1, f"{args.file} is out of date with the models; run: {REGENERATE}\n")
    args.file.write_text(rendered, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
