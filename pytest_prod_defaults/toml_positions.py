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
_BARE = re.compile(_BARE_KEY)


def _split_key(dotted: str) -> tuple[str, ...]:
    if _BARE.fullmatch(dotted):  # most keys: one bare word
        return (dotted,)
    parts = []
    for match in _KEY_PART.finditer(dotted):
        part = match.group(0)
        if part[0] in "\"'":
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


_SIGNIFICANT = re.compile(r"[\"'#\[\]{}]")
"""What changes the bracket depth outside strings: a string's start, a
comment, a bracket. Searched for, so plain text costs no Python loop."""
_BASIC_END = re.compile(r'(?:[^"\\]|\\.)*"')
"""The rest of a one-line basic string, to its closing quote (escapes skipped)."""
_MULTILINE_BASIC_END = re.compile(r'(?:[^"\\]|\\.|"(?!""))*"""')
"""The rest of a multi-line basic string, to its closing ``\"\"\"``."""


def _string_end(line: str, start: int, quote: str) -> int:
    """Where the string opened by ``quote`` and continuing at ``start``
    ends (the index after its closing quote), or -1 if not on this line."""
    if quote == '"""':
        found = _MULTILINE_BASIC_END.match(line, start)
    elif quote == '"':
        found = _BASIC_END.match(line, start)
    else:  # literal strings have no escapes
        end = line.find(quote, start)
        return end + len(quote) if end >= 0 else -1
    return found.end() if found else -1


def _open_brackets(line: str, in_multiline: str | None) -> tuple[int, str | None]:
    """Net bracket depth change of ``line`` outside strings and comments,
    and the multi-line string delimiter still open at its end, if any."""
    depth = 0
    position = 0
    if in_multiline is not None:
        position = _string_end(line, 0, in_multiline)
        if position < 0:
            return 0, in_multiline
    while found := _SIGNIFICANT.search(line, position):
        character = found.group()
        start = found.start()
        if character == "#":
            break
        if character in "[{":
            depth += 1
        elif character in "]}":
            depth -= 1
        else:
            quote = character * 3 if line.startswith(character * 3, start) else character
            position = _string_end(line, start + len(quote), quote)
            if position < 0:
                # a single-line string cannot span lines
                return depth, quote if len(quote) == 3 else None
            continue
        position = start + 1
    return depth, None


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map each table, array-of-tables element and key to its 1-based line."""
    lines: dict[KeyPath, int] = {}
    array_counts: dict[tuple[str, ...], int] = {}
    table: KeyPath = ()
    depth = 0
    multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if depth == 0 and multiline is None:
            if line.lstrip()[:1] != "[":  # not a table header: most lines
                if match := _KEY_VALUE.match(line):
                    key = _split_key(match.group(1))
                    for end in range(1, len(key) + 1):
                        lines.setdefault((*table, *key[:end]), number)
            elif match := _TABLE_ARRAY.match(line):
                name = _split_key(match.group(1))
                index = array_counts.get(name, 0)
                array_counts[name] = index + 1
                table = (*name, index)
                lines.setdefault(table, number)
                lines.setdefault(name, number)
                continue
            elif match := _TABLE.match(line):
                table = _split_key(match.group(1))
                lines.setdefault(table, number)
                continue
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
