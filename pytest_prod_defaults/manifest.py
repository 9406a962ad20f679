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

from .checks import CheckKind, completed
from .extends import ExtendsError, Locator, resolve
from .model import Entry, Profile, Service, Target, is_header_name
from .redaction import Redactor
from .toml_positions import KeyPath, key_lines

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUPPORTED_VERSIONS = (1,)
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
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


@dataclass
class Manifest:
    path: Path
    version: int
    service: Service
    target: Target
    kinds: dict[str, CheckKind]
    sections: dict[str, list[Entry]] = field(default_factory=dict)
    locator: Locator | None = None
    profile: Profile | None = None
    redact: Redactor = field(default_factory=Redactor, repr=False)
    """Hides the target's credentials and the values read from the
    environment in any text shown (:mod:`.redaction`)."""

    def line_of(self, *path: str | int) -> int | None:
        """The line of a key path in the manifest, e.g. ``("settings", "debug")``
        (in whichever file of an ``extends`` chain writes it)."""
        return self.locator.locate(path)[1] if self.locator else None

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


def manifest_model(kinds: Iterable[CheckKind], require_target: bool = True) -> type[BaseModel]:
    """The pydantic model of a whole manifest with these kinds' sections."""
    fields: dict[str, Any] = {
        "version": (int, 1),
        "extends": (list[str], []),
        "profile": (Profile | None, None),
        "service": (Service, Service()),
        "target": (Target, ...) if require_target else (Target | None, None),
    }
    for kind in kinds:
        if kind.many:
            fields[kind.key] = (list[kind.model], [])  # type: ignore[name-defined]
        else:
            fields[kind.key] = (kind.model | None, None)
    return create_model("Manifest", __config__=ConfigDict(extra="forbid"), **fields)


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


def _problem_message(error: Mapping[str, Any], model: Any, loc: KeyPath) -> str:
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
    # Editors on Windows may start a UTF-8 file with a byte order mark, which TOML does not allow.
    text = text.removeprefix("\ufeff")
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
    except RecursionError:
        nested = "TOML syntax error: arrays or tables nested too deeply"
        raise ManifestError([Problem(name, _deepest_line(text), "", nested)]) from None
    except ValueError:
        # tomllib lets Python's limit on the digits of an integer through as a bare ValueError.
        found = re.search(r"[0-9_]{4000,}", text)
        line = text.count("\n", 0, found.start()) + 1 if found else None
        raise ManifestError([Problem(name, line, "", "TOML syntax error: a number with too many digits")]) from None


NESTING_SHOWN = 100
"""Depth of brackets past which a line is named as where nesting goes too deep."""


def _deepest_line(text: str) -> int | None:
    """The first line where arrays or inline tables nest past
    :data:`NESTING_SHOWN` (brackets inside strings are rare enough in such a
    file to be counted too)."""
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        for character in line:
            if character in "[{":
                depth += 1
                if depth > NESTING_SHOWN:
                    return number
            elif character in "]}":
                depth -= 1
    return None


def _expand_environment(
    data: dict[str, Any], locator: Locator, environ: Mapping[str, str], used: dict[str, str] | None = None
) -> list[Problem]:
    """Replace ``${VAR}`` in ``[target].headers`` and ``base_url``, and check
    that each header can be sent. ``used`` collects each value read from the
    environment, so problem messages can show ``${VAR}`` in its place."""
    problems: list[Problem] = []
    used = {} if used is None else used
    target = data.get("target")
    if not isinstance(target, dict):
        return problems

    def problem(path: KeyPath, message: str) -> None:
        file, line = locator.locate(path)
        problems.append(Problem(file, line, format_key(path), message))

    unset: set[KeyPath] = set()

    def expand(value: str, path: KeyPath) -> str:
        def one(match: re.Match[str]) -> str:
            variable = match.group(1)
            if variable not in environ:
                problem(path, f"environment variable {variable} is not set")
                unset.add(path)
                return ""
            used[environ[variable]] = match.group(0)
            return environ[variable]

        return _ENV_REFERENCE.sub(one, value)

    headers = target.get("headers")
    if isinstance(headers, dict):
        for header, value in headers.items():
            if not isinstance(value, str):
                continue
            path: KeyPath = ("target", "headers", header)
            headers[header] = expand(value, path)
            if not is_header_name(header):
                problem(path, f"{shown(header)} is not a header name")
            if path in unset:
                continue  # the value is incomplete: what is missing is the problem, not its spaces
            if fault := _header_value_fault(headers[header]):
                variables = ", ".join(dict.fromkeys(m.group(0) for m in _ENV_REFERENCE.finditer(value)))
                source = f" (after reading {variables})" if variables else ""
                # Never the value itself: it is usually a credential.
                problem(path, f"the value{source} {fault}; a header value is one line of printable ASCII")
    if isinstance(target.get("base_url"), str):
        target["base_url"] = expand(target["base_url"], ("target", "base_url"))
    return problems


def _header_value_fault(value: str) -> str | None:
    """What makes ``value`` unsendable as a header value, without quoting it."""
    if value != value.lstrip(" \t"):
        return "has a space or tab at its start"
    if value != value.rstrip(" \t"):
        return "has a space or tab at its end"
    for position, character in enumerate(value, start=1):
        if character in "\r\n":
            what = "a line break"
        elif character == "\t":
            continue
        elif ord(character) < 0x20 or ord(character) == 0x7F:
            what = "a control character"
        elif ord(character) > 0x7E:
            what = "a non-ASCII character"
        else:
            continue
        where = "at its end" if position == len(value) else f"at character {position} of {len(value)}"
        return f"has {what} {where}"
    return None


def load_manifest(
    path: str | os.PathLike[str],
    kinds: Iterable[CheckKind],
    *,
    target_overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    require_target: bool = True,
) -> Manifest:
    """Load and validate the manifest at ``path`` against ``kinds``.

    ``target_overrides`` replace ``[target]`` keys (``--defaults-mode``,
    ``--defaults-url``) before validation. ``require_target=False`` reads a
    base or a profile, which has no ``[target]``, for documentation only: its
    ``target`` is then an unvalidated placeholder, not something to check.
    Raises :class:`ManifestError`.
    """
    path = Path(path)
    kinds = [completed(kind) for kind in kinds]
    name = str(path)
    text, data = _read_document(path)
    try:
        data, locator = resolve(path, data, key_lines(text), _read_document, kinds={kind.key: kind for kind in kinds})
    except ExtendsError as exc:
        raise ManifestError([Problem(exc.file, exc.line, "extends", exc.message)]) from None
    except (OSError, ValueError) as exc:  # a base path the filesystem refuses, e.g. with a NUL in it
        line = key_lines(text).get(("extends",))
        raise ManifestError([Problem(name, line, "extends", f"cannot read a base manifest: {exc}")]) from None
    used: dict[str, str] = {}
    problems = _expand_environment(data, locator, os.environ if environ is None else environ, used)
    version = data.get("version", 1)
    # `version = true` and `version = 1.0` equal 1 in Python, but say nothing a reader can trust.
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        file, line = locator.locate(("version",))
        problems.append(
            Problem(
                file,
                line,
                "version",
                f"unsupported manifest version {shown(version)}; this plugin reads version "
                + ", ".join(map(str, SUPPORTED_VERSIONS)),
            )
        )
    if "target" not in data and require_target:
        problems.append(
            Problem(name, None, "target", 'missing [target] table: say which app to check, e.g. app = "shop.main:app"')
        )
    elif target_overrides and isinstance(data.get("target"), dict):
        data["target"].update({k: v for k, v in target_overrides.items() if v is not None})
    if problems:
        raise ManifestError(problems)

    # Only the sections present: a model of every kind builds the schema of
    # every entry model, most of which a manifest never uses.
    model = manifest_model([kind for kind in kinds if kind.key in data], require_target)
    try:
        validated = model.model_validate(data)
    except ValidationError as exc:
        model = manifest_model(kinds, require_target)  # every key, for "did you mean"
        for error in exc.errors(include_url=False):
            loc: KeyPath = tuple(error["loc"])
            # pydantic appends the validator's name for union members; keep keys only
            loc = tuple(p for p in loc if isinstance(p, int) or not str(p).startswith(("function-", "union[")))
            file, line = locator.locate(loc)
            message = Redactor(used)(_problem_message(error, model, loc))
            problems.append(Problem(file, line, described_key(data, loc), message))
        raise ManifestError(problems) from None

    target: Target | None = validated.target  # type: ignore[attr-defined]
    if target is not None and target.uvicorn:
        from .uvicorn_config import checked_options

        target.uvicorn, wrong = checked_options(target.uvicorn, path.parent, needed=target.mode == "server")
        for option in wrong:
            key: KeyPath = ("target", "uvicorn", option.key) if option.key else ("target", "uvicorn")
            file, line = locator.locate(key)
            problems.append(Problem(file, line, format_key(key), option.message))
        if problems:
            raise ManifestError(problems)
    sections: dict[str, list[Entry]] = {}
    for kind in kinds:
        value = getattr(validated, kind.key, None)
        if not kind.many and value is None and kind.default_entry:
            value = kind.model()  # the table's defaults apply when it is left out
        entries = list(value or ()) if kind.many else ([value] if value is not None else [])
        for index, entry in enumerate(entries):
            entry_path: KeyPath = (kind.key, index) if kind.many else (kind.key,)
            entry._source, entry._line = locator.locate(entry_path)
            entry._inherited = locator.inherited.get(entry_path)
        sections[kind.key] = entries
    return Manifest(
        path=path,
        version=validated.version,  # type: ignore[attr-defined]
        service=validated.service,  # type: ignore[attr-defined]
        target=target or Target.model_construct(),
        kinds={kind.key: kind for kind in kinds},
        sections=sections,
        locator=locator,
        profile=validated.profile,  # type: ignore[attr-defined]
        redact=Redactor.for_target(target.headers, used) if target is not None else Redactor(used),
    )
