"""``extends``: a manifest built on a platform baseline or a bundled profile.

Bases apply in order, then the extending manifest. An entry with the same
identity as an inherited one (what its kind says names an entry: a header's
name, a health check's path; a settings key) replaces it; an
entry that gives only its identity and people fields (why, owner, rollback,
docs, skip, until) amends it instead, which is how a service waives an
inherited default. Every merged entry remembers the file and key path it
came from, so failures and reports point where the effective entry is
written; the line itself is found only when one of them asks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .model import ENTRY_PEOPLE_FIELDS
from .toml_positions import KeyLines, KeyPath

MAX_DEPTH = 32
"""Bases of bases a manifest may stack: far past any real platform, well
short of Python's recursion limit."""
PROFILE_PREFIX = "profile:"
PROFILES_DIR = Path(__file__).with_name("profiles")


class Mergeable(Protocol):
    """What merging asks of a kind: whether its table is a single one, the
    key that names its entries, and when two entries (TOML tables, as
    written) are the same entry."""

    @property
    def many(self) -> bool: ...

    @property
    def identity_key(self) -> str: ...

    def identity(self, entry: Mapping[str, Any]) -> str | None: ...


class ByName:
    """A table no kind claims is identified by ``name``, when it has one."""

    many = True
    identity_key = "name"

    def identity(self, entry: Mapping[str, Any]) -> str | None:
        value = entry.get(self.identity_key)
        return value if isinstance(value, str) else None


BY_NAME = ByName()
Kinds = Mapping[str, Mergeable]
"""The kinds by manifest key: each says what identifies its entries."""


def bundled_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.toml"))


class ExtendsError(Exception):
    """A base cannot be used: ``(file, line, message)``."""

    def __init__(self, file: str, line: int | None, message: str):
        super().__init__(message)
        self.file, self.line, self.message = file, line, message


@dataclass(frozen=True)
class Origin:
    """Where a merged table or entry is written: its file, that file's key
    lines, and its key path inside that file."""

    file: str
    lines: KeyLines
    path: KeyPath

    def line(self, rest: KeyPath = ()) -> int | None:
        return self.lines.line_of((*self.path, *rest))

    def location(self) -> str:
        line = self.line()
        return f"{self.file}:{line}" if line else self.file


@dataclass
class Locator:
    """File and line of any key path of the merged manifest."""

    file: str
    lines: KeyLines
    origins: dict[KeyPath, Origin] = field(default_factory=dict)
    inherited: dict[KeyPath, Origin] = field(default_factory=dict)
    """Merged entry path → where the base it was inherited from writes it."""

    def locate(self, path: KeyPath) -> tuple[str, int | None]:
        """The file that writes ``path`` and its line there (which scans
        that file, once, if nothing asked for one of its lines before)."""
        for end in range(len(path), 0, -1):
            origin = self.origins.get(tuple(path[:end]))
            if origin is not None:
                return origin.file, origin.line(tuple(path[end:]))
        return self.file, self.lines.line_of(path)

    def file_of(self, path: KeyPath) -> str:
        """The file that writes ``path``, without looking for its line."""
        for end in range(len(path), 0, -1):
            origin = self.origins.get(tuple(path[:end]))
            if origin is not None:
                return origin.file
        return self.file

    def inherited_from(self, path: KeyPath) -> str | None:
        """``file:line`` of the base an entry was inherited from, or ``None``."""
        origin = self.inherited.get(path)
        return origin.location() if origin is not None else None


ReadDocument = Callable[[Path], tuple[str, dict[str, Any]]]
_NO_LINES = KeyLines()
"""The lines of a document with no text: none."""


def _is_array_of_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _own_origins(file: str, lines: KeyLines, data: dict[str, Any]) -> dict[KeyPath, Origin]:
    origins: dict[KeyPath, Origin] = {}
    for key, value in data.items():
        origins[(key,)] = Origin(file, lines, (key,))
        if _is_array_of_tables(value):
            for index in range(len(value)):
                origins[(key, index)] = Origin(file, lines, (key, index))
        elif isinstance(value, dict):
            for sub in value:
                origins[(key, sub)] = Origin(file, lines, (key, sub))
    return origins


def _merge(
    acc: dict[str, Any],
    located: Locator,
    layer: dict[str, Any],
    origins: dict[KeyPath, Origin],
    main: str,
    kinds: Kinds,
) -> None:
    """Lay ``layer`` (with its ``origins``) over ``acc`` in place."""
    for key, value in layer.items():
        if key == "extends":
            continue
        if _is_array_of_tables(value):
            kind = kinds.get(key, BY_NAME)
            merged: list[dict[str, Any]] = acc.setdefault(key, [])
            if not isinstance(merged, list):
                merged = acc[key] = []
            # Only entries of earlier layers are inherited, each taken once: two
            # entries of one layer with the same identity (two @app.middleware
            # functions, one header with a value per path) are both kept.
            inherited_indexes = list(range(len(merged)))
            for index, entry in enumerate(value):
                origin = origins.get((key, index)) or Origin(main, _NO_LINES, (key, index))
                name = kind.identity(entry)
                found = next(
                    (i for i in inherited_indexes if name is not None and kind.identity(merged[i]) == name), None
                )
                if found is not None:
                    inherited_indexes.remove(found)
                if found is None:
                    merged.append(dict(entry))
                    located.origins[(key, len(merged) - 1)] = origin
                    continue
                previous = located.origins.get((key, found))
                if set(entry) <= set(ENTRY_PEOPLE_FIELDS) | {kind.identity_key}:
                    merged[found] = {**merged[found], **entry}  # amends: a waiver, a new owner
                    if previous is not None:
                        located.inherited.setdefault((key, found), previous)
                else:
                    merged[found] = dict(entry)  # replaces the inherited entry
                    located.inherited.pop((key, found), None)
                located.origins[(key, found)] = origin
        elif isinstance(value, dict):
            table = acc.setdefault(key, {})
            if not isinstance(table, dict):
                table = acc[key] = {}
            if (key,) not in located.origins or ((key,) in origins and origins[(key,)].file == main):
                located.origins[(key,)] = origins.get((key,)) or Origin(main, _NO_LINES, (key,))
            for sub, sub_value in value.items():
                table[sub] = sub_value
                if (key, sub) in origins:
                    located.origins[(key, sub)] = origins[(key, sub)]
        else:
            acc[key] = value
            if (key,) in origins:
                located.origins[(key,)] = origins[(key,)]


def base_path(reference: str, extending: Path, line: int | None) -> Path:
    """The file a reference in ``extends`` names: a path relative to the
    extending manifest, or a bundled ``profile:NAME``."""
    if reference.startswith(PROFILE_PREFIX):
        name = reference[len(PROFILE_PREFIX) :]
        path = PROFILES_DIR / f"{name}.toml"
        if not path.is_file():
            known = ", ".join(PROFILE_PREFIX + p for p in bundled_profiles())
            raise ExtendsError(str(extending), line, f"unknown profile {reference!r}; bundled profiles: {known}")
        return path
    return Path(os.path.normpath(extending.parent / reference))


def display_name(path: Path) -> str:
    """How a manifest is named in messages: ``profile:NAME`` for a bundled one."""
    if path.parent == PROFILES_DIR:
        return PROFILE_PREFIX + path.stem
    return str(path)


def resolve(
    path: Path,
    data: dict[str, Any],
    lines: KeyLines,
    read_document: ReadDocument,
    chain: tuple[tuple[Path, str], ...] = (),
    *,
    kinds: Kinds | None = None,
) -> tuple[dict[str, Any], Locator]:
    """Merge ``data``'s bases under it; return the merged document and where
    each of its parts is written. ``chain`` is the extending manifests so far
    (resolved path, shown name), to refuse cycles; ``kinds`` say what
    identifies their entries (a table of no kind: its ``name``). ``path``
    need not exist: it names the document and its folder is where relative
    bases are."""
    kinds = kinds or {}
    file = display_name(path)
    located = Locator(file, lines)
    references = data.get("extends", [])
    if isinstance(references, str):
        references = [references]

    def refused(message: str) -> ExtendsError:
        return ExtendsError(file, lines.line_of(("extends",)), message)

    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise refused("extends is a list of manifest paths or 'profile:NAME' strings")
    chain = (*chain, (path.resolve(), file))
    merged: dict[str, Any] = {}
    for reference in references:
        try:
            base = base_path(reference, path, None)
        except ExtendsError as exc:
            raise ExtendsError(exc.file, lines.line_of(("extends",)), exc.message) from None
        names = " → ".join([*(shown for _, shown in chain), display_name(base)])
        if base.resolve() in {resolved for resolved, _ in chain}:
            raise refused(f"extends cycle: {names}")
        if len(chain) >= MAX_DEPTH:
            shown = " → ".join([chain[0][1], "...", *(shown for _, shown in chain[-2:]), display_name(base)])
            raise refused(f"extends goes more than {MAX_DEPTH} bases deep: {shown}")
        if not base.exists():
            raise refused(f"{reference!r} ({names}): no such file")
        if not base.is_file():
            raise refused(f"{reference!r} ({names}): not a regular file")
        base_text, base_data = read_document(base)
        base_merged, base_located = resolve(base, base_data, KeyLines(base_text), read_document, chain, kinds=kinds)
        base_merged.pop("profile", None)  # a base's [profile] describes the base, not what extends it
        _owned_by_base(base_merged, kinds)
        base_origins = dict(base_located.origins)
        offset_inherited = _merge_located(merged, located, base_merged, base_origins, file, kinds)
        for entry_path, where in base_located.inherited.items():
            mapped = offset_inherited.get(entry_path)
            if mapped is not None:
                located.inherited.setdefault(mapped, where)
    if not references:
        return data, Locator(file, lines, _own_origins(file, lines, data))
    _merge(merged, located, data, _own_origins(file, lines, data), file, kinds)
    return merged, located


def _owned_by_base(base: dict[str, Any], kinds: Kinds) -> None:
    """An inherited entry without an owner belongs to the base's
    ``[service].owner`` (the platform team), not to the extending service."""
    owner = base.get("service", {}).get("owner") if isinstance(base.get("service"), dict) else None
    if not isinstance(owner, str):
        return
    for value in base.values():
        if _is_array_of_tables(value):
            for entry in value:
                entry.setdefault("owner", owner)
    for key in (key for key, kind in kinds.items() if not kind.many):
        table = base.get(key)
        if isinstance(table, dict):
            table.setdefault("owner", owner)


def _merge_located(
    acc: dict[str, Any],
    located: Locator,
    base: dict[str, Any],
    origins: dict[KeyPath, Origin],
    main: str,
    kinds: Kinds,
) -> dict[KeyPath, KeyPath]:
    """Merge a resolved base; its entries are inherited. Returns how the
    base's entry paths map into ``acc``."""
    before = {key: len(value) for key, value in acc.items() if isinstance(value, list)}
    _merge(acc, located, base, origins, main, kinds)
    mapping: dict[KeyPath, KeyPath] = {}
    for key, value in base.items():
        if _is_array_of_tables(value):
            kind = kinds.get(key, BY_NAME)
            taken: set[int] = set()
            for index, entry in enumerate(value):
                name = kind.identity(entry)
                merged_list = acc[key]
                found = next(
                    (
                        i
                        for i, old in enumerate(merged_list)
                        if i not in taken and name is not None and kind.identity(old) == name
                    ),
                    before.get(key, 0) + index,
                )
                taken.add(found)
                mapping[(key, index)] = (key, found)
                origin = located.origins.get((key, found))
                if origin is not None:
                    located.inherited[(key, found)] = origin
    return mapping
