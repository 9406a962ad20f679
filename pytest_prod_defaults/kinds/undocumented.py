"""``[undocumented]``: what is live but not in the manifest.

Each policy is ``fail`` (a failing item), ``warn`` (a pytest warning and a
line in the terminal summary) or ``off`` (no item). The table may be left
out: every policy is then ``warn``. Findings name headers, cookies,
attributes, middleware classes (a function middleware by its function),
options and fields, never their values (except application settings,
which hold no secrets).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from ..checks import BaseKind, Check, DocumentedHeader, Reads
from ..hookspecs import hookimpl
from ..manifest import Manifest
from ..model import Entry, HeaderName, Policy
from ..outcomes import Finding, NotApplicable, Undocumented
from ..set_cookie import cookie_names
from ..target import ProbeRequest, Target
from .config import ConfigEntry, ConfigKind, LiveConfig, shown_value
from .middleware import (
    MiddlewareEntry,
    MiddlewareKind,
    added_options,
    described_entry,
    descriptions,
    match_entries,
    user_middleware,
)
from .settings import APPLICATION_SETTINGS, NO_SETTING, SettingsKind, read_setting

if TYPE_CHECKING:
    from ..captured import CaptureContext, Captured, ProbedPaths
    from ..checks import ComparisonWithBases
    from ..manifest_text import ManifestWriter
    from .config import CapturedConfig
    from .middleware import CapturedMiddleware
    from .settings import CapturedSettings

FRAMING_HEADERS = frozenset(
    {"content-length", "content-type", "content-encoding", "transfer-encoding", "connection", "keep-alive", "date"}
)
POLICY_STRICTNESS = {"off": 0, "warn": 1, "fail": 2}
POLICIES = ("headers", "settings", "middleware", "config")


class UndocumentedPolicy(Entry):
    """What to do with what is live but the manifest does not mention: fail
    (a failing item), warn (a pytest warning and a summary line) or off."""

    headers: Policy = Field(
        default="warn", description="response headers and cookies on a probed path that no entry names"
    )
    settings: Policy = Field(default="warn", description="application attributes that `[settings]` omits")
    middleware: Policy = Field(default="warn", description="middleware with no entry, and options an entry omits")
    config: Policy = Field(default="warn", description="fields of the config object in neither `values` nor `secrets`")
    ignore_headers: list[HeaderName] = Field(
        default_factory=list, description="response headers never reported as undocumented"
    )

    def default_name(self) -> str:
        return "undocumented"


def outcome(policy: Policy, finding: Finding) -> list[Finding]:
    """Nothing found: nothing. Else fail, or hand the finding to ``warn``."""
    if not finding.items:
        return []
    if policy == "fail":
        raise Undocumented(finding)
    return [finding]


def path_part(path: str) -> str:
    return path.split("?", 1)[0]


def probed_paths(manifest: Manifest) -> list[str]:
    """Every path some entry requests with a plain GET, and ``[target].paths``,
    in manifest order: the same list in every process."""
    paths: dict[str, None] = dict.fromkeys(manifest.target.paths)
    for key, kind in manifest.kinds.items():
        for entry in manifest.entries(key):
            paths.update(dict.fromkeys(kind.probed_paths(entry, manifest)))
    return list(paths)


def documented_headers(manifest: Manifest) -> list[DocumentedHeader]:
    found: list[DocumentedHeader] = []
    for key, kind in manifest.kinds.items():
        for entry in manifest.entries(key):
            found.extend(kind.documented_headers(entry, manifest))
    return found


def cookies_expected(manifest: Manifest) -> dict[str, list[str]]:
    """For each path, the cookies an entry that requests it documents
    (a ``[[cookie]]`` entry's own path): where a renamed cookie shows."""
    expected: dict[str, list[str]] = {}
    for key, kind in manifest.kinds.items():
        for entry in manifest.entries(key):
            cookies = [header.cookie for header in kind.documented_headers(entry, manifest) if header.cookie]
            for path in kind.probed_paths(entry, manifest) if cookies else ():
                expected.setdefault(path, []).extend(cookies)
    return expected


def covers(documented: DocumentedHeader, name: str, path: str, cookie: str | None = None) -> bool:
    if documented.name.lower() != name or documented.cookie != cookie:
        return False
    return documented.paths is None or path_part(path) in {path_part(p) for p in documented.paths}


def undocumented_headers(
    policy: UndocumentedPolicy,
    path: str,
    documented: Sequence[DocumentedHeader],
    expected_cookies: Sequence[str],
    target: Target,
) -> list[Finding]:
    response = target.response(ProbeRequest(path))
    ignored = FRAMING_HEADERS | {name.lower() for name in policy.ignore_headers}
    found: list[str] = []
    for name in response.names():
        if name in ignored:
            continue
        if name == "set-cookie":
            # Set-Cookie is documented cookie by cookie, by [[cookie]] entries
            cookies = cookie_names(response.values(name))
            # A documented cookie gone where a new one appears reads as a
            # rename: say so, as that entry's own items fail too.
            gone = [cookie for cookie in dict.fromkeys(expected_cookies) if cookie not in cookies]
            instead = f"; documented {', '.join(gone)} not set here" if gone else ""
            for cookie in cookies:
                if not any(covers(header, name, path, cookie) for header in documented):
                    # Without "=", the text is the cookie's value: never shown.
                    named = f"cookie {cookie}" if cookie else "a cookie without a name"
                    found.append(f"set-cookie ({named}{instead})")
        elif not any(covers(header, name, path) for header in documented):
            found.append(name)
    what = f"response headers on {path} that no entry documents (GET answered {response.status})"
    return outcome(policy.headers, Finding(what, tuple(found)))


def documented_settings(manifest: Manifest) -> set[str]:
    """The application attributes ``[settings]`` speaks about: its keys
    other than the people fields."""
    table = manifest.section("settings")
    if table is None:
        return set()
    keys = set(table.model_fields_set) | set(table.model_extra or {})
    return keys - set(Entry.model_fields)


def undocumented_settings(policy: UndocumentedPolicy, manifest: Manifest, target: Target) -> list[Finding]:
    from starlette.applications import Starlette

    app = target.app()
    if not isinstance(app, Starlette):
        raise NotApplicable(
            f"settings need a FastAPI (or Starlette) application; {target.spec.app} is a {type(app).__name__}"
        )
    documented = documented_settings(manifest)
    found: list[str] = []
    for name in APPLICATION_SETTINGS:
        if name in documented:
            continue
        try:
            live = read_setting(app, name)
        except Exception as exc:
            found.append(f"{name} (unreadable: {type(exc).__name__})")
            continue
        if live is not NO_SETTING:  # max_body_size and form_limits: where this FastAPI has them
            found.append(f"{name} = {shown_value(live)}")
    return outcome(policy.settings, Finding("application settings that [settings] omits", tuple(found)))


def undocumented_middleware(policy: UndocumentedPolicy, manifest: Manifest, target: Target) -> list[Finding]:
    live = user_middleware(target, "undocumented middleware")
    entries: list[MiddlewareEntry] = manifest.entries("middleware")  # type: ignore[assignment]
    matched = match_entries(entries, live)
    owners = {index: entry for index, entry in zip(matched, entries, strict=True) if index is not None}
    # A middleware swapped for another class fails its entry as missing too:
    # name that entry beside the newcomer, so the two read as one change.
    missing = [described_entry(entry) for index, entry in zip(matched, entries, strict=True) if index is None]
    instead = f" (documented {', '.join(missing)} missing)" if missing else ""
    names = descriptions(live)
    found: list[str] = []
    for index, middleware in enumerate(live):
        entry = owners.get(index)
        if entry is None:
            found.append(names[index] + instead)
            continue
        documented = {*entry.options, *entry.secrets}
        found.extend(f"{names[index]} option {name}" for name in added_options(middleware) if name not in documented)
    return outcome(
        policy.middleware, Finding("middleware and options that no [[middleware]] entry documents", tuple(found))
    )


def undocumented_config(
    policy: UndocumentedPolicy, entry: ConfigEntry, live_config: LiveConfig, target: Target
) -> list[Finding]:
    settings = live_config.get(target)
    documented = set(entry.values) | set(entry.secrets)
    found = tuple(name for name in type(settings).model_fields if name not in documented)
    what = f"fields of {entry.object} in neither [config].values nor [config].secrets"
    return outcome(policy.config, Finding(what, found))


# -- prod-defaults init ---------------------------------------------------------------------


def left_to_others(context: CaptureContext, name: str, path: str) -> bool:
    """Response headers ``init`` writes no ``[[header]]`` for: framing,
    cookies (each a ``[[cookie]]``), and those another kind's captured
    entries document (a cache rule's Cache-Control on its paths)."""
    return name in FRAMING_HEADERS or name == "set-cookie" or context.claimed_on(name, path)


def intermittent_headers(context: CaptureContext) -> list[str]:
    """Headers sent on one request but not the next: ``ignore_headers``."""
    intermittent: dict[str, None] = {}
    for item in context.responses:
        for name in dict.fromkeys([*item.first.names(), *item.second.names()]):
            if left_to_others(context, name, item.path):
                continue
            if not item.first.values(name) or not item.second.values(name):
                intermittent[name] = None
    return list(intermittent)


class CapturedUndocumented:
    """``[undocumented]`` as captured: the headers to ignore, and with
    ``--extends`` what the bases already set (``bases_policies`` ``None``:
    no bases)."""

    # Not a dataclass: this module is imported on every checking run, and a
    # dataclass is built (its __init__ compiled) at import; init alone uses it.

    def __init__(self, intermittent: list[str]) -> None:
        self.intermittent = intermittent
        self.bases_policies: dict[str, str] | None = None
        self.bases_ignore: list[str] = []
        self.bases_have_config = False


def policies(captured: Captured[Any]) -> dict[str, tuple[str, str | None]]:
    """Every policy ``fail``, except where something live could not be
    written down (a secret, a None), which would fail forever."""
    result: dict[str, tuple[str, str | None]] = dict.fromkeys(POLICIES, ("fail", None))
    settings: CapturedSettings | None = captured.items.get(SettingsKind.key)
    middleware: list[CapturedMiddleware] | None = captured.items.get(MiddlewareKind.key)
    config: CapturedConfig | None = captured.items.get(ConfigKind.key)
    if settings is not None and settings.not_an_application:
        reason = f"{settings.not_an_application}: nothing to read"
        result["settings"] = ("off", reason)
        result["middleware"] = ("off", reason)
    if settings is not None and settings.left_out:
        result["settings"] = ("warn", "not fail: some settings could not be written down (see [settings])")
    if middleware and any(item.left_out for item in middleware):
        result["middleware"] = ("warn", "not fail: some options could not be written down (see [[middleware]])")
    if config and config.left_out:
        result["config"] = ("warn", "not fail: some fields could not be written down (see [config])")
    return result


def policies_to_write(captured: Captured[Any], found: CapturedUndocumented) -> dict[str, tuple[str, str | None]]:
    """:func:`policies`, less those the bases already set as strictly or
    more loosely (the live app passes theirs), and the config policy when
    only a base reads a config object."""
    written = policies(captured)
    if found.bases_policies is None:
        return written
    no_config = captured.items.get(ConfigKind.key) is None
    for name, (policy, _) in list(written.items()):
        theirs = found.bases_policies.get(name)
        as_strict = theirs is not None and POLICY_STRICTNESS[theirs] <= POLICY_STRICTNESS[policy]
        only_theirs = name == "config" and theirs is None and no_config and found.bases_have_config
        if as_strict or only_theirs:
            del written[name]
    return written


def headers_to_ignore(found: CapturedUndocumented) -> list[str]:
    """``ignore_headers`` to write: replacing the bases' list, so theirs too."""
    from ..inference import header_display_name

    names = [header_display_name(name) for name in found.intermittent]
    if found.bases_policies is None:
        return names
    theirs = {name.lower() for name in found.bases_ignore}
    if all(name.lower() in theirs for name in names):
        return []
    return list(dict.fromkeys([*found.bases_ignore, *names]))


class UndocumentedKind(BaseKind):
    key = "undocumented"
    many = False
    model = UndocumentedPolicy
    default_entry: ClassVar[bool] = True
    """Without an ``[undocumented]`` table every policy is ``warn``."""
    documents_defaults = False
    title = "What the manifest does not mention"
    section_title = "what the manifest does not mention"
    capture_order = 2
    """After every kind whose captured entries decide the policies."""

    def paths_to_capture(self, context: CaptureContext) -> ProbedPaths | None:
        """Paths the bases' entries request: the merged manifest probes them
        for undocumented headers, so what they answer is captured too."""
        from ..captured import ProbedPaths

        if context.bases is None:
            return None
        with_our_paths = dataclasses.replace(context.bases, target=context.target.spec)
        paths = [path for path in probed_paths(with_our_paths) if path not in context.request.paths]
        return ProbedPaths(tuple(paths), "requested by the bases' entries")

    def capture(self, context: CaptureContext) -> CapturedUndocumented:
        return CapturedUndocumented(intermittent_headers(context))

    def compare_table(
        self, entry: UndocumentedPolicy, items: CapturedUndocumented | None, comparison: ComparisonWithBases
    ) -> CapturedUndocumented:
        found = items if items is not None else CapturedUndocumented([])
        found.bases_policies = {name: getattr(entry, name) for name in POLICIES if name in entry.model_fields_set}
        found.bases_ignore = list(entry.ignore_headers)
        found.bases_have_config = comparison.bases.section(ConfigKind.key) is not None
        return found

    def write(self, out: ManifestWriter, items: CapturedUndocumented | None, captured: Captured[Any]) -> None:
        found = items if items is not None else CapturedUndocumented([])
        written = policies_to_write(captured, found)
        ignore = headers_to_ignore(found)
        if not written and not ignore:
            return
        out.section(self.section_title)
        out.table("undocumented")
        for key, (policy, comment) in written.items():
            out.key(key, policy, comment)
        if ignore:
            out.key("ignore_headers", ignore, "sent on one request and not the next")

    def summary(self, items: Any) -> None:
        return None

    def checks(self, entry: UndocumentedPolicy, manifest: Manifest) -> Iterable[Check]:
        def check(name: str, detail: str | None, run: Any, reads: Reads | None) -> Check:
            at = ("undocumented", name)
            return Check("undocumented", name, detail, entry, run, at=at, reads=reads)

        # Headers and settings only read responses and app attributes;
        # middleware and config may import the classes and settings they name.
        if entry.headers != "off":
            documented = documented_headers(manifest)
            expected = cookies_expected(manifest)
            for path in probed_paths(manifest):
                run = partial(undocumented_headers, entry, path, documented, expected.get(path, []))
                yield check("headers", path, run, Reads(ProbeRequest(path)))
        if entry.settings != "off":
            yield check("settings", None, partial(undocumented_settings, entry, manifest), Reads(app=True))
        if entry.middleware != "off":
            yield check("middleware", None, partial(undocumented_middleware, entry, manifest), None)
        config = manifest.section("config")
        if entry.config != "off" and isinstance(config, ConfigEntry):
            live = LiveConfig(config.object)
            yield check("config", None, partial(undocumented_config, entry, config, live), None)


@hookimpl
def pytest_prod_defaults_kinds() -> list[UndocumentedKind]:
    return [UndocumentedKind()]
