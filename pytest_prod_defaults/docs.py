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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from .manifest import Manifest
from .model import Entry
from .sizes import format_size, parse_size

PEOPLE_FIELDS = ("name", "why", "owner", "rollback", "docs", "skip", "until")
KIND_TITLES = {
    "header": "Response headers",
    "cookie": "Cookies",
    "health_check": "Health checks",
    "upload": "Upload limits",
    "cache_rule": "Cache rules",
    "settings": "Application settings",
    "middleware": "Middleware",
    "config": "Configuration",
    "undocumented": "What the manifest does not mention",
}
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
        if key not in PEOPLE_FIELDS and value is not None and (many or value not in ([], {}))
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
        rows.append(("Manifest", self.location(entry.source, entry.line)))
        inherited = getattr(entry, "inherited", None)
        if inherited:
            rows.append(("Inherited from", code(inherited)))
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
        title = service.name or manifest.target.app or manifest.path.name
        self.add(
            f"<!-- Generated by `prod-defaults docs` from {self.manifest_link}: edit that file, not this one. -->",
            "",
            f"# Production defaults of {title}",
            "",
            "Every default below is documented in "
            f"[{self.manifest_link}]({self.manifest_link}) and checked against the live service by "
            "`pytest --check-defaults`.",
            "",
        )
        if service.owner:
            self.add(f"- **Owner:** {one_line(service.owner)}")
        if service.docs:
            self.add(f"- **Docs:** <{service.docs}>")
        if service.owner or service.docs:
            self.add("")
        for key, kind in manifest.kinds.items():
            entries = manifest.entries(key)
            if not entries:
                continue
            self.add(f"## {KIND_TITLES.get(key, f'[[{key}]]' if kind.many else f'[{key}]')}", "")
            for entry in entries:
                if key == "settings":
                    self.settings(entry)
                    continue
                if kind.many:
                    self.add(f"### {one_line(entry.display_name())}", "")
                self.documented(entry, kind.many)
                # The undocumented policies are not a default of the service: no nudge to explain them.
                self.people(entry, nudge=key != "undocumented")
        return "\n".join(self.lines).rstrip("\n") + "\n"

    def setting_location(self, table: Entry, attribute: str) -> tuple[str | None, int | None]:
        locator = self.manifest.locator
        if locator is None:
            return table.source, table.line
        source, line = locator.locate(("settings", attribute))
        return source, line or table.line

    def settings(self, table: Entry) -> None:
        """One row per documented attribute; why, owner and rollback columns
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
            source, line = self.setting_location(table, attribute)
            row.append(self.location(source, line))
            self.add("| " + " | ".join(row) + " |")
        if values:
            self.add("")
        self.people(table)


def render_markdown(manifest: Manifest, link_base: Path) -> str:
    """The manifest as Markdown, links relative to ``link_base``."""
    return MarkdownDocument(manifest, link_base).render()
