"""``[[header]]``: a response header equals, contains, matches, or is absent."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Annotated

from pydantic import Field, model_validator
from pydantic.json_schema import WithJsonSchema

from ..checks import BaseKind, Check, DocumentedHeader
from ..hookspecs import hookimpl
from ..manifest import Manifest
from ..model import Entry, HeaderName, Regex, UrlPath
from ..outcomes import Drift
from ..redaction import REDACTED, secret_name
from ..target import ProbeRequest, Target

MATCHERS = ("equals", "contains", "matches", "absent")


class HeaderEntry(Entry):
    """A response header equals, contains or matches a value, or is absent.

    Exactly one of ``equals``, ``contains``, ``matches``, ``absent = true``.
    """

    name: HeaderName = Field(description="the header's name, any case")
    equals: str | None = Field(default=None, description="the whole value (spaces at either end ignored)")
    contains: Annotated[
        list[str] | None,
        # For editors: one string is accepted too (see the validator below).
        WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
    ] = Field(default=None, description="strings that must each occur in the value (one string alone is fine)")
    matches: Regex | None = Field(
        default=None, description="a Python regular expression the whole value must match (a full match)"
    )
    absent: bool | None = Field(default=None, description="`true`: the header must not be sent")
    paths: list[UrlPath] | None = Field(default=None, description="the paths to check, instead of `[target].paths`")

    @model_validator(mode="before")
    @classmethod
    def _contains_may_be_one_string(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("contains"), str):
            data = {**data, "contains": [data["contains"]]}
        return data

    @model_validator(mode="after")
    def _exactly_one_matcher(self) -> HeaderEntry:
        given = [m for m in MATCHERS if getattr(self, m) not in (None, False)]
        if self.absent is False:
            raise ValueError("absent = false says nothing; use equals, contains or matches")
        if len(given) != 1:
            listed = " and ".join(given) if given else "none"
            raise ValueError(
                f"a header entry needs exactly one of equals, contains, matches, absent = true (got {listed})"
            )
        return self

    def documented(self) -> str:
        if self.absent:
            return "absent"
        if self.equals is not None:
            return repr(self.equals)
        if self.contains is not None:
            return "containing " + ", ".join(repr(c) for c in self.contains)
        return f"matching {self.matches!r}"


def show_value(name: str, value: str) -> str:
    """A live header value as it may appear in a report: never one of a
    header named as a credential (``Set-Cookie``, ``X-Api-Key``); the
    target's redactor hides any other secret it carries."""
    return REDACTED if secret_name(name) else repr(value)


MATCH_SECONDS = 1.0
"""Longest a ``matches`` pattern may take on one header value: a pattern that
backtracks catastrophically ((a|a)*$) must not hang the run."""


def matches(pattern: str, value: str, what: str) -> bool:
    """``pattern`` matches the whole of ``value``, decided within
    :data:`MATCH_SECONDS`."""
    import regex

    try:
        return regex.fullmatch(pattern, value, timeout=MATCH_SECONDS) is not None
    except TimeoutError:
        raise Drift(
            what,
            f"matching {pattern!r}",
            "undecided",
            f"the pattern took over {MATCH_SECONDS:g} s on a {len(value)}-character value: it backtracks"
            " catastrophically (nested repetition such as (a+)+ or (a|a)*); simplify it",
        ) from None


def check_header(entry: HeaderEntry, path: str, target: Target) -> None:
    response = target.response(ProbeRequest(path))
    values = response.values(entry.name)
    what = f"header {entry.name} on {path}"
    status = f"GET {path} answered {response.status}"
    if entry.absent:
        if values:
            raise Drift(what, "absent", show_value(entry.name, values[0]), status)
        return
    if not values:
        raise Drift(what, entry.documented(), "missing", status)
    for value in values:
        if entry.equals is not None:
            holds = value.strip() == entry.equals.strip()
        elif entry.contains is not None:
            holds = all(part in value for part in entry.contains)
        else:
            assert entry.matches is not None
            holds = matches(entry.matches, value, what)
        if not holds:
            detail = status if len(values) == 1 else f"{status}; sent {len(values)} times, each value is checked"
            raise Drift(what, entry.documented(), show_value(entry.name, value), detail)


class HeaderKind(BaseKind):
    key = "header"
    many = True
    model = HeaderEntry

    def paths(self, entry: HeaderEntry, manifest: Manifest) -> list[str]:
        return list(entry.paths if entry.paths is not None else manifest.target.paths)

    def checks(self, entry: HeaderEntry, manifest: Manifest) -> Iterable[Check]:
        for path in self.paths(entry, manifest):
            yield Check("header", entry.name, path, entry, partial(check_header, entry, path), reads_only_target=True)

    def probed_paths(self, entry: HeaderEntry, manifest: Manifest) -> Iterable[str]:
        return self.paths(entry, manifest)

    def documented_headers(self, entry: HeaderEntry, manifest: Manifest) -> Iterable[DocumentedHeader]:
        return [DocumentedHeader(entry.name.lower())]


@hookimpl
def pytest_prod_defaults_kinds() -> list[HeaderKind]:
    return [HeaderKind()]
