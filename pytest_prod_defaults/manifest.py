"""Read ``defaults.toml`` (a file, or its text) into a validated
:class:`Manifest`, or explain in :class:`ManifestError` (file, line, key path,
what is wrong) why not.

Lines are looked up only for a problem or when a report asks an entry for
its own: a manifest that loads cleanly is never scanned for them here."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from .extends import ExtendsError, Locator, Mergeable, resolve
from .manifest_problems import ManifestError, Problem, described_key, format_key, problem_message, shown
from .model import Entry, Profile, Service, Target, is_header_name
from .redaction import Redactor
from .toml_positions import KeyLines, KeyPath

__all__ = ["Manifest", "ManifestError", "Problem", "load_manifest", "manifest_model"]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUPPORTED_VERSIONS = (1,)
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class LoadableKind(Mergeable, Protocol):
    """What loading asks of a kind: its table, its entry model, whether the
    table applies when left out. The whole interface,
    :class:`~pytest_prod_defaults.checks.CheckKind`, is written in terms of a
    :class:`Manifest`, so it is not imported here (no import cycle)."""

    @property
    def key(self) -> str: ...

    @property
    def model(self) -> type[Entry]: ...

    @property
    def default_entry(self) -> bool: ...


@dataclass
class Manifest:
    path: Path
    version: int
    service: Service
    target: Target
    kinds: dict[str, Any]
    """The kinds this manifest was loaded with, by key: each a
    :class:`~pytest_prod_defaults.checks.CheckKind` (the registry completes
    them), typed loosely here because that protocol is written in terms of
    this class."""
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


def manifest_model(kinds: Iterable[LoadableKind], require_target: bool = True) -> type[BaseModel]:
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


def _read_document(path: Path) -> tuple[str, dict[str, Any]]:
    """The text of the manifest file at ``path`` and what it parses to."""
    return _parse_document(str(path), _read_text(path))


def _read_text(path: Path) -> str:
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
    return text


def _parse_document(name: str, text: str) -> tuple[str, dict[str, Any]]:
    """The text as read (without a byte order mark) and what it parses to;
    problems name the file ``name``."""
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
    kinds: Iterable[LoadableKind],
    *,
    text: str | None = None,
    target_overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    require_target: bool = True,
) -> Manifest:
    """Load and validate the manifest at ``path`` against ``kinds``.

    With ``text``, that is the manifest, as if written at ``path``: the file
    is not read (it need not exist), problems name ``path``, and the bases of
    its ``extends`` are found relative to ``path``'s folder.
    ``target_overrides`` replace ``[target]`` keys (``--defaults-mode``,
    ``--defaults-url``) before validation. ``require_target=False`` reads a
    base or a profile, which has no ``[target]``, for documentation only: its
    ``target`` is then an unvalidated placeholder, not something to check.
    Raises :class:`ManifestError`.
    """
    path = Path(path)
    kinds = list(kinds)
    name = str(path)
    text, data = _parse_document(name, _read_text(path) if text is None else text)
    lines = KeyLines(text)
    try:
        data, locator = resolve(path, data, lines, _read_document, kinds={kind.key: kind for kind in kinds})
    except ExtendsError as exc:
        raise ManifestError([Problem(exc.file, exc.line, "extends", exc.message)]) from None
    except (OSError, ValueError) as exc:  # a base path the filesystem refuses, e.g. with a NUL in it
        line = lines.get(("extends",))
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
            message = Redactor(used)(problem_message(error, model, loc))
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
            entry.written_at(locator, entry_path)  # its file, line and base: looked up when asked
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
