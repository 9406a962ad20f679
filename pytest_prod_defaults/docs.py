"""A manifest rendered for people: ``prod-defaults docs``.

Markdown, one section per kind, each default with its documented value as
written in the manifest, why it exists, who owns it, how to roll it back,
its link and its line in the manifest. Also the TOML value writer that
``prod-defaults init`` shares: values go through ``tomli_w``, never through
hand-rolled escaping. Nothing here knows pytest.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from .extends import PROFILE_PREFIX, PROFILES_DIR, ExtendsError, base_path, display_name
from .manifest import Manifest
from .model import ENTRY_PEOPLE_FIELDS, Entry, Profile
from .sizes import format_size, parse_size

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NOT_WRITTEN = "_not written yet_"
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


# -- TOML values, written by tomli_w ------------------------------------------


def toml_key(key: str) -> str:
    """``key`` as TOML writes it: bare when it can be, else quoted by tomli_w."""
    if _BARE_KEY.fullmatch(key):
        return key
    return tomli_w.dumps({key: 0}).rsplit(" = 0", 1)[0]


def toml_inline(value: Any) -> str:
    """``value`` on one line: tables inline, arrays on one line, scalars
    (strings, numbers, booleans, dates) exactly as ``tomli_w`` writes them."""
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(str(k))} = {toml_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_inline(item) for item in value) + "]"
    line = tomli_w.dumps({"v": value})
    return line.removeprefix("v = ").removesuffix("\n")


def toml_line(key: str, value: Any) -> str:
    return f"{toml_key(key)} = {toml_inline(value)}"


# -- the extends chain, and what each base says it follows -----------------


@dataclass(frozen=True)
class Base:
    """One file of an ``extends`` chain: how manifests name it
    (``profile:NAME`` or its path), and its ``[profile]``."""

    shown: str
    profile: Profile | None


def own_profile(path: Path) -> Profile | None:
    """The ``[profile]`` table written in the file itself (``Manifest.profile``
    is the merged one, which a base's table fills in)."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("profile")
        return Profile.model_validate(table) if isinstance(table, dict) else None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValidationError):
        return None


def bases_of(path: Path, seen: frozenset[Path] = frozenset()) -> list[Base]:
    """The bases of the manifest at ``path`` in the order they apply, each
    base's own bases before it. The loader has already refused cycles and
    missing files; this only reads what it merged."""
    try:
        references = tomllib.loads(path.read_text(encoding="utf-8")).get("extends", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    if isinstance(references, str):
        references = [references]
    found: list[Base] = []
    for reference in references if isinstance(references, list) else []:
        if not isinstance(reference, str):
            continue
        try:
            base = base_path(reference, path, None)
        except ExtendsError:  # an unknown profile: the loader has said so
            continue
        if base.resolve() in seen or not base.is_file():
            continue
        found.extend(bases_of(base, seen | {path.resolve()}))
        found.append(Base(display_name(base), own_profile(base)))
    return found


def bundled_profile_path(reference: str) -> Path | None:
    """``profile:NAME`` → the bundled file; ``None`` for anything else."""
    if not reference.startswith(PROFILE_PREFIX):
        return None
    return PROFILES_DIR / f"{reference[len(PROFILE_PREFIX) :]}.toml"


# -- Markdown ---------------------------------------------------------------


def code(text: str) -> str:
    """Inline code that survives backticks in ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def one_line(text: str) -> str:
    return " ".join(text.split())


def cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return one_line(text).replace("|", "\\|")


def documented_values(entry: Entry, many: bool) -> dict[str, Any]:
    """The entry's keys other than the people fields, as the manifest
    (after ``extends``) sets them; a single table's defaults too, since they
    apply whether written or not."""
    values = entry.model_dump(by_alias=True, exclude_unset=many, mode="python")
    return {
        key: value
        for key, value in values.items()
        if key not in ENTRY_PEOPLE_FIELDS and value is not None and (many or value not in ([], {}))
    }


def byte_size_keys(entry: Entry) -> set[str]:
    """Keys of the entry's byte sizes (``ByteSize`` fields), written as
    integers once read; a comment says them as people wrote them."""
    return {
        info.alias or name
        for name, info in type(entry).model_fields.items()
        if any(getattr(marker, "func", None) is parse_size for marker in info.metadata)
    }


class MarkdownDocument:
    """The rendering of one manifest, with links relative to ``link_base``
    (the folder the Markdown file is written to)."""

    def __init__(self, manifest: Manifest, link_base: Path) -> None:
        self.manifest = manifest
        self.link_base = link_base
        self.lines: list[str] = []
        self.manifest_link = Path(os.path.relpath(manifest.path.resolve(), link_base.resolve())).as_posix()
        self.bundled = manifest.path.resolve().parent == PROFILES_DIR.resolve()
        self.own_file = manifest.locator.file if manifest.locator else str(manifest.path)
        self.profile = own_profile(manifest.path)
        self.bases = bases_of(manifest.path)

    @property
    def manifest_reference(self) -> str:
        """How the text names the manifest: a link, or ``profile:NAME``."""
        if self.bundled:
            return code(PROFILE_PREFIX + self.manifest.path.stem)
        return f"[{self.manifest_link}]({self.manifest_link})"

    def inherited_from(self, entry: Entry) -> str | None:
        """Where an inherited entry comes from (``file:line``,
        ``profile:NAME:line``): the base that defines it, also when this
        manifest amends it; ``None`` for the manifest's own."""
        if entry.inherited:
            return entry.inherited
        if entry.source is not None and entry.source != self.own_file:
            return f"{entry.source}:{entry.line}" if entry.line else entry.source
        return None

    def written_at(self, where: str) -> str:
        """``file:line`` as a link where the file is one."""
        source, _, line = where.rpartition(":")
        if source and line.isdigit():
            return self.location(source, int(line))
        return self.location(where, None)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def link_to(self, source: str | None) -> str | None:
        """A relative link to the manifest file ``source`` (a base of
        ``extends`` included); ``None`` for a bundled profile."""
        if source is None:
            return self.manifest_link
        if not Path(source).is_file():
            return None
        return Path(os.path.relpath(Path(source).resolve(), self.link_base.resolve())).as_posix()

    def location(self, source: str | None, line: int | None) -> str:
        link = self.link_to(source)
        if link is None:
            return code(f"{source}:{line}" if line else str(source))
        shown = f"{link}:{line}" if line else link
        target = f"{link}#L{line}" if line else link
        return f"[{shown}]({target})"

    def people(self, entry: Entry, nudge: bool = True) -> None:
        """Why, owner, rollback (``_not written yet_`` when empty, with
        ``nudge``), docs, waiver, and the line in the manifest."""
        owner = self.manifest.owner_of(entry) if nudge else entry.owner
        inherited = not entry.owner and owner
        written: list[tuple[str, str | None]] = [
            ("Why", entry.why),
            ("Owner", f"{owner} (the service's owner)" if inherited else owner),
            ("Rollback", entry.rollback),
        ]
        rows = [(label, text or NOT_WRITTEN) for label, text in written if text or nudge]
        if entry.docs:
            rows.append(("Docs", f"<{entry.docs}>"))
        if entry.skip:
            until = f" (until {entry.until.isoformat()})" if entry.until else ""
            rows.append(("Waived", f"{one_line(entry.skip)}{until}"))
        inherited_from = self.inherited_from(entry)
        here = self.location(entry.source, entry.line)
        if inherited_from is None or entry.source != inherited_from.rpartition(":")[0]:
            rows.append(("Manifest", here))  # its own, or amended here (a waiver, a new owner)
        if inherited_from is not None:
            rows.append(("Inherited from", self.written_at(inherited_from)))
        self.add(*(f"- **{label}:** {one_line(text)}" for label, text in rows), "")

    def documented(self, entry: Entry, many: bool) -> None:
        values = documented_values(entry, many)
        if not values:
            return
        sizes = byte_size_keys(entry)
        lines = [
            f"{toml_line(key, value)}  # {format_size(value)}" if key in sizes else toml_line(key, value)
            for key, value in values.items()
        ]
        self.add("```toml", *lines, "```", "")

    def render(self) -> str:
        manifest = self.manifest
        service = manifest.service
        profile = self.profile
        # A base or a profile loaded for documentation has a placeholder target, with no key set.
        has_target = bool(manifest.target.model_fields_set)
        titled_by_profile = not has_target and profile is not None and bool(profile.title)
        if titled_by_profile:
            assert profile is not None and profile.title is not None
            title = profile.title
        else:
            named = service.name or manifest.target.app or (profile.title if profile else None)
            title = f"Production defaults of {named or manifest.path.name}"
        source = f"{PROFILE_PREFIX}{manifest.path.stem}" if self.bundled else self.manifest_link
        self.add(
            f"<!-- Generated by `prod-defaults docs` from {source}: edit that file, not this one. -->",
            "",
            f"# {one_line(title)}",
            "",
        )
        if has_target:
            self.add(
                f"Every default below is documented in {self.manifest_reference} and checked against the live"
                " service by `pytest --check-defaults`.",
                "",
            )
        else:
            named_as = f'`extends = ["{PROFILE_PREFIX}{manifest.path.stem}"]`' if self.bundled else "`extends`"
            self.add(
                f"Defaults to build on, documented in {self.manifest_reference}: a manifest that names it in"
                f" {named_as} inherits every default below, checked against its own service by"
                " `pytest --check-defaults`, and may replace or waive any of them by its name.",
                "",
            )
        self.profile_rows(profile, with_title=not titled_by_profile)
        if service.owner:
            self.add(f"- **Owner:** {one_line(service.owner)}")
        if service.docs:
            self.add(f"- **Docs:** <{service.docs}>")
        if profile is not None or service.owner or service.docs:
            self.add("")
        self.bases_table()
        for key, kind in manifest.kinds.items():
            entries = manifest.entries(key)
            if not entries:
                continue
            if kind.default_entry and not has_target and manifest.line_of(key) is None:
                continue  # a table's defaults (the policies) say nothing about a base that does not set them
            self.add(f"## {kind.title or (f'[[{key}]]' if kind.many else f'[{key}]')}", "")
            for entry in entries:
                if kind.one_default_per_key:
                    self.keyed_table(key, entry)
                    continue
                if kind.many:
                    self.add(f"### {one_line(entry.display_name())}", "")
                self.documented(entry, kind.many)
                # A table that says how the checks run (the policies) is no default of the service: no nudge.
                self.people(entry, nudge=kind.documents_defaults)
        return "\n".join(self.lines).rstrip("\n") + "\n"

    def profile_rows(self, profile: Profile | None, with_title: bool) -> None:
        """What the file's ``[profile]`` says it follows, and as of when."""
        if profile is None:
            return
        named = code(profile.name)
        if profile.title and with_title:
            named += f": {one_line(profile.title)}"
        self.add(f"- **Profile:** {named}")
        if profile.source or profile.date:
            source = f"<{profile.source}>" if profile.source else "_no link_"
            dated = f" (as of {profile.date.isoformat()})" if profile.date else ""
            self.add(f"- **Source:** {source}{dated}")
        if profile.notes:
            self.add(f"- **Notes:** {one_line(profile.notes)}")

    def bases_table(self) -> None:
        """The ``extends`` chain: each base with the title, link and date of
        what it follows (its ``[profile]``)."""
        if not self.bases:
            return
        self.add(
            "## Built on",
            "",
            "Inherited defaults come from these bases, applied in this order; the manifest's own entries apply"
            " last. An inherited default says where it is written.",
            "",
            "| base | title | source | as of |",
            "|---|---|---|---|",
        )
        for base in self.bases:
            profile = base.profile
            shown = code(base.shown) if base.shown.startswith(PROFILE_PREFIX) else self.location(base.shown, None)
            title = cell(profile.title) if profile and profile.title else "_no [profile] table_"
            source = f"<{profile.source}>" if profile and profile.source else ""
            date = profile.date.isoformat() if profile and profile.date else ""
            self.add(f"| {shown} | {title} | {source} | {date} |")
        self.add("")

    def key_location(self, key: str, table: Entry, attribute: str) -> tuple[str | None, int | None]:
        locator = self.manifest.locator
        if locator is None:
            return table.source, table.line
        source, line = locator.locate((key, attribute))
        return source, line or table.line

    def keyed_table(self, key: str, table: Entry) -> None:
        """A table of one default per key (``[settings]``): one row per
        documented attribute; why, owner and rollback columns
        only when some attribute has its own (the table form), else the
        table's apply to every row and are listed once below it."""
        values = documented_values(table, many=True)
        own_fields = {
            attribute: written if isinstance(written, Mapping) and "value" in written else {}
            for attribute, written in values.items()
        }
        with_people = any(key in own for own in own_fields.values() for key in ("why", "owner", "rollback"))
        if values:
            columns = ["attribute", "documented", *(("why", "owner", "rollback") if with_people else ()), "manifest"]
            self.add("| " + " | ".join(columns) + " |", "|" + "---|" * len(columns))
        for attribute, written in values.items():
            own = own_fields[attribute]
            row = [code(attribute), code(toml_inline(own.get("value", written)))]
            if with_people:
                owner = own.get("owner") or self.manifest.owner_of(table)
                row += [
                    cell(own.get("why") or table.why or NOT_WRITTEN),
                    cell(owner or NOT_WRITTEN),
                    cell(own.get("rollback") or table.rollback or NOT_WRITTEN),
                ]
            source, line = self.key_location(key, table, attribute)
            inherited = " (inherited)" if source is not None and source != self.own_file else ""
            row.append(self.location(source, line) + inherited)
            self.add("| " + " | ".join(row) + " |")
        if values:
            self.add("")
        self.people(table)


def render_markdown(manifest: Manifest, link_base: Path) -> str:
    """The manifest as Markdown, links relative to ``link_base``."""
    return MarkdownDocument(manifest, link_base).render()
