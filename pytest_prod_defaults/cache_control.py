"""Cache-Control and Vary, read the way caches read them (RFC 9111).

A Cache-Control value is a set of directives: names are case-insensitive,
order and spacing do not matter, and ``max-age=300`` equals
``max-age="300"``. Several Cache-Control lines on one response form one list.
Parsing never raises: what cannot be read is kept as a malformed fragment, so
a live value with garbage in it does not compare equal to a clean one.

Nothing here knows pytest or HTTP clients.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass

TOKEN_CHARACTERS = frozenset("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters)
WHITESPACE = " \t\r\n"
ASCII_DIGITS = frozenset(string.digits)
DELTA_SECONDS_DIRECTIVES = frozenset(
    {"max-age", "s-maxage", "max-stale", "min-fresh", "stale-while-revalidate", "stale-if-error"}
)
"""Directives whose value is a number of seconds: compared as numbers."""
FIELD_LIST_DIRECTIVES = frozenset({"no-cache", "private"})
"""Directives whose optional value lists header field names: compared as a set."""
GREATEST_DELTA_SECONDS = 2**31
"""RFC 9111 §1.2.2: larger delta-seconds values are read as 2^31."""
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def is_token(text: str) -> bool:
    """RFC 9110 ``token``: one or more tchars."""
    return bool(text) and all(character in TOKEN_CHARACTERS for character in text)


def _ascii_lower(text: str) -> str:
    # Only ASCII letters: header names are ASCII, and str.lower() is not
    # guaranteed to map every non-ASCII string to a fixed point.
    return text.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class Directive:
    """One Cache-Control directive: a lower-case name, and its value unquoted
    (``None`` when the directive has no ``=value``)."""

    name: str
    value: str | None = None

    def __str__(self) -> str:
        return format_directive(self)


def _sort_key(directive: Directive) -> tuple[str, bool, str]:
    return directive.name, directive.value is not None, directive.value or ""


@dataclass(frozen=True, eq=False)
class CacheControl:
    """A parsed Cache-Control value.

    ``directives`` keeps the order received (a cache reads the first of two
    conflicting ``max-age``) with exact repeats dropped; ``malformed`` holds the
    list elements that are not directives. Equality ignores order.
    """

    directives: tuple[Directive, ...] = ()
    malformed: tuple[str, ...] = ()

    def _key(self) -> tuple[frozenset[Directive], frozenset[str]]:
        return frozenset(self.directives), frozenset(self.malformed)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CacheControl):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return format_cache_control(self)

    @property
    def is_empty(self) -> bool:
        return not self.directives and not self.malformed

    def names(self) -> frozenset[str]:
        return frozenset(directive.name for directive in self.directives)

    def has(self, name: str) -> bool:
        return any(directive.name == name for directive in self.directives)

    def values(self, name: str) -> list[str | None]:
        """Every value of directive ``name``, in the order received."""
        return [directive.value for directive in self.directives if directive.name == name]

    def seconds(self, name: str) -> int | None:
        """The first ``name`` directive's delta-seconds, or ``None`` when it is
        absent or not a number."""
        values = self.values(name)
        if not values or values[0] is None or not _is_digits(values[0]):
            return None
        digits = values[0].lstrip("0") or "0"
        # Compare lengths before int(): huge digit strings are legal input.
        if len(digits) > len(str(GREATEST_DELTA_SECONDS)):
            return GREATEST_DELTA_SECONDS
        return min(int(digits), GREATEST_DELTA_SECONDS)


def _is_digits(text: str) -> bool:
    return bool(text) and all(character in ASCII_DIGITS for character in text)


def _split_list(text: str) -> list[str]:
    """Split a comma-separated field value, keeping commas inside quoted
    strings; empty elements are dropped, as RFC 9110 §5.6.1 allows."""
    elements: list[str] = []
    current: list[str] = []
    in_quotes = False
    escaped = False
    for character in text:
        if in_quotes:
            current.append(character)
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_quotes = False
        elif character == ",":
            elements.append("".join(current))
            current = []
        else:
            current.append(character)
            in_quotes = character == '"'
    elements.append("".join(current))
    stripped = (element.strip(WHITESPACE) for element in elements)
    return [element for element in stripped if element]


def _unquote(text: str) -> str | None:
    """The content of a quoted-string, or ``None`` when ``text`` is not one."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return None
    content: list[str] = []
    escaped = False
    for character in text[1:-1]:
        if escaped:
            content.append(character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == '"':
            return None
        else:
            content.append(character)
    # A trailing backslash escaped the closing quote: unterminated.
    return None if escaped else "".join(content)


def _normalized_value(name: str, value: str) -> str:
    if name in DELTA_SECONDS_DIRECTIVES and _is_digits(value):
        return value.lstrip("0") or "0"
    if name in FIELD_LIST_DIRECTIVES:
        fields = {_ascii_lower(field.strip(WHITESPACE)) for field in value.split(",")}
        return ", ".join(sorted(field for field in fields if field))
    return value


def _parse_element(element: str) -> Directive | None:
    name, equals, raw_value = element.partition("=")
    name = name.rstrip(WHITESPACE)
    if not is_token(name):
        return None
    name = _ascii_lower(name)
    if not equals:
        return Directive(name)
    raw_value = raw_value.lstrip(WHITESPACE)
    value = raw_value if is_token(raw_value) else _unquote(raw_value)
    if value is None:
        return None
    return Directive(name, _normalized_value(name, value))


def parse_cache_control(*field_lines: str) -> CacheControl:
    """Parse one or more Cache-Control field lines (which combine into one
    list) into a :class:`CacheControl`. Never raises."""
    directives: dict[Directive, None] = {}
    malformed: dict[str, None] = {}
    for line in field_lines:
        for element in _split_list(line):
            directive = _parse_element(element)
            if directive is None:
                malformed.setdefault(element)
            else:
                directives.setdefault(directive)
    return CacheControl(tuple(directives), tuple(malformed))


def format_directive(directive: Directive) -> str:
    """``name``, ``name=token`` or ``name="quoted string"``."""
    if directive.value is None:
        return directive.name
    # Field-name lists are always quoted, as RFC 9111 §5.2.2.4 asks senders to.
    if is_token(directive.value) and directive.name not in FIELD_LIST_DIRECTIVES:
        return f"{directive.name}={directive.value}"
    escaped = directive.value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{directive.name}="{escaped}"'


def format_cache_control(cache_control: CacheControl) -> str:
    """The directives in a canonical order (malformed fragments are left out):
    ``parse_cache_control(format_cache_control(x))`` equals ``x`` for any
    ``x`` without malformed fragments."""
    return ", ".join(format_directive(d) for d in sorted(cache_control.directives, key=_sort_key))


def cache_control_problems(cache_control: CacheControl) -> list[str]:
    """What makes a documented Cache-Control value unfit to compare against:
    empty, unparseable, a seconds directive without a number, or one directive
    given twice with different values."""
    if cache_control.is_empty:
        return ["is empty: give the directives the responses must carry, e.g. 'public, max-age=300'"]
    problems = [
        f'cannot parse {fragment!r} (directives are token, token=token or token="quoted")'
        for fragment in cache_control.malformed
    ]
    for name in sorted(cache_control.names()):
        values = cache_control.values(name)
        if len(values) > 1:
            problems.append(f"{name} is given {len(values)} times with different values")
        elif name in DELTA_SECONDS_DIRECTIVES and cache_control.seconds(name) is None:
            problems.append(f"{name} needs a number of seconds (got {format_directive(Directive(name, values[0]))!r})")
    return problems


def describe_difference(documented: CacheControl, live: CacheControl) -> str:
    """How ``live`` differs from ``documented``, directive by directive:
    ``max-age differs; immutable missing; no-transform not documented``."""
    documented_names = documented.names()
    live_names = live.names()
    parts = [
        f"{name} differs"
        for name in sorted(documented_names & live_names)
        if set(documented.values(name)) != set(live.values(name))
    ]
    parts += [f"{name} missing" for name in sorted(documented_names - live_names)]
    parts += [f"{name} not documented" for name in sorted(live_names - documented_names)]
    parts += [f"unparseable {fragment!r}" for fragment in live.malformed if fragment not in documented.malformed]
    return "; ".join(parts) if parts else "same directives"


def shared_cache_may_store(cache_control: CacheControl) -> str | None:
    """Why a shared cache (a CDN, a proxy) may store this response and serve
    it to other people, or ``None`` when it is uncacheable by a shared cache.

    Uncacheable means ``no-store``, ``private`` or ``no-cache``, or a shared
    freshness lifetime of zero that no stale-serving directive extends.
    """
    if cache_control.has("no-store"):
        return None
    for name in FIELD_LIST_DIRECTIVES:
        # Unqualified only: `private="Set-Cookie"` and `no-cache="Set-Cookie"`
        # govern just the named fields; the rest of the response may still be
        # stored and reused (RFC 9111 §5.2.2.4, §5.2.2.7).
        if None in cache_control.values(name):
            return None
    # For a shared cache, s-maxage overrides max-age (RFC 9111 §5.2.2.10): so
    # `max-age=0, s-maxage=60` is cacheable and `max-age=600, s-maxage=0` is
    # not. A value that is not a number is skipped, as a cache would ignore it.
    lifetime_directive = next(
        (name for name in ("s-maxage", "max-age") if cache_control.seconds(name) is not None), None
    )
    lifetime = cache_control.seconds(lifetime_directive) if lifetime_directive else None
    if lifetime == 0:
        # s-maxage carries proxy-revalidate's semantics; with those or
        # must-revalidate a stale response is never served without asking the
        # origin. Otherwise stale-while-revalidate / stale-if-error let a CDN
        # hand this response to someone else after it went stale.
        revalidates = (
            lifetime_directive == "s-maxage"
            or cache_control.has("must-revalidate")
            or cache_control.has("proxy-revalidate")
        )
        if not revalidates:
            for name in ("stale-while-revalidate", "stale-if-error"):
                stale_seconds = cache_control.seconds(name)
                if stale_seconds:
                    return f"{name}={stale_seconds} lets a shared cache serve it stale"
        return None
    for name in sorted(FIELD_LIST_DIRECTIVES):
        qualified = [value for value in cache_control.values(name) if value is not None]
        if qualified:
            shown = format_directive(Directive(name, qualified[0]))
            return f"{shown} keeps only the named fields out of a shared cache"
    if lifetime_directive is not None:
        return f"{lifetime_directive}={lifetime} lets a shared cache keep it for {lifetime} s"
    return "needs no-store, private, no-cache or max-age=0"


def uncacheable_by_shared_cache(cache_control: CacheControl) -> bool:
    """True when no shared cache may store the response and reuse it."""
    return shared_cache_may_store(cache_control) is None


def parse_vary(*field_lines: str) -> frozenset[str]:
    """The lower-case field names a Vary header lists (``"*"`` kept as is)."""
    names = (_ascii_lower(element) for line in field_lines for element in _split_list(line))
    return frozenset(names)


def missing_from_vary(vary: frozenset[str], required: Iterable[str]) -> list[str]:
    """The ``required`` names (as given) that ``vary`` does not list; ``*``
    covers every name."""
    if "*" in vary:
        return []
    return [name for name in required if _ascii_lower(name) not in vary]
