"""``[[cookie]]``: a response sets a cookie, with its documented attributes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator
from pydantic.json_schema import WithJsonSchema

from ..checks import BaseKind, Check, DocumentedHeader, Reads
from ..hookspecs import hookimpl
from ..manifest import Manifest
from ..model import Entry, HttpMethod, UrlPath
from ..outcomes import Drift
from ..set_cookie import SetCookie, cookie_names, cookies_named, parse_set_cookie, split_set_cookie
from ..target import ProbeRequest, ProbeResponse, Target

if TYPE_CHECKING:
    from ..captured import CaptureContext
    from ..manifest_text import ManifestWriter

_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


SAME_SITE_ANY_CASE = "^(?:[Ss][Tt][Rr][Ii][Cc][Tt]|[Ll][Aa][Xx]|[Nn][Oo][Nn][Ee])$"
SameSite = Annotated[
    Literal["strict", "lax", "none"],
    BeforeValidator(_lower),
    # Read in any case ("Strict", as Set-Cookie spells it): the schema says so
    # too, offering the lowercase spellings to complete.
    WithJsonSchema({"anyOf": [{"enum": ["strict", "lax", "none"]}, {"type": "string", "pattern": SAME_SITE_ANY_CASE}]}),
]


class CookieEntry(Entry):
    """A cookie a response sets, with its documented attributes: each
    attribute given is its own item; one left out is not compared."""

    name: str = Field(description="the cookie's name")
    path: UrlPath = Field(description="a path whose response sets the cookie")
    method: HttpMethod = Field(default="GET", description="the method of that request")
    secure: bool | None = Field(default=None, description="the Secure attribute is there (`true`) or not (`false`)")
    http_only: bool | None = Field(default=None, description="the HttpOnly attribute is there or not")
    same_site: SameSite | None = Field(default=None, description="the SameSite attribute, any case")
    max_age: int | None = Field(default=None, description="the Max-Age attribute, in seconds")
    domain: str | None = Field(default=None, description="the Domain attribute (a leading dot and case ignored)")
    path_attr: str | None = Field(default=None, description="the cookie's Path attribute")

    @field_validator("name")
    @classmethod
    def _cookie_name(cls, name: str) -> str:
        if not _COOKIE_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a cookie name (letters, digits and !#$%&'*+-.^_`|~ only)")
        return name


@dataclass(frozen=True)
class Attribute:
    """One documented attribute: its manifest key, its name in Set-Cookie,
    how to show the documented value and how to read the live one."""

    key: str
    label: str
    documented: Callable[[CookieEntry], str]
    live: Callable[[SetCookie], str]
    holds: Callable[[CookieEntry, SetCookie], bool]


def _flag(present: bool) -> str:
    return "present" if present else "absent"


def _shown(value: str | None, absent: str = "absent") -> str:
    if value is None:
        return absent
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _same_domain(documented: str, live: str | None) -> bool:
    return live is not None and documented.lower().lstrip(".") == live.lower().lstrip(".")


def _same_site_of(cookie: SetCookie) -> str:
    return _shown(cookie.get("samesite"), "absent (browsers differ on the default)")


def _max_age_of(cookie: SetCookie) -> str:
    if cookie.max_age is not None:
        return str(cookie.max_age)
    if cookie.has("max-age"):
        return f"{cookie.get('max-age')!r} (not a number, ignored by browsers)"
    if cookie.has("expires"):
        return "absent (Expires given instead)"
    return "absent (a session cookie)"


def _flag_attribute(key: str, label: str) -> Attribute:
    """A valueless attribute (Secure, HttpOnly): documented true or false,
    live present or absent."""
    name = label.lower()
    return Attribute(
        key,
        label,
        lambda entry: _flag(bool(getattr(entry, key))),
        lambda cookie: _flag(cookie.has(name)),
        lambda entry, cookie: cookie.has(name) == getattr(entry, key),
    )


ATTRIBUTES = (
    _flag_attribute("secure", "Secure"),
    _flag_attribute("http_only", "HttpOnly"),
    Attribute(
        "same_site",
        "SameSite",
        lambda entry: repr(entry.same_site),
        _same_site_of,
        lambda entry, cookie: (cookie.get("samesite") or "").strip().lower() == entry.same_site,
    ),
    Attribute(
        "max_age",
        "Max-Age",
        lambda entry: str(entry.max_age),
        _max_age_of,
        lambda entry, cookie: cookie.max_age == entry.max_age,
    ),
    Attribute(
        "domain",
        "Domain",
        lambda entry: repr(entry.domain),
        lambda cookie: _shown(cookie.get("domain"), "absent (host-only)"),
        lambda entry, cookie: _same_domain(entry.domain or "", cookie.get("domain")),
    ),
    Attribute(
        "path_attr",
        "Path",
        lambda entry: repr(entry.path_attr),
        lambda cookie: _shown(cookie.get("path")),
        lambda entry, cookie: cookie.get("path") == entry.path_attr,
    ),
)


def documented_attributes(entry: CookieEntry) -> list[Attribute]:
    return [attribute for attribute in ATTRIBUTES if getattr(entry, attribute.key) is not None]


def _answered(entry: CookieEntry, response: ProbeResponse) -> str:
    return f"{entry.method} {entry.path} answered {response.status}"


def set_cookies(entry: CookieEntry, target: Target) -> tuple[ProbeResponse, list[SetCookie]]:
    """The response of the entry's request, and the Set-Cookie headers in it
    for the entry's cookie; :class:`Drift` when there are none."""
    response = target.response(ProbeRequest(entry.path, entry.method))
    cookies = cookies_named(entry.name, response.values("set-cookie"))
    if not cookies:
        # A renamed cookie also fails undocumented:headers; name what is set
        # so the two failures read as one change.
        others = cookie_names(response.values("set-cookie"))
        if not others:
            sets = "it sets no cookie"
        else:
            sets = f"it sets {'cookie' if len(others) == 1 else 'cookies'} {', '.join(others)}"
        raise Drift(
            f"cookie {entry.name}",
            f"set by {entry.method} {entry.path}",
            "not set",
            f"{_answered(entry, response)}; {sets}",
        )
    return response, cookies


def check_set(entry: CookieEntry, target: Target) -> None:
    set_cookies(entry, target)


def check_attribute(entry: CookieEntry, attribute: Attribute, target: Target) -> None:
    response, cookies = set_cookies(entry, target)
    for cookie in cookies:
        if attribute.holds(entry, cookie):
            continue
        detail = _answered(entry, response)
        if len(cookies) > 1:
            detail += f"; the cookie is set {len(cookies)} times, each is checked"
        if cookie.deletion:
            detail += f"; this Set-Cookie deletes the cookie ({cookie.deletion})"
        raise Drift(
            f"cookie {entry.name} {attribute.label}", attribute.documented(entry), attribute.live(cookie), detail
        )


class CapturedCookie:
    """A cookie as ``init`` found it: where it is set, and its attributes (never its value)."""

    # Not a dataclass: this module is imported on every checking run, and a
    # dataclass is built (its __init__ compiled) at import; init alone uses it.

    def __init__(self, name: str, path: str, attributes: dict[str, Any]) -> None:
        self.name = name
        self.path = path
        self.attributes = attributes


def capture_cookies(context: CaptureContext) -> list[CapturedCookie]:
    """The first response that sets each cookie, with the attributes it set
    (never its value)."""
    cookies: dict[str, CapturedCookie] = {}
    for item in context.responses:
        for header in split_set_cookie(item.first.values("set-cookie")):
            cookie = parse_set_cookie(header)
            if cookie.name in cookies:
                continue
            if not _COOKIE_NAME.fullmatch(cookie.name):
                unusable = f"GET {item.path} sets a cookie with an unusable name {cookie.name!r}: not written"
                context.notes.append(unusable)
                continue
            attributes: dict[str, Any] = {
                "secure": cookie.has("secure"),
                "http_only": cookie.has("httponly"),
            }
            same_site = (cookie.get("samesite") or "").strip().lower()
            if same_site in ("strict", "lax", "none"):
                attributes["same_site"] = same_site
            if cookie.max_age is not None:
                attributes["max_age"] = cookie.max_age
            if cookie.get("domain"):
                attributes["domain"] = cookie.get("domain")
            if cookie.get("path") is not None:
                attributes["path_attr"] = cookie.get("path")
            cookies[cookie.name] = CapturedCookie(cookie.name, item.path, attributes)
    return list(cookies.values())


class CookieKind(BaseKind):
    key = "cookie"
    many = True
    model = CookieEntry
    title = "Cookies"
    section_title = "cookies (never their values)"

    def checks(self, entry: CookieEntry, manifest: Manifest) -> Iterable[Check]:
        def check(detail: str, run: Callable[[Target], None]) -> Check:
            return Check("cookie", entry.name, detail, entry, run, reads=Reads(ProbeRequest(entry.path, entry.method)))

        yield check("set", partial(check_set, entry))
        for attribute in documented_attributes(entry):
            yield check(attribute.key, partial(check_attribute, entry, attribute))

    def probed_paths(self, entry: CookieEntry, manifest: Manifest) -> Iterable[str]:
        return [entry.path] if entry.method == "GET" else []

    def documented_headers(self, entry: CookieEntry, manifest: Manifest) -> Iterable[DocumentedHeader]:
        return [DocumentedHeader("set-cookie", paths=None, cookie=entry.name)]

    def capture(self, context: CaptureContext) -> list[CapturedCookie]:
        return capture_cookies(context)

    def write_entry(self, out: ManifestWriter, cookie: CapturedCookie) -> None:
        out.table("cookie", many=True)
        out.key("name", cookie.name)
        out.key("path", cookie.path, "a path whose response sets it")
        for key, value in cookie.attributes.items():
            out.key(key, value)
        out.people()

    def summary(self, items: Sequence[CapturedCookie] | None) -> str | None:
        from ..captured import counted

        return counted(len(items or ()), "cookie")


@hookimpl
def pytest_prod_defaults_kinds() -> list[CookieKind]:
    return [CookieKind()]
