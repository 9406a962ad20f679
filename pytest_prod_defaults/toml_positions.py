"""Line numbers for the keys of a TOML document.

``tomllib`` returns plain dicts with no positions, yet every manifest error
must name its line. This scanner walks the raw text once and records the line
on which each table header and each key starts, keyed by the same path a
validation error reports (``("header", 2, "equals")``).

The scan costs more than the TOML parse itself, and a manifest that loads
cleanly is often never asked for a line (``prod-defaults init`` checking what
it wrote, a collect-only run), so :class:`KeyLines` holds a file's text and
scans it on the first question only.
"""

from __future__ import annotations

import re

KeyPath = tuple[str | int, ...]

_BARE_KEY = r"[A-Za-z0-9_-]+"
_QUOTED_KEY = r'"(?:[^"\\]|\\.)*"' + r"|'[^']*'"
_KEY = rf"(?:{_BARE_KEY}|{_QUOTED_KEY})"
_DOTTED_KEY = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_TABLE_ARRAY = re.compile(rf"^\s*\[\[\s*({_DOTTED_KEY})\s*\]\]")
_TABLE = re.compile(rf"^\s*\[\s*({_DOTTED_KEY})\s*\]")
_KEY_VALUE = re.compile(rf"^\s*({_DOTTED_KEY})\s*=")
_KEY_PART = re.compile(_KEY)


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for match in _KEY_PART.finditer(dotted):
        part = match.group(0)
        if part[0] in "\"'":
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


def _open_brackets(line: str, in_multiline: str | None) -> tuple[int, str | None]:
    """Net bracket depth change of ``line`` outside strings and comments,
    and the multi-line string delimiter still open at its end, if any."""
    depth = 0
    i = 0
    quote = in_multiline
    while i < len(line):
        if quote:
            if quote in ('"', '"""') and line[i] == "\\":
                i += 2  # an escaped character in a basic string
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
            else:
                i += 1
            continue
        ch = line[i]
        if ch == "#":
            break
        if line.startswith('"""', i) or line.startswith("'''", i):
            quote = line[i : i + 3]
            i += 3
            continue
        if ch in "\"'":
            quote = ch
            i += 1
            continue
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    if quote is not None and len(quote) == 1:
        quote = None  # a single-line string cannot span lines
    return depth, quote


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map each table, array-of-tables element and key to its 1-based line."""
    lines: dict[KeyPath, int] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    table: KeyPath = ()
    depth = 0
    multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if depth == 0 and multiline is None:
            if match := _TABLE_ARRAY.match(line):
                name = _split_key(match.group(1))
                index = array_counts.get(name, 0)
                array_counts[name] = index + 1
                table = (*name, index)
                lines.setdefault(table, number)
                lines.setdefault(name, number)
                continue
            if match := _TABLE.match(line):
                table = _split_key(match.group(1))
                lines.setdefault(table, number)
                continue
            if match := _KEY_VALUE.match(line):
                key = _split_key(match.group(1))
                for end in range(1, len(key) + 1):
                    lines.setdefault((*table, *key[:end]), number)
        change, multiline = _open_brackets(line, multiline)
        depth = max(0, depth + change)
    return lines


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path``, or of its nearest ancestor that has one."""
    for end in range(len(path), 0, -1):
        if (found := lines.get(tuple(path[:end]))) is not None:
            return found
    return None


class KeyLines:
    """The key lines of one TOML text, found by one scan on first use."""

    __slots__ = ("_lines", "text")

    def __init__(self, text: str = "") -> None:
        self.text = text
        self._lines: dict[KeyPath, int] | None = None

    @property
    def scanned(self) -> bool:
        """Whether some question has needed the scan yet."""
        return self._lines is not None

    def lines(self) -> dict[KeyPath, int]:
        """Every key's line (:func:`key_lines`), scanned now if not yet."""
        found = self._lines
        if found is None:
            found = self._lines = key_lines(self.text)
        return found

    def get(self, path: KeyPath) -> int | None:
        """The line of exactly ``path``."""
        return self.lines().get(path)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        return line_of(self.lines(), path)
