"""Byte sizes as people write them: ``1048576``, ``"1 MiB"``, ``"512KB"``."""

from __future__ import annotations

import re

UNITS = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(value: object) -> int:
    """Return ``value`` in bytes; raise ``ValueError`` saying what is wrong."""
    if isinstance(value, bool):
        raise ValueError("a size is an integer number of bytes or a string like '1 MiB'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative (got {value})")
        return value
    if not isinstance(value, str):
        raise ValueError("a size is an integer number of bytes or a string like '1 MiB'")
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a size; write e.g. 1048576 or '1 MiB'")
    number, unit = match.groups()
    factor = UNITS.get((unit or "B").upper())
    if factor is None:
        known = ", ".join(("B", "KB", "MB", "GB", "KiB", "MiB", "GiB"))
        raise ValueError(f"unknown unit {unit!r} in {value!r}; use one of {known}")
    size = float(number) * factor
    if size != int(size):
        raise ValueError(f"{value!r} is not a whole number of bytes")
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
