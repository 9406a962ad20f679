"""Live values as a manifest writes them, for ``prod-defaults init``.

A setting, a middleware option or a config field is written in the TOML form
its kind's own comparison accepts against the live value, or not at all
(:class:`Unwritable` says why); a header that answered differently on two
requests is written as a pattern that fits both. Apart from the probing in
:mod:`~pytest_prod_defaults.capture`, so what a value is written as can be
read, and tested, on its own. Nothing here knows pytest.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import PurePath
from typing import Any

from .docs import toml_line
from .dotted import dotted_path, is_code
from .redaction import is_secret_type, secret_name

HTTP_DATE = r"[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_DECIMAL = re.compile(r"[0-9]+\.[0-9]+")
_UNSTABLE_TEXT = re.compile(r" at 0x[0-9a-fA-F]+|^<.*>$")
_HEADER_WORDS = {"id": "ID", "xss": "XSS", "www": "WWW", "dns": "DNS", "md5": "MD5", "etag": "ETag", "ua": "UA"}


class Unwritable(Exception):
    """A live value the manifest cannot state (None, an object with no
    stable text); the message says why."""


# -- live values as TOML values -------------------------------------------------


def toml_value(value: Any) -> Any:
    """``value`` as the manifest writes it, the way the checks compare: enums
    by value, classes and functions by dotted path, tuples and sets as arrays,
    models as tables, durations in seconds, URLs and paths as text."""
    if value is None:
        raise Unwritable("None, which TOML cannot write")
    if is_secret_type(value):
        raise Unwritable("a secret")
    if isinstance(value, enum.Enum):
        return toml_value(value.value)
    if isinstance(value, (bool, int, float, str, datetime.date, datetime.time)):
        return value
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
        return int(seconds) if seconds.is_integer() else seconds
    if isinstance(value, PurePath):
        return str(value)
    if is_code(value):
        return dotted_path(value)
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return {name: toml_value(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, Mapping):
        return {str(key): toml_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [toml_value(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((toml_value(item) for item in value), key=repr)
    if isinstance(value, (bytes, bytearray)):
        raise Unwritable("bytes, which TOML cannot write")
    text = str(value)
    if _UNSTABLE_TEXT.search(text):
        raise Unwritable(f"a {type(value).__name__} with no stable text form")
    return text


def written(value: Any, live: Any, holds: Callable[[Any, Any], bool]) -> Any:
    """``value`` in TOML, checked against ``live`` with the kind's own
    comparison ``holds(documented, live)``; raises :class:`Unwritable` when
    the check would not accept what is written."""
    documented = toml_value(value)
    if not holds(documented, live):
        raise Unwritable(f"its TOML form {toml_line('x', documented)[4:]} would not compare equal")
    return documented


# -- header values --------------------------------------------------------------


def header_display_name(name: str) -> str:
    """``x-request-id`` → ``X-Request-ID``: names are case-insensitive, but
    people read the usual spelling."""
    return "-".join(_HEADER_WORDS.get(word, word[:1].upper() + word[1:]) for word in name.split("-"))


def _hex_class(values: Iterable[str]) -> str:
    letters = "".join(values)
    lower = any(c in "abcdef" for c in letters)
    upper = any(c in "ABCDEF" for c in letters)
    if lower and upper:
        return "[0-9a-fA-F]"
    return "[0-9A-F]" if upper else "[0-9a-f]"


def value_pattern(values: Sequence[str]) -> str:
    """A regular expression (full match) that fits every value: a UUID, a
    number, hex of one length, or anything non-empty."""
    if any(value == "" for value in values):
        return "^.*$"
    if all(_UUID.fullmatch(value) for value in values):
        hex_class = _hex_class(values)
        return "^" + "-".join(f"{hex_class}{{{n}}}" for n in (8, 4, 4, 4, 12)) + "$"
    if all(value.isascii() and value.isdigit() for value in values):
        return "^[0-9]+$"
    if all(_DECIMAL.fullmatch(value) or (value.isascii() and value.isdigit()) for value in values):
        return r"^[0-9]+(?:\.[0-9]+)?$"
    if all(_HEX.fullmatch(value) for value in values):
        lengths = {len(value) for value in values}
        repeat = f"{{{lengths.pop()}}}" if len(lengths) == 1 else "+"
        return f"^{_hex_class(values)}{repeat}$"
    return "^.+$"


def header_matcher(name: str, first: Sequence[str], second: Sequence[str]) -> tuple[str, str, str | None]:
    """``(equals | matches, value, note)`` for a header seen with ``first``
    values on one request and ``second`` on the next."""
    if secret_name(name):
        shape = value_pattern([value.strip() for value in [*first, *second]])
        return "matches", shape, "its value is never written down"
    values = [value.strip() for value in [*first, *second]]
    if all(re.fullmatch(HTTP_DATE, value) for value in values):
        return "matches", f"^{HTTP_DATE}$", "an HTTP date"
    distinct = list(dict.fromkeys(values))
    if len(distinct) == 1:
        return "equals", distinct[0], None
    if set(first) == set(second):
        alternatives = "|".join(re.escape(value) for value in distinct)
        return "matches", f"^(?:{alternatives})$", "sent several times with different values"
    return "matches", value_pattern(values), "differed between two requests"
