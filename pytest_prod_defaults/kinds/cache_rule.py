"""``[[cache_rule]]``: which responses a shared cache may keep, and for how long.

Items of a rule named ``catalog``, in this order, for each ``cached`` example
(say ``/catalog``):

- ``cache_rule:catalog[/catalog]``: the response carries ``cache_control``
  (compared as a set of directives);
- ``cache_rule:catalog[/catalog vary]``: its Vary lists every ``vary`` name
  (only when ``vary`` is given);
- ``cache_rule:catalog[/catalog cookie session]``,
  ``cache_rule:catalog[/catalog header Authorization]``,
  ``cache_rule:catalog[/catalog query preview]``: requested again with that
  bypass condition, it is uncacheable by a shared cache;

then for each ``not_cached`` example, ``cache_rule:catalog[/catalog?preview=1]``:
it is uncacheable by a shared cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import AfterValidator, Field, model_validator

from ..cache_control import (
    CacheControl,
    cache_control_problems,
    describe_difference,
    format_cache_control,
    is_token,
    missing_from_vary,
    parse_cache_control,
    parse_vary,
    shared_cache_may_store,
    uncacheable_by_shared_cache,
)
from ..checks import BaseKind, Check, DocumentedHeader, Reads
from ..hookspecs import hookimpl
from ..manifest import Manifest
from ..model import Entry, HeaderName, Strict, UrlPath
from ..outcomes import Drift
from ..target import ProbeRequest, ProbeResponse, Target

if TYPE_CHECKING:
    from ..captured import CaptureContext
    from ..manifest_text import ManifestWriter

CACHE_HEADERS = ("cache-control", "vary", "expires", "pragma")
"""Response headers a cache rule documents on the paths it covers."""
UNCACHEABLE = "uncacheable by a shared cache"
DUMMY_VALUE = "x"
"""Value of the bypass cookie or header: only its presence matters."""


def _token(kind: str) -> AfterValidator:
    def check(value: str) -> str:
        if not is_token(value):
            raise ValueError(f"{value!r} is not a valid {kind} (letters, digits and !#$%&'*+-.^_`|~ only)")
        return value

    return AfterValidator(check)


def _query_name(value: str) -> str:
    if not value or value != value.strip() or any(c in value for c in "&=#?"):
        raise ValueError(f"{value!r} is not a query parameter name (no spaces, '&', '=', '#' or '?')")
    return value


def _documented_cache_control(value: str) -> str:
    problems = cache_control_problems(parse_cache_control(value))
    if problems:
        raise ValueError("; ".join(problems))
    return value


CookieName = Annotated[str, _token("cookie name")]
QueryName = Annotated[str, AfterValidator(_query_name)]
DocumentedCacheControl = Annotated[str, AfterValidator(_documented_cache_control)]


class Bypass(Strict):
    """Request conditions under which a cached example must not be cached."""

    cookies: list[CookieName] = Field(
        default_factory=list,
        description="cookie names: each `cached` example, requested again with that cookie, must be uncacheable",
    )
    headers: list[HeaderName] = Field(
        default_factory=list, description="request header names: likewise, the header sent with a dummy value"
    )
    query: list[QueryName] = Field(default_factory=list, description="query parameter names: likewise")

    def conditions(self) -> list[tuple[str, str]]:
        """``(kind, name)`` pairs in item order: cookies, headers, query."""
        return (
            [("cookie", name) for name in self.cookies]
            + [("header", name) for name in self.headers]
            + [("query", name) for name in self.query]
        )


class CacheRuleEntry(Entry):
    """Which responses a shared cache may keep, and for how long: examples
    that carry a Cache-Control, and examples that must be uncacheable."""

    name: str = Field(description="names the rule's items: `cache_rule:<name>[<example>]`")
    cache_control: DocumentedCacheControl | None = Field(
        default=None, description="the Cache-Control every `cached` example carries, compared as a set of directives"
    )
    cached: list[UrlPath] = Field(default_factory=list, description="examples that must carry `cache_control`")
    not_cached: list[UrlPath] = Field(
        default_factory=list, description="examples that must be uncacheable by a shared cache"
    )
    vary: list[HeaderName] | None = Field(
        default=None, description="names the `cached` examples' Vary must list (others are fine; `*` covers all)"
    )
    bypass: Bypass = Field(
        default_factory=Bypass,
        description="conditions under which each `cached` example, requested again, must be uncacheable",
    )

    @model_validator(mode="after")
    def _examples_fit_the_rule(self) -> CacheRuleEntry:
        if not self.cached and not self.not_cached:
            raise ValueError("a cache rule needs examples: list paths under 'cached' and/or 'not_cached'")
        if self.cached and self.cache_control is None:
            raise ValueError("'cached' examples need 'cache_control': the Cache-Control they must carry")
        if not self.cached:
            # Each of these says something about cached examples only; with
            # none, it would be documentation that nothing checks.
            for key, given in (
                ("cache_control", self.cache_control is not None),
                ("vary", bool(self.vary)),
                ("bypass", bool(self.bypass.conditions())),
            ):
                if given:
                    raise ValueError(f"'{key}' applies to 'cached' examples, and this rule has none")
        for key, paths in (("cached", self.cached), ("not_cached", self.not_cached)):
            repeated = sorted({path for path in paths if paths.count(path) > 1})
            if repeated:
                raise ValueError(f"'{key}' lists {', '.join(repeated)} more than once")
        both = sorted(set(self.cached) & set(self.not_cached))
        if both:
            raise ValueError(f"{', '.join(both)} cannot be both cached and not_cached")
        conditions = self.bypass.conditions()
        repeated_conditions = sorted({f"{k} {n}" for k, n in conditions if conditions.count((k, n)) > 1})
        if repeated_conditions:
            raise ValueError(f"'bypass' lists {', '.join(repeated_conditions)} more than once")
        return self

    def documented_cache_control(self) -> CacheControl:
        assert self.cache_control is not None
        return parse_cache_control(self.cache_control)


def bypass_request(path: str, condition: str, name: str) -> ProbeRequest:
    """``path`` requested with a cookie, a header or a query parameter named
    ``name``; its value is a dummy, as only presence matters."""
    if condition == "cookie":
        return ProbeRequest(path, headers=(("Cookie", f"{name}={DUMMY_VALUE}"),))
    if condition == "header":
        return ProbeRequest(path, headers=((name, DUMMY_VALUE),))
    parts = urlsplit(path)
    parameter = f"{quote(name, safe='')}=1"
    query = f"{parts.query}&{parameter}" if parts.query else parameter
    return ProbeRequest(urlunsplit(parts._replace(query=query)))


def _live_cache_control(response: ProbeResponse) -> tuple[list[str], CacheControl]:
    lines = response.values("cache-control")
    return lines, parse_cache_control(*lines)


def _show(lines: list[str], header: str) -> str:
    return repr(", ".join(line.strip() for line in lines)) if lines else f"no {header}"


def _with_status(detail: str | None, request: ProbeRequest, response: ProbeResponse) -> str | None:
    # An error answer usually means the example path is wrong, not the policy.
    if response.status >= 400:
        answered = f"GET {request.path} answered {response.status}"
        return f"{detail}; {answered}" if detail else answered
    return detail


def _what(entry: CacheRuleEntry, subject: str) -> str:
    return f'cache_rule "{entry.name}" {subject}'


def check_cached(entry: CacheRuleEntry, path: str, target: Target) -> None:
    request = ProbeRequest(path)
    response = target.response(request)
    lines, live = _live_cache_control(response)
    documented = entry.documented_cache_control()
    if live == documented:
        return
    detail = describe_difference(documented, live) if lines else None
    assert entry.cache_control is not None
    raise Drift(
        _what(entry, path),
        repr(entry.cache_control.strip()),
        _show(lines, "Cache-Control"),
        _with_status(detail, request, response),
    )


def check_uncacheable(entry: CacheRuleEntry, subject: str, request: ProbeRequest, target: Target) -> None:
    response = target.response(request)
    lines, live = _live_cache_control(response)
    reason = shared_cache_may_store(live)
    if reason is None:
        return
    raise Drift(
        _what(entry, subject), UNCACHEABLE, _show(lines, "Cache-Control"), _with_status(reason, request, response)
    )


def check_vary(entry: CacheRuleEntry, path: str, target: Target) -> None:
    assert entry.vary
    request = ProbeRequest(path)
    response = target.response(request)
    lines = response.values("vary")
    missing = missing_from_vary(parse_vary(*lines), entry.vary)
    if not missing:
        return
    raise Drift(
        _what(entry, f"Vary on {path}"),
        repr(", ".join(entry.vary)),
        _show(lines, "Vary"),
        _with_status(f"{', '.join(missing)} missing", request, response),
    )


class CapturedCacheRule:
    """A rule as ``init`` found it: a Cache-Control and the paths that carry it."""

    # Not a dataclass: this module is imported on every checking run, and a
    # dataclass is built (its __init__ compiled) at import; init alone uses it.

    def __init__(self, name: str, cache_control: str | None, vary: list[str] | None = None) -> None:
        self.name = name
        self.cache_control = cache_control
        self.cached: list[str] = []
        self.not_cached: list[str] = []
        self.vary = vary


def capture_cache_rules(context: CaptureContext) -> list[CapturedCacheRule]:
    """A rule per distinct cacheable Cache-Control (with its Vary), and one
    for the paths no shared cache may keep. Paths whose Cache-Control is
    missing, unreadable or different on the second request get no rule: their
    headers are documented as headers."""
    cached: dict[tuple[str, tuple[str, ...]], CapturedCacheRule] = {}
    not_cached = CapturedCacheRule("not cached by shared caches", None)
    for item in context.responses:
        lines = item.first.values("cache-control")
        if not lines:
            continue
        live = parse_cache_control(*lines)
        if live != parse_cache_control(*item.second.values("cache-control")) or cache_control_problems(live):
            continue
        if uncacheable_by_shared_cache(live):
            not_cached.not_cached.append(item.path)
            continue
        vary = [name.strip() for line in item.first.values("vary") for name in line.split(",") if name.strip()]
        if vary and not all(is_token(name) for name in vary):
            continue
        key = (format_cache_control(live), tuple(sorted(parse_vary(*item.first.values("vary")))))
        rule = cached.get(key)
        if rule is None:
            raw = ", ".join(line.strip() for line in lines)
            rule = cached[key] = CapturedCacheRule(f"cached: {raw}", raw, vary=list(dict.fromkeys(vary)) or None)
        rule.cached.append(item.path)
    rules = list(cached.values())
    if not_cached.not_cached:
        rules.append(not_cached)
    return rules


def cached_paths(rules: Sequence[CapturedCacheRule]) -> set[str]:
    """The paths captured rules cover: their cache headers are the rules',
    not ``[[header]]`` entries."""
    return {path for rule in rules for path in (*rule.cached, *rule.not_cached)}


class CacheRuleKind(BaseKind):
    key = "cache_rule"
    many = True
    model = CacheRuleEntry
    title = "Cache rules"
    section_title = "caching: the Cache-Control each path answered with"
    capture_order = -1
    """Before headers: the cache headers of the paths a rule covers are the rule's (it claims them)."""

    def checks(self, entry: CacheRuleEntry, manifest: Manifest) -> Iterable[Check]:
        def check(detail: str, run: Callable[[Target], None], request: ProbeRequest) -> Check:
            return Check("cache_rule", entry.name, detail, entry, run, reads=Reads(request))

        for path in entry.cached:
            yield check(path, partial(check_cached, entry, path), ProbeRequest(path))
            if entry.vary:
                yield check(f"{path} vary", partial(check_vary, entry, path), ProbeRequest(path))
            for condition, name in entry.bypass.conditions():
                subject = f"{path} with {condition} {name}"
                request = bypass_request(path, condition, name)
                yield check(f"{path} {condition} {name}", partial(check_uncacheable, entry, subject, request), request)
        for path in entry.not_cached:
            request = ProbeRequest(path)
            yield check(path, partial(check_uncacheable, entry, path, request), request)

    def probed_paths(self, entry: CacheRuleEntry, manifest: Manifest) -> Iterable[str]:
        return [*entry.cached, *entry.not_cached]

    def documented_headers(self, entry: CacheRuleEntry, manifest: Manifest) -> Iterable[DocumentedHeader]:
        # Both the example as written and its path without the query, however
        # the undocumented-headers check keys its probes.
        examples = [*entry.cached, *entry.not_cached]
        paths = frozenset(examples) | frozenset(urlsplit(example).path for example in examples)
        return [DocumentedHeader(name, paths=paths) for name in CACHE_HEADERS]

    def capture(self, context: CaptureContext) -> list[CapturedCacheRule]:
        rules = capture_cache_rules(context)
        context.claim(CACHE_HEADERS, cached_paths(rules))
        return rules

    def documents_less(self, entry: CacheRuleEntry, items: Sequence[CapturedCacheRule]) -> str | None:
        """Example paths of the captured rule the inherited one does not cover."""
        covered = {*entry.cached, *entry.not_cached}
        for item in items:
            missing = [path for path in (*item.cached, *item.not_cached) if path not in covered]
            if missing:
                return f"cache rule {entry.display_name()}: does not cover {', '.join(missing)}"
        return None

    def write_entry(self, out: ManifestWriter, rule: CapturedCacheRule) -> None:
        out.table("cache_rule", many=True)
        out.key("name", rule.name, 'TODO: name the rule for people, e.g. "static assets are immutable"')
        if rule.cache_control is not None:
            out.key("cache_control", rule.cache_control, "compared as a set of directives")
        if rule.cached:
            out.key("cached", rule.cached)
        if rule.not_cached:
            out.key("not_cached", rule.not_cached, "no shared cache may keep these")
        if rule.vary:
            out.key("vary", rule.vary)
        if rule.cached:
            out.commented_key(
                "bypass",
                {"cookies": ["session"], "headers": ["Authorization"]},
                "requests with these must never be served from a shared cache",
            )
        out.people()

    def summary(self, items: Sequence[Any] | None) -> str | None:
        from ..captured import counted

        return counted(len(items or ()), "cache rule")


@hookimpl
def pytest_prod_defaults_kinds() -> list[CacheRuleKind]:
    return [CacheRuleKind()]
