"""Read ``defaults.toml`` into a validated :class:`Manifest`, or explain in
:class:`ManifestError` (file, line, key path, what is wrong) why not."""

from __future__ import annotations

import difflib
import os
import re
import sys
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from .checks import CheckKind
from .model import Entry, Service, Target
from .toml_positions import KeyPath, key_lines, line_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUPPORTED_VERSIONS = (1,)
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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


@dataclass
class Manifest:
    path: Path
    version: int
    service: Service
    target: Target
    kinds: dict[str, CheckKind]
    sections: dict[str, list[Entry]] = field(default_factory=dict)
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, *path: str | int) -> int | None:
        """The line of a key path in the manifest, e.g. ``("settings", "debug")``."""
        return line_of(self.lines, path)

    def owner_of(self, entry: Entry) -> str | None:
        """The entry's owner, falling back to ``[service].owner``."""
        return entry.owner or self.service.owner

    def entries(self, key: str) -> list[Entry]:
        return self.sections.get(key, [])

    def section(self, key: str) -> Entry | None:
        found = self.sections.get(key)
        return found[0] if found else None

    @property
    def root(self) -> Path:
        return self.path.parent


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


def manifest_model(kinds: Iterable[CheckKind]) -> type[BaseModel]:
    """The pydantic model of a whole manifest with these kinds' sections."""
    fields: dict[str, Any] = {
        "version": (int, 1),
        "service": (Service, Service()),
        "target": (Target, ...),
    }
    for kind in kinds:
        if kind.many:
            fields[kind.key] = (list[kind.model], [])  # type: ignore[name-defined]
        else:
            fields[kind.key] = (kind.model | None, None)  # type: ignore[operator]
    return create_model(  # type: ignore[call-overload,no-any-return]
        "Manifest", __config__=ConfigDict(extra="forbid"), **fields
    )


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


def _problem_message(error: Mapping[str, Any], model: Any, loc: KeyPath) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else (
            f"; known keys: {', '.join(known)}" if known else ""
        )
        what = "table" if len(loc) == 1 else "key"
        return f"unknown {what} {str(loc[-1])!r}{hint}"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if kind in ("literal_error", "enum") and "input" in error:
        return f"{message} (got {error['input']!r})"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        got = error.get("input")
        if got is not None and not isinstance(got, (dict, list)):
            return f"{message} (got {got!r})"
    return message


def _read_document(path: Path) -> tuple[str, dict[str, Any]]:
    name = str(path)
    if not path.exists():
        raise ManifestError([Problem(name, None, "", "no such file")])
    if not path.is_file():
        raise ManifestError([Problem(name, None, "", "not a file")])
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError([Problem(name, None, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except OSError as exc:
        raise ManifestError([Problem(name, None, "", f"cannot be read: {exc.strerror}")]) from None
    if not text.strip():
        raise ManifestError([Problem(name, None, "", "the manifest is empty; it needs at least a [target] table")])
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        line = int(found.group(1)) if found else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        if hasattr(exc, "msg"):
            message = exc.msg
        raise ManifestError([Problem(name, line, "", f"TOML syntax error: {message}")]) from None


def _expand_environment(
    data: dict[str, Any], lines: dict[KeyPath, int], name: str, environ: Mapping[str, str]
) -> list[Problem]:
    """Replace ``${VAR}`` in ``[target].headers`` and ``base_url``."""
    problems: list[Problem] = []
    target = data.get("target")
    if not isinstance(target, dict):
        return problems

    def expand(value: str, path: KeyPath) -> str:
        def one(match: re.Match[str]) -> str:
            variable = match.group(1)
            if variable not in environ:
                problems.append(Problem(name, line_of(lines, path), format_key(path),
                                        f"environment variable {variable} is not set"))
                return ""
            return environ[variable]
        return _ENV_REFERENCE.sub(one, value)

    headers = target.get("headers")
    if isinstance(headers, dict):
        for header, value in headers.items():
            if isinstance(value, str):
                headers[header] = expand(value, ("target", "headers", header))
    if isinstance(target.get("base_url"), str):
        target["base_url"] = expand(target["base_url"], ("target", "base_url"))
    return problems


def load_manifest(
    path: str | os.PathLike[str],
    kinds: Iterable[CheckKind],
    *,
    target_overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Manifest:
    """Load and validate the manifest at ``path`` against ``kinds``.

    ``target_overrides`` replace ``[target]`` keys (``--defaults-mode``,
    ``--defaults-url``) before validation. Raises :class:`ManifestError`.
    """
    path = Path(path)
    kinds = list(kinds)
    name = str(path)
    text, data = _read_document(path)
    lines = key_lines(text)
    problems = _expand_environment(data, lines, name, os.environ if environ is None else environ)
    version = data.get("version", 1)
    if version not in SUPPORTED_VERSIONS:
        problems.append(Problem(name, line_of(lines, ("version",)), "version",
                                f"unsupported manifest version {version!r}; this plugin reads version "
                                + ", ".join(map(str, SUPPORTED_VERSIONS))))
    if "target" not in data:
        problems.append(Problem(name, None, "target",
                                "missing [target] table: say which app to check, e.g. app = \"shop.main:app\""))
    elif target_overrides and isinstance(data["target"], dict):
        data["target"].update({k: v for k, v in target_overrides.items() if v is not None})
    if problems:
        raise ManifestError(problems)

    model = manifest_model(kinds)
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc: KeyPath = tuple(error["loc"])
            # pydantic appends the validator's name for union members; keep keys only
            loc = tuple(p for p in loc if isinstance(p, int) or not str(p).startswith(("function-", "union[")))
            problems.append(Problem(name, line_of(lines, loc), format_key(loc),
                                    _problem_message(error, model, loc)))
        raise ManifestError(problems) from None

    sections: dict[str, list[Entry]] = {}
    for kind in kinds:
        value = getattr(validated, kind.key)
        if not kind.many and value is None and getattr(kind, "default_entry", False):
            value = kind.model()  # the table's defaults apply when it is left out
        entries = list(value) if kind.many else ([value] if value is not None else [])
        for index, entry in enumerate(entries):
            entry._source = name
            entry._line = line_of(lines, (kind.key, index) if kind.many else (kind.key,))
        sections[kind.key] = entries
    return Manifest(
        path=path,
        version=validated.version,  # type: ignore[attr-defined]
        service=validated.service,  # type: ignore[attr-defined]
        target=validated.target,  # type: ignore[attr-defined]
        kinds={kind.key: kind for kind in kinds},
        sections=sections,
        lines=lines,
    )

