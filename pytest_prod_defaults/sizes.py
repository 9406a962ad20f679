"""Byte sizes as people write them: ``1048576``, ``"1 MiB"``, ``"512KB"``."""

from __future__ import annotations

import re
from fractions import Fraction

UNITS = {
    "B": 1,
    "BYTE": 1,
    "BYTES": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
}
KNOWN_UNITS = ("B", "KB", "MB", "GB", "KiB", "MiB", "GiB")
MAX_DIGITS = 30
"""Longer numbers are no size a service could mean (and Python refuses to
convert numbers of thousands of digits)."""
_SIZE = re.compile(r"^\s*(-?)\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$", re.ASCII)
_NOT_A_SIZE = "a size is an integer number of bytes or a string like '1 MiB'"


def _shown(value: str) -> str:
    """``value`` quoted, at most 42 characters: cut after quoting, as
    escapes (``\\x00``) can make the quoted text four times longer."""
    quoted = repr(value)
    return quoted if len(quoted) <= 42 else f"{quoted[:38]}...{quoted[0]}"


def parse_size(value: object) -> int:
    """Return ``value`` in bytes; raise ``ValueError`` saying what is wrong.

    Units are case-insensitive; ``byte`` and ``bytes`` are read as ``B``, so
    what :func:`format_size` writes reads back.
    """
    if isinstance(value, bool):
        raise ValueError(_NOT_A_SIZE)
    if isinstance(value, int):
        if value < 0:
            digits = str(value)
            raise ValueError(f"a size cannot be negative (got {digits if len(digits) <= 40 else digits[:37] + '...'})")
        return value
    if not isinstance(value, str):
        raise ValueError(_NOT_A_SIZE)
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"{_shown(value)} is not a size; write e.g. 1048576 or '1 MiB'")
    sign, number, unit = match.groups()
    factor = UNITS.get((unit or "B").upper())
    if factor is None:
        raise ValueError(f"unknown unit {_shown(unit)} in {_shown(value)}; use one of {', '.join(KNOWN_UNITS)}")
    if sign:
        raise ValueError(f"a size cannot be negative (got {_shown(value)})")
    if len(number) > MAX_DIGITS:
        raise ValueError(f"{_shown(value)} is too large to be a size")
    # Exact arithmetic: in floats '1.001 KB' is 1000.9999999999999 bytes.
    size = Fraction(number) * factor
    if size.denominator != 1:
        raise ValueError(f"{_shown(value)} is not a whole number of bytes")
    return int(size)


def format_size(size: int) -> str:
    """The shortest exact way to say ``size``: ``1 MiB``, ``1 MiB + 1 byte``."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        whole, rest = divmod(size, factor)
        if whole and rest == 0:
            return f"{whole} {unit}"
        if whole and rest == 1:
            return f"{whole} {unit} + 1 byte"
    return f"{size} byte" + ("" if size == 1 else "s")
