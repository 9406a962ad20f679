"""Read ``Set-Cookie`` response headers (RFC 6265, section 5.2) for the
attributes a manifest documents.

The cookie's value is never kept: only whether it is empty, so nothing built
from a :class:`SetCookie` can leak it into a report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# Some proxies fold several Set-Cookie headers into one, comma-separated.
# Expires dates hold a comma too ("Wed, 09 Jun 2021 ..."), but what follows
# that comma is never "name=", so only a comma before a cookie pair splits.
_FOLDED = re.compile(r",(?=\s*[!#$%&'*+\-.^_`|~0-9A-Za-z]+=)")


@dataclass(frozen=True)
class SetCookie:
    """One ``Set-Cookie`` header: the cookie's name and its attributes, with
    attribute names lower-cased (the last occurrence of each wins)."""

    name: str
    value_empty: bool
    attributes: dict[str, str | None] = field(default_factory=dict)
    """Lower-case attribute name → value (``None`` for a flag like ``Secure``)."""

    def has(self, attribute: str) -> bool:
        return attribute.lower() in self.attributes

    def get(self, attribute: str) -> str | None:
        return self.attributes.get(attribute.lower())

    @property
    def max_age(self) -> int | None:
        """``Max-Age`` as an integer, or ``None`` when absent or not a number
        (a user agent ignores such an attribute)."""
        raw = self.get("max-age")
        if raw is None or not re.fullmatch(r"-?[0-9]+", raw.strip()):
            return None
        return int(raw)

    @property
    def expires(self) -> datetime | None:
        raw = self.get("expires")
        if not raw:
            return None
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)

    @property
    def deletion(self) -> str | None:
        """Why this header deletes the cookie rather than sets it, or ``None``."""
        max_age = self.max_age
        if max_age is not None and max_age <= 0:
            return f"Max-Age={max_age}"
        if max_age is None and (expires := self.expires) is not None and expires <= datetime.now(timezone.utc):
            return "Expires in the past"
        if self.value_empty:
            return "empty value"
        return None


def split_set_cookie(values: Iterable[str]) -> list[str]:
    """One string per cookie, undoing comma-folding of several headers."""
    found: list[str] = []
    for value in values:
        found.extend(part.strip() for part in _FOLDED.split(value) if part.strip())
    return found


def parse_set_cookie(header: str) -> SetCookie:
    """Parse one ``Set-Cookie`` value. A pair without ``=`` is a cookie with
    an empty name, as browsers read it."""
    pair, _, rest = header.partition(";")
    name, equals, value = pair.partition("=")
    if not equals:
        name, value = "", pair
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    attributes: dict[str, str | None] = {}
    for part in rest.split(";"):
        key, has_value, attribute_value = part.partition("=")
        key = key.strip().lower()
        if key:
            attributes[key] = attribute_value.strip() if has_value else None
    return SetCookie(name.strip(), value == "", attributes)


def cookies_named(name: str, set_cookie_values: Iterable[str]) -> list[SetCookie]:
    """Every cookie called ``name`` (case-sensitive, as cookie names are)."""
    return [cookie for cookie in map(parse_set_cookie, split_set_cookie(set_cookie_values)) if cookie.name == name]


def cookie_names(set_cookie_values: Iterable[str]) -> list[str]:
    """The names of the cookies these headers set, in order, each once."""
    return list(dict.fromkeys(parse_set_cookie(value).name for value in split_set_cookie(set_cookie_values)))
