"""What is wrong with a manifest, said for the person who wrote it: the
file, the line, the key path (with the name of the entry it is in) and the
problem, with the closest known key for a misspelt one."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from .toml_positions import KeyPath

SHOWN_CHARS = 60
"""Longest value a problem quotes; a longer one is cut."""


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ManifestError(Exception):
    """The manifest cannot be used. ``str()`` gives one line per problem."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


def format_key(path: KeyPath) -> str:
    """``("header", 1, "equals")`` → ``header[2].equals`` (entries count from 1,
    as a person counts the ``[[header]]`` tables in the file)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += f".{part}" if out else str(part)
    return out


NAMING_KEYS = ("name", "path", "class", "object")
"""What names an entry for a reader, in order: its ``name``, else what each
kind's default name is made of."""


def described_key(data: Mapping[str, Any], path: KeyPath) -> str:
    """``header[3].equals (X-Content-Type-Options)``: the key path, and the
    name of the entry it is in, which is what a reader looks for in the
    file (entries count from 1, ``header[3]`` is the third)."""
    key = format_key(path)
    if len(path) < 2 or not isinstance(path[1], int):
        return key
    entries = data.get(str(path[0]))
    if not isinstance(entries, list) or not 0 <= path[1] < len(entries) or not isinstance(entries[path[1]], dict):
        return key
    entry = entries[path[1]]
    naming = next((k for k in NAMING_KEYS if isinstance(entry.get(k), str) and entry[k].strip()), None)
    if naming is None or path[2:3] == (naming,):  # the name is what is wrong: already quoted
        return key
    return f"{key} ({shown(entry[naming])[1:-1]})"


def _known_keys(model: Any, path: KeyPath) -> list[str]:
    """The keys allowed at ``path`` inside ``model`` (for "did you mean")."""
    annotation: Any = model
    for part in path:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            args = typing.get_args(annotation)
            annotation = args[0] if args else Any
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(part)
            if info is None:
                return []
            annotation = info.annotation
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [info.alias or name for name, info in annotation.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → ``X``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return annotation


def shown(value: object) -> str:
    """``repr(value)``, cut to :data:`SHOWN_CHARS`; never fails (Python
    refuses to print integers of thousands of digits)."""
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too large to show"
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def problem_message(error: Mapping[str, Any], model: Any, loc: KeyPath) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else (f"; known keys: {', '.join(known)}" if known else "")
        what = "table" if len(loc) == 1 else "key"
        return f"unknown {what} {str(loc[-1])!r}{hint}"
    if kind == "missing":
        return "required key is missing"
    got = error.get("input")
    if len(loc) == 1 and kind == "list_type" and isinstance(got, dict):
        return f"write [[{loc[0]}]], once per entry, not [{loc[0]}]"
    tables = isinstance(got, list) and bool(got) and all(isinstance(item, dict) for item in got)
    if len(loc) == 1 and kind in ("model_type", "dict_type") and tables:
        return f"write [{loc[0]}], once, not [[{loc[0]}]]"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if kind in ("literal_error", "enum") and "input" in error:
        return f"{message} (got {shown(error['input'])})"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        got = error.get("input")
        if got is not None and not isinstance(got, (dict, list)):
            return f"{message} (got {shown(got)})"
    return message
