"""What was captured, written as the manifest ``prod-defaults init`` saves.

Commented TOML for the person who fills it in: each section under a heading,
TODOs for why, owner and rollback, what was left out and why, and with
``--extends`` only what differs from the bases, as the
:class:`~pytest_prod_defaults.amend.Inheritance` says. Apart from the probing
so the text can change without touching how the app is asked; values go
through :func:`~pytest_prod_defaults.docs.toml_line` (``tomli_w``). Nothing
here knows pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .amend import CAPTURED_LISTS, Amendment
from .capture import (
    Captured,
    CapturedCacheRule,
    CapturedCookie,
    CapturedHeader,
    CapturedHealthCheck,
    CapturedMiddleware,
    CapturedUpload,
    LeftOut,
)
from .docs import one_line, toml_line
from .extends import IDENTITY_KEYS, identity
from .inference import header_display_name
from .sizes import format_size

POLICY_STRICTNESS = {"off": 0, "warn": 1, "fail": 2}
TODO_PEOPLE = (
    ("why", "TODO: why does this default exist?"),
    ("owner", "TODO: who decides it? (left empty: [service].owner)"),
    ("rollback", "TODO: how is a change to it undone?"),
)


class ManifestWriter:
    """TOML text assembled line by line: tables, commented keys, and values
    written by ``tomli_w`` (through :func:`~pytest_prod_defaults.docs.toml_line`)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.leading: list[str] = []

    def comment(self, *texts: str) -> None:
        self.lines.extend(f"# {one_line(text)}".rstrip() for text in texts)

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def section(self, title: str) -> None:
        self.blank()
        self.lines.append(f"# -- {title} ".ljust(78, "-"))
        self.blank()

    def lead(self, text: str) -> None:
        """A comment on the next table, written right above it."""
        self.leading.append(text)

    def listed(self, title: str, items: Sequence[str], width: int = 100) -> None:
        """``title`` and the ``items`` as comment lines, never breaking an item."""
        lines = [f"{title}:"]
        for item in items:
            if len(lines[-1]) + len(item) + 3 > width - 2:
                lines.append(" ")
            lines[-1] += f" {item},"
        lines[-1] = lines[-1].rstrip(",")
        self.comment(*lines)

    def table(self, name: str, many: bool = False) -> None:
        self.blank()
        self.comment(*self.leading)
        self.leading.clear()
        self.lines.append(f"[[{name}]]" if many else f"[{name}]")

    def key(self, key: str, value: Any, comment: str | None = None) -> None:
        line = toml_line(key, value)
        self.lines.append(f"{line}  # {one_line(comment)}" if comment else line)

    def commented_key(self, key: str, value: Any, comment: str) -> None:
        self.lines.append(f"# {toml_line(key, value)}  # {one_line(comment)}")

    def people(self, inherited: Iterable[str] = ()) -> None:
        """The TODO people fields, except those a base gives this table."""
        for key, comment in TODO_PEOPLE:
            if key not in inherited:
                self.key(key, "", comment)

    def left_out(self, items: Sequence[LeftOut], where: str) -> None:
        for item in items:
            self.comment(f"left out of {where}: {item.name} ({item.reason})")

    def text(self) -> str:
        return "\n".join(self.lines).rstrip("\n") + "\n"


def policies(captured: Captured) -> dict[str, tuple[str, str | None]]:
    """``[undocumented]``: every policy ``fail``, except where something live
    could not be written down (a secret, a None), which would fail forever."""
    result: dict[str, tuple[str, str | None]] = {
        "headers": ("fail", None),
        "settings": ("fail", None),
        "middleware": ("fail", None),
        "config": ("fail", None),
    }
    if captured.not_an_application:
        reason = f"{captured.not_an_application}: nothing to read"
        result["settings"] = ("off", reason)
        result["middleware"] = ("off", reason)
    if captured.settings_left_out:
        result["settings"] = ("warn", "not fail: some settings could not be written down (see [settings])")
    if captured.middleware and any(item.left_out for item in captured.middleware):
        result["middleware"] = ("warn", "not fail: some options could not be written down (see [[middleware]])")
    if captured.config and captured.config.left_out:
        result["config"] = ("warn", "not fail: some fields could not be written down (see [config])")
    return result


def undocumented_policies(captured: Captured) -> dict[str, tuple[str, str | None]]:
    """The ``[undocumented]`` policies to write: :func:`policies`, less those
    the bases already set as strictly or more loosely (the live app passes
    theirs), and the config policy when only a base reads a config object."""
    written = policies(captured)
    inheritance = captured.inheritance
    if inheritance is None:
        return written
    for name, (policy, _) in list(written.items()):
        theirs = inheritance.policies.get(name)
        as_strict = theirs is not None and POLICY_STRICTNESS[theirs] <= POLICY_STRICTNESS[policy]
        only_theirs = name == "config" and theirs is None and captured.config is None and inheritance.has_config
        if as_strict or only_theirs:
            del written[name]
    return written


def ignored_headers(captured: Captured) -> list[str]:
    """``ignore_headers`` to write: replacing the bases' list, so theirs too."""
    names = [header_display_name(name) for name in captured.intermittent_headers]
    inheritance = captured.inheritance
    if inheritance is None:
        return names
    theirs = {name.lower() for name in inheritance.ignore_headers}
    if all(name.lower() in theirs for name in names):
        return []
    return list(dict.fromkeys([*inheritance.ignore_headers, *names]))


def write_header(out: ManifestWriter, header: CapturedHeader) -> None:
    out.table("header", many=True)
    out.key("name", header.name)
    out.key(header.matcher, header.value, header.note)
    if header.paths is not None:
        out.key("paths", header.paths, "sent like this on these paths only")
    out.people()


def write_cookie(out: ManifestWriter, cookie: CapturedCookie) -> None:
    out.table("cookie", many=True)
    out.key("name", cookie.name)
    out.key("path", cookie.path, "a path whose response sets it")
    for key, value in cookie.attributes.items():
        out.key(key, value)
    out.people()


def write_health_check(out: ManifestWriter, health: CapturedHealthCheck) -> None:
    out.table("health_check", many=True)
    out.key("path", health.path)
    out.key("status", health.status)
    if health.content_type:
        out.key("content_type", health.content_type)
    if health.json_body:
        out.key("json", health.json_body, "the keys that answered the same twice")
    out.commented_key("max_ms", 250, "a latency budget: median of `samples` requests")
    out.people()


def write_upload(out: ManifestWriter, upload: CapturedUpload) -> None:
    out.table("upload", many=True)
    out.key("name", upload.name)
    out.key("path", upload.path)
    out.key("max_bytes", upload.max_bytes, format_size(upload.max_bytes))
    out.key("over_limit_status", upload.over_limit_status, "the answer to one byte more")
    if upload.skip:
        out.key("skip", upload.skip)
    out.people()


def write_cache_rule(out: ManifestWriter, rule: CapturedCacheRule) -> None:
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


def write_middleware(out: ManifestWriter, middleware: CapturedMiddleware) -> None:
    out.table("middleware", many=True)
    out.key("class", middleware.class_name)
    out.key("options", middleware.options, "as added; functions and classes by dotted path")
    out.left_out(middleware.left_out, "options")
    out.people()


def write_amendment(out: ManifestWriter, amendment: Amendment) -> None:
    if amendment.skip is None:
        out.lead(f"inherited unchanged from {amendment.where}: written to keep the order of entries of one name")
    else:
        out.lead(f"inherited from {amendment.where}")
    out.table(amendment.kind, many=amendment.key is not None)
    if amendment.key is not None:
        out.key(amendment.key, amendment.value)
    if amendment.skip is not None:
        out.key("skip", amendment.skip)


ITEM_WRITERS: dict[str, Callable[[ManifestWriter, Any], None]] = {
    "header": write_header,
    "cookie": write_cookie,
    "health_check": write_health_check,
    "upload": write_upload,
    "cache_rule": write_cache_rule,
    "middleware": write_middleware,
}


def write_entries(out: ManifestWriter, captured: Captured, kind: str, items: Sequence[Any], title: str | None) -> None:
    """A section of array entries: first those an inheritance writes in a
    fixed order, then the captured ones, each replacing an inherited entry
    saying which and why."""
    inheritance = captured.inheritance
    slots = inheritance.slots.get(kind, []) if inheritance else []
    if not slots and not items:
        return
    if title is not None:
        out.section(title)
    attribute = CAPTURED_LISTS[kind][1]
    noted: set[str] = set()
    for item in [*slots, *items]:
        if isinstance(item, Amendment):
            write_amendment(out, item)
            continue
        name = identity(kind, {IDENTITY_KEYS.get(kind, "name"): getattr(item, attribute)})
        replaced = inheritance.replaced.get((kind, name)) if inheritance and name is not None else None
        if replaced and name not in noted:
            noted.add(str(name))
            out.lead(f"replaces the inherited entry of {replaced[1]}")
        ITEM_WRITERS[kind](out, item)


def write_manifest(captured: Captured) -> str:
    """The manifest of what was captured, as commented TOML; with
    ``--extends``, only what differs from the bases."""
    request = captured.request
    inheritance = captured.inheritance
    out = ManifestWriter()
    out.comment(
        f"Production defaults of {captured.service_name}, as the live app showed them to `prod-defaults init`.",
        "Each value is what the app did when it was captured: keep what you mean to promise, tighten",
        "what is too loose, delete what is not a default, and fill in why, owner and rollback (the TODOs).",
        "Then `pytest --check-defaults` checks every entry against the live app.",
    )
    out.key("version", 1)
    if request.extends:
        out.key("extends", list(request.extends), "the bases: only what differs from them is written below")
    if inheritance and inheritance.kept:
        out.listed("Inherited and holding against the app as captured, so not repeated here", inheritance.kept)

    out.table("service")
    out.key("name", captured.service_name)
    out.key("owner", "", "TODO: who decides these defaults? Entries without an owner fall back to this")

    out.table("target")
    out.key("app", request.app)
    if request.app_dir:
        out.key("app_dir", request.app_dir, "where the app is imported from, relative to this file")
    if request.host:
        out.key("host", request.host)
    added = [path for path in captured.paths if path not in request.paths and path not in captured.paths_from_bases]
    paths_comment = "probed for headers and for undocumented headers"
    if added:
        paths_comment += f"; {', '.join(added)} found as health endpoints"
    if captured.paths_from_bases:
        paths_comment += f"; {', '.join(captured.paths_from_bases)} requested by the bases' entries"
    out.key("paths", captured.paths, paths_comment)
    out.commented_key("env", {"APP_ENV": "production"}, "set before the app is imported, as production runs it")
    out.comment(
        "answered when captured: " + ", ".join(f"{path} {status}" for path, status in captured.statuses.items())
    )

    write_entries(out, captured, "header", captured.headers, "response headers")
    write_entries(out, captured, "cookie", captured.cookies, "cookies (never their values)")
    write_entries(out, captured, "health_check", captured.health_checks, "health endpoints")
    write_entries(out, captured, "upload", captured.uploads, "upload limits (the largest body accepted)")
    write_entries(
        out, captured, "cache_rule", captured.cache_rules, "caching: the Cache-Control each path answered with"
    )

    middleware = captured.middleware or []
    middleware_slots = inheritance.slots.get("middleware") if inheritance else None
    if captured.settings or middleware or middleware_slots or captured.not_an_application:
        out.section("the application object")
    if captured.not_an_application:
        out.comment(f"{captured.not_an_application}: no [settings] or [[middleware]] to read.")
    if captured.settings:
        settings_notes = inheritance.settings_notes if inheritance else {}
        out.table("settings")
        out.comment("false means disabled (None on the app)")
        if inheritance and inheritance.settings_people:
            out.comment(
                f"{', '.join(sorted(inheritance.settings_people))}: the bases' apply to every setting;"
                ' give one its own with name = { value = ..., why = "..." }'
            )
        for name, value in captured.settings.items():
            out.key(name, value, settings_notes.get(name))
        out.left_out(captured.settings_left_out, "[settings]")
        out.people(inherited=inheritance.settings_people if inheritance else set())
    write_entries(out, captured, "middleware", middleware, None)

    if captured.config is not None:
        config = captured.config
        out.section("configuration")
        if inheritance and inheritance.config_replaced:
            out.lead(f"replaces the inherited [config] of {inheritance.config_replaced}")
        out.table("config")
        out.key("object", config.reference)
        out.key("secrets", config.secrets, "documented by name: never compared, never written down")
        out.left_out(config.left_out, "values")
        out.people()
        out.table("config.values")
        for name, value in config.values.items():
            out.key(name, value)

    if inheritance and inheritance.amendments:
        out.section("inherited defaults that do not hold: waived until someone decides")
        for amendment in inheritance.amendments:
            write_amendment(out, amendment)

    written_policies = undocumented_policies(captured)
    ignore = ignored_headers(captured)
    if written_policies or ignore:
        out.section("what the manifest does not mention")
        out.table("undocumented")
        for key, (policy, comment) in written_policies.items():
            out.key(key, policy, comment)
        if ignore:
            out.key("ignore_headers", ignore, "sent on one request and not the next")
    return out.text()
