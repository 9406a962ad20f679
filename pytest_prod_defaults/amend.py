"""``prod-defaults init --extends``: a capture compared with the bases it extends.

The bases' entries run against the live app the capture probed, with the
paths it will be checked on: what holds and the capture also found is not
written again, a captured entry is written over an inherited one that does
not hold, and an inherited entry that does not hold and that nothing
replaces is amended with a TODO waiver (an :class:`Amendment`). Apart from
the probing and the writing: it only reads and trims what was captured, and
says in an :class:`Inheritance` what the writer must add. Nothing here knows
pytest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .checks import Check
from .docs import one_line
from .explain import waiver_expired
from .extends import IDENTITY_KEYS, identity
from .kinds.config import dotted_path
from .kinds.middleware import match_entries, user_middleware
from .outcomes import Drift, NotApplicable, TargetUnavailable, Undocumented
from .target import Target

if TYPE_CHECKING:
    from .capture import Captured, CapturedConfig, Progress
    from .manifest import Manifest
    from .model import Entry

CAPTURED_LISTS: dict[str, tuple[str, str]] = {
    "header": ("headers", "name"),
    "cookie": ("cookies", "name"),
    "health_check": ("health_checks", "path"),
    "upload": ("uploads", "name"),
    "cache_rule": ("cache_rules", "name"),
    "middleware": ("middleware", "class_name"),
}
"""Each array kind ``init`` captures: the
:class:`~pytest_prod_defaults.capture.Captured` list holding it, and the
attribute of an item that is its identity."""
UNDOCUMENTED_POLICIES = ("headers", "settings", "middleware", "config")


@dataclass
class Amendment:
    """An inherited entry written by its identity alone. With ``skip``: it
    does not hold against the live app and nothing captured replaces it, so
    it is waived for a person to resolve. Without: written only to keep the
    order of entries that share one identity."""

    kind: str
    key: str | None
    """The identity key (``name``, ``path``, ``class``); ``None`` for a single table."""
    value: str | None
    where: str
    skip: str | None


@dataclass
class Inheritance:
    """How the live app compares with the bases of ``--extends``."""

    kept: list[str] = field(default_factory=list)
    """Captured defaults the bases already state and that hold: not written."""
    replaced: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """``(kind, identity)`` of captured entries written over an inherited
    entry that does not hold → that entry's name, and where it is and why it
    does not hold."""
    settings_notes: dict[str, str] = field(default_factory=dict)
    config_replaced: str | None = None
    slots: dict[str, list[Any]] = field(default_factory=dict)
    """Per kind, entries written first and in this order (captured items and
    amendments): several inherited entries share one identity, and the merge
    pairs them with entries of that identity in order."""
    amendments: list[Amendment] = field(default_factory=list)
    settings_people: set[str] = field(default_factory=set)
    """People fields the bases give ``[settings]``: no TODO is written over them."""
    policies: dict[str, str] = field(default_factory=dict)
    """The ``[undocumented]`` policies the bases set."""
    ignore_headers: list[str] = field(default_factory=list)
    has_config: bool = False


def does_not_hold(checks: Iterable[Check], target: Target) -> str | None:
    """Why the first of ``checks`` to fail against ``target`` fails, in one
    line; ``None`` when they all hold. A check that cannot run here is one
    pytest skips: it does not count."""
    for check in checks:
        try:
            check.run(target)
        except NotApplicable:
            continue
        except Drift as exc:
            return one_line(exc.headline())
        except Undocumented as exc:
            return one_line(f"{exc.finding.what}: {', '.join(exc.finding.items)}")
        except TargetUnavailable as exc:
            return one_line(f"{check.id}: target unavailable: {exc}")
        except Exception as exc:  # a kind's own error: the default cannot be said to hold
            return one_line(f"{check.id}: {type(exc).__name__}: {exc}")
    return None


def waived_now(checks: Iterable[Check]) -> bool:
    """An unexpired waiver: pytest skips these checks whatever the app does."""
    return any(check.entry.skip and not waiver_expired(check) for check in checks)


def todo_waiver(problem: str) -> str:
    return f"TODO: does not hold against the app as captured ({problem}); fix the app, or say why it is waived"


def location(entry: Entry) -> str:
    if entry.inherited:
        return entry.inherited
    return f"{entry.source}:{entry.line}" if entry.line else str(entry.source)


class BaseComparison:
    """The inherited entries of ``bases`` run against the live app the
    capture probed, with the paths it will be checked on: what holds and the
    capture also found is not written again; a captured entry is written
    over an inherited one that does not hold; an inherited entry that does
    not hold and that nothing replaces is waived with a TODO."""

    def __init__(self, captured: Captured, bases: Manifest, target: Target, progress: Progress) -> None:
        self.captured = captured
        self.target = target
        self.progress = progress
        spec = target.spec.model_copy(update={"paths": list(captured.paths)})
        self.bases = dataclasses.replace(bases, target=spec)
        self.inheritance = Inheritance()

    def compare(self) -> Inheritance:
        for key, kind in self.bases.kinds.items():
            if key == "undocumented":
                self.policies()
            elif key == "settings":
                self.settings()
            elif kind.many:
                self.entries(key)
            else:
                self.table(key)
        return self.inheritance

    def problem(self, checks: Sequence[Check]) -> str | None:
        for check in checks:
            self.progress(f"checking inherited {check.id}")
        return does_not_hold(checks, self.target)

    def entries(self, key: str) -> None:
        entries = self.bases.entries(key)
        if not entries:
            return
        kind = self.bases.kinds[key]
        identity_key = IDENTITY_KEYS.get(key, "name")
        list_name, attribute = CAPTURED_LISTS.get(key, ("", ""))
        items: list[Any] = list(getattr(self.captured, list_name, None) or [])

        def identity_of(entry: Entry) -> str | None:
            return identity(key, entry.model_dump(by_alias=True, exclude_none=True))

        names = [identity_of(entry) for entry in entries]
        if key == "middleware":
            counterparts, live = self.middleware_counterparts(entries, items)
        else:
            counterparts = [[] for _ in entries]
            for index, name in enumerate(names):
                if name is not None and names.index(name) == index:
                    counterparts[index] = [
                        item for item in items if identity(key, {identity_key: getattr(item, attribute)}) == name
                    ]
        problems = []
        for entry, paired in zip(entries, counterparts, strict=True):
            checks = list(kind.checks(entry, self.bases))
            problems.append(self.problem(checks) or documents_less(key, entry, paired))
        groups: dict[str | None, list[int]] = {}
        for index, name in enumerate(names):
            groups.setdefault(name, []).append(index)
        settled: set[int] = set()  # ids of captured items that are omitted or written in the slots
        replacing: set[int] = set()  # ids of captured items written over an inherited entry
        for name, members in groups.items():
            paired = [item for index in members for item in counterparts[index]]
            failing = [index for index in members if problems[index] is not None]
            if not failing:
                settled.update(id(item) for item in paired)
                self.inheritance.kept.extend(
                    f"[[{key}]] {entries[index].display_name()}" for index in members if counterparts[index]
                )
                continue
            for index in members:
                replacing.update(id(item) for item in counterparts[index])
                if key == "middleware" and counterparts[index]:
                    # Spelled as the base spells it, so the merge puts it in that entry's place.
                    counterparts[index][0].class_name = entries[index].middleware_class  # type: ignore[attr-defined]
            first = failing[0]
            first_problem = str(problems[first])
            if name is None:
                for index in failing:
                    if not counterparts[index] and not waived_now(kind.checks(entries[index], self.bases)):
                        self.captured.notes.append(
                            f"inherited [[{key}]] at {location(entries[index])} does not hold and has no"
                            f" {identity_key} to waive it by: {problems[index]}"
                        )
                continue
            if paired:
                self.inheritance.replaced[(key, name)] = (
                    entries[first].display_name(),
                    f"{location(entries[first])}, which does not hold: {first_problem}",
                )
            if len(members) == 1:
                if not paired and not waived_now(kind.checks(entries[first], self.bases)):
                    value = str(entries[first].model_dump(by_alias=True)[identity_key])
                    self.inheritance.amendments.append(
                        Amendment(key, identity_key, value, location(entries[first]), todo_waiver(first_problem))
                    )
                continue
            # Several inherited entries share this identity: each is written, in order.
            slots = self.inheritance.slots.setdefault(key, [])
            for index in members:
                if counterparts[index]:
                    slots.extend(counterparts[index])
                    settled.update(id(item) for item in counterparts[index])
                    continue
                problem = problems[index]
                waived = problem is None or waived_now(kind.checks(entries[index], self.bases))
                value = str(entries[index].model_dump(by_alias=True)[identity_key])
                skip = None if waived or problem is None else todo_waiver(problem)
                slots.append(Amendment(key, identity_key, value, location(entries[index]), skip))
        if not list_name:
            return
        remaining = [item for item in items if id(item) not in settled]
        if key == "middleware" and live:
            taken = {name for name in names if name is not None}
            for index, item in enumerate(items):
                if id(item) not in settled | replacing and item.class_name in taken:
                    item.class_name = unclaimed_spelling(live[index].cls, taken) or item.class_name
        if getattr(self.captured, list_name) is not None:
            setattr(self.captured, list_name, remaining)

    def middleware_counterparts(
        self, entries: Sequence[Any], items: Sequence[Any]
    ) -> tuple[list[list[Any]], list[Any]]:
        """The captured middleware each inherited entry pairs with: the live
        middleware it matches (captured items are in ``user_middleware``
        order, one each)."""
        try:
            live = user_middleware(self.target, "[[middleware]]")
        except (NotApplicable, TargetUnavailable):
            return [[] for _ in entries], []
        matched = match_entries(entries, live)
        return [[items[index]] if index is not None and index < len(items) else [] for index in matched], live

    def settings(self) -> None:
        table = self.bases.section("settings")
        if table is None:
            return
        inheritance = self.inheritance
        inheritance.settings_people = {name for name in ("why", "owner", "rollback") if getattr(table, name)}
        documented = table.settings()  # type: ignore[attr-defined]
        for check in self.bases.kinds["settings"].checks(table, self.bases):
            name = check.name
            problem = self.problem([check])
            where = f"{check.entry.source}:{line}" if (line := check.own_line()) else str(check.entry.source)
            live = self.captured.settings
            if live is not None and name in live:
                if problem is None:
                    del live[name]
                    inheritance.kept.append(f"[settings] {name}")
                else:
                    inheritance.settings_notes[name] = f"replaces {where}, which does not hold: {problem}"
            elif problem is not None and not waived_now([check]):
                setting = documented[name]
                people = {
                    field_name: getattr(setting, field_name)
                    for field_name in ("why", "owner", "rollback", "docs")
                    if getattr(setting, field_name)
                }
                if self.captured.settings is None:
                    self.captured.settings = {}
                self.captured.settings[name] = {"value": setting.value, **people, "skip": todo_waiver(problem)}
                inheritance.settings_notes[name] = f"inherited from {where}, waived: it does not hold"

    def table(self, key: str) -> None:
        entry = self.bases.section(key)
        if entry is None:
            return
        checks = list(self.bases.kinds[key].checks(entry, self.bases))
        problem = self.problem(checks) if checks else None
        if key == "config":
            self.inheritance.has_config = True
            if self.captured.config is not None:
                problem = problem or config_documents_less(entry, self.captured.config)
                if problem is None:
                    self.captured.config = None
                    self.inheritance.kept.append("[config]")
                else:
                    self.inheritance.config_replaced = f"{location(entry)}, which does not hold: {problem}"
                return
        if problem is not None and not waived_now(checks):
            self.inheritance.amendments.append(Amendment(key, None, None, location(entry), todo_waiver(problem)))

    def policies(self) -> None:
        table = self.bases.section("undocumented")
        if table is None:
            return
        self.inheritance.policies = {
            name: getattr(table, name) for name in UNDOCUMENTED_POLICIES if name in table.model_fields_set
        }
        self.inheritance.ignore_headers = list(getattr(table, "ignore_headers", []))


def documents_less(key: str, entry: Any, paired: Sequence[Any]) -> str | None:
    """What the captured items say that the inherited entry does not, where
    the undocumented checks would miss it: options of a middleware, example
    paths of a cache rule."""
    if key == "middleware":
        for item in paired:
            passed = [*item.options, *(left.name for left in item.left_out)]
            missing = [name for name in passed if name not in entry.options]
            if missing:
                listed = ", ".join(missing)
                return f"middleware {entry.display_name()}: the app passes options it does not document: {listed}"
    if key == "cache_rule":
        covered = {*entry.cached, *entry.not_cached}
        for item in paired:
            missing = [path for path in (*item.cached, *item.not_cached) if path not in covered]
            if missing:
                return f"cache rule {entry.display_name()}: does not cover {', '.join(missing)}"
    return None


def config_documents_less(entry: Any, config: CapturedConfig) -> str | None:
    if entry.object != config.reference:
        return f"[config] reads {entry.object}, not {config.reference}"
    documented = {*entry.values, *entry.secrets}
    missing = [
        name
        for name in (*config.values, *config.secrets, *(left.name for left in config.left_out))
        if name not in documented
    ]
    return f"[config] does not document {', '.join(missing)}" if missing else None


def unclaimed_spelling(cls: Any, taken: set[str]) -> str | None:
    """A way to name ``cls`` that no inherited entry uses, so the merge keeps
    this entry beside theirs instead of taking it for one of them."""
    for spelling in (getattr(cls, "__name__", None), dotted_path(cls)):
        if spelling and spelling not in taken:
            return str(spelling)
    return None
