"""The tool a kind writes its captured entries with: commented TOML, line by line.

``prod-defaults init`` hands one :class:`ManifestWriter` to every kind in
turn (:mod:`.manifest_writer`); a kind writes tables, keys with comments,
the TODO people fields and, through :meth:`ManifestWriter.entries`, an array
section that keeps what ``--extends`` decided (entries written over an
inherited one, inherited ones kept in order). Values go through
:func:`~pytest_prod_defaults.docs.toml_line` (``tomli_w``). Imports nothing
that knows what a kind is. Nothing here knows pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .captured import Amendment, Inheritance, LeftOut
from .docs import one_line, toml_line

TODO_PEOPLE = (
    ("why", "TODO: why does this default exist?"),
    ("owner", "TODO: who decides it? (left empty: [service].owner)"),
    ("rollback", "TODO: how is a change to it undone?"),
)


class ManifestWriter:
    """TOML text assembled line by line: sections, tables, commented keys,
    and values written by ``tomli_w``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.leading: list[str] = []
        self.current_section: str | None = None

    def comment(self, *texts: str) -> None:
        self.lines.extend(f"# {one_line(text)}".rstrip() for text in texts)

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def section(self, title: str) -> None:
        """A heading; once for kinds that share one (``[settings]`` and
        ``[[middleware]]`` under "the application object")."""
        if title == self.current_section:
            return
        self.current_section = title
        self.blank()
        self.lines.append(f"# -- {title} ".ljust(78, "-"))
        self.blank()

    def lead(self, text: str) -> None:
        """A comment on the next table, written right above it."""
        self.leading.append(text)

    def listed(self, title: str, items: Sequence[str], width: int = 100) -> None:
        """``title`` and the ``items`` as comment lines, never breaking an item."""
        lines = [f"{title}:"]
        for item in items:
            if len(lines[-1]) + len(item) + 3 > width - 2:
                lines.append(" ")
            lines[-1] += f" {item},"
        lines[-1] = lines[-1].rstrip(",")
        self.comment(*lines)

    def table(self, name: str, many: bool = False) -> None:
        self.blank()
        self.comment(*self.leading)
        self.leading.clear()
        self.lines.append(f"[[{name}]]" if many else f"[{name}]")

    def key(self, key: str, value: Any, comment: str | None = None) -> None:
        line = toml_line(key, value)
        self.lines.append(f"{line}  # {one_line(comment)}" if comment else line)

    def commented_key(self, key: str, value: Any, comment: str) -> None:
        self.lines.append(f"# {toml_line(key, value)}  # {one_line(comment)}")

    def people(self, inherited: Iterable[str] = ()) -> None:
        """The TODO people fields, except those a base gives this table."""
        for key, comment in TODO_PEOPLE:
            if key not in inherited:
                self.key(key, "", comment)

    def left_out(self, items: Sequence[LeftOut], where: str) -> None:
        for item in items:
            self.comment(f"left out of {where}: {item.name} ({item.reason})")

    def amendment(self, amendment: Amendment) -> None:
        """An inherited entry by its identity alone: waived, or kept in order."""
        if amendment.skip is None:
            self.lead(f"inherited unchanged from {amendment.where}: written to keep the order of entries of one name")
        else:
            self.lead(f"inherited from {amendment.where}")
        self.table(amendment.kind, many=amendment.key is not None)
        if amendment.key is not None:
            self.key(amendment.key, amendment.value)
        if amendment.skip is not None:
            self.key("skip", amendment.skip)

    def entries(
        self,
        kind: str,
        items: Sequence[Any],
        title: str | None,
        inheritance: Inheritance | None,
        identity: Callable[[Any], str | None],
        write: Callable[[ManifestWriter, Any], None],
    ) -> None:
        """A section of array entries of ``kind``: first those the
        inheritance writes in a fixed order, then the captured ``items``
        (each by ``write``), one written over an inherited entry saying which
        and why. Nothing, not even the heading, when there is none."""
        slots = inheritance.slots.get(kind, []) if inheritance else []
        if not slots and not items:
            return
        if title is not None:
            self.section(title)
        noted: set[str] = set()
        for item in [*slots, *items]:
            if isinstance(item, Amendment):
                self.amendment(item)
                continue
            name = identity(item)
            replaced = inheritance.replaced.get((kind, name)) if inheritance and name is not None else None
            if replaced and name not in noted:
                noted.add(str(name))
                self.lead(f"replaces the inherited entry of {replaced[1]}")
            write(self, item)

    def text(self) -> str:
        return "\n".join(self.lines).rstrip("\n") + "\n"
