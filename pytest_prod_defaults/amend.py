"""``prod-defaults init --extends``: a capture compared with the bases it extends.

The bases' entries run against the live app the capture probed, with the
paths it will be checked on: what holds and the capture also found is not
written again, a captured entry is written over an inherited one that does
not hold, and an inherited entry that does not hold and that nothing
replaces is amended with a TODO waiver (an
:class:`~pytest_prod_defaults.captured.Amendment`). Apart from the probing
and the writing: it only reads and trims what was captured, and says in an
:class:`~pytest_prod_defaults.captured.Inheritance` what the writer must add.
What is particular to a kind (how a middleware pairs with its entry, what
a single table such as ``[settings]`` keeps) the kind answers; nothing
here names one. Nothing here knows pytest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .captured import Amendment, Inheritance, location, todo_waiver
from .docs import one_line
from .explain import waiver_expired
from .outcomes import Drift, NotApplicable, TargetUnavailable, Undocumented

if TYPE_CHECKING:
    from .captured import Captured, Progress
    from .checks import Check, CheckKind
    from .manifest import Manifest
    from .model import Entry
    from .target import Target


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


class BaseComparison:
    """The inherited entries of ``bases`` run against the live app the
    capture probed, with the paths it will be checked on: what holds and the
    capture also found is not written again; a captured entry is written
    over an inherited one that does not hold; an inherited entry that does
    not hold and that nothing replaces is waived with a TODO. Handed to a
    single table's kind as its
    :class:`~pytest_prod_defaults.checks.ComparisonWithBases`."""

    def __init__(self, captured: Captured[CheckKind], bases: Manifest, target: Target, progress: Progress) -> None:
        self.captured = captured
        self.target = target
        self.progress = progress
        spec = target.spec.model_copy(update={"paths": list(captured.paths)})
        self.bases = dataclasses.replace(bases, target=spec)
        self.inheritance = Inheritance()

    def compare(self) -> Inheritance:
        items = self.captured.items
        for key, kind in self.bases.kinds.items():
            if kind.many:
                self.entries(kind)
                continue
            entry = self.bases.section(key)
            if entry is not None:
                items[key] = kind.compare_table(entry, items.get(key), self)
        return self.inheritance

    def problem(self, checks: Sequence[Check]) -> str | None:
        for check in checks:
            self.progress(f"checking inherited {check.id}")
        return does_not_hold(checks, self.target)

    def waived(self, checks: Iterable[Check]) -> bool:
        return waived_now(checks)

    def counterparts(self, kind: CheckKind, entries: Sequence[Entry], items: Sequence[Any]) -> list[list[Any]]:
        """The captured items each inherited entry pairs with: the kind's
        own pairing, else those of its identity, all with the first entry of
        that identity."""
        paired = kind.pair_captured(entries, items, self.target)
        if paired is not None:
            return paired
        names = [kind.identity(entry.model_dump(by_alias=True, exclude_none=True)) for entry in entries]
        found: list[list[Any]] = [[] for _ in entries]
        for index, name in enumerate(names):
            if name is not None and names.index(name) == index:
                found[index] = [item for item in items if kind.captured_identity(item) == name]
        return found

    def entries(self, kind: CheckKind) -> None:
        key = kind.key
        entries = self.bases.entries(key)
        if not entries:
            return
        identity_key = kind.identity_key
        captured_items = self.captured.items.get(key)
        items: list[Any] = list(captured_items or [])
        names = [kind.identity(entry.model_dump(by_alias=True, exclude_none=True)) for entry in entries]
        counterparts = self.counterparts(kind, entries, items)
        problems = []
        for entry, paired in zip(entries, counterparts, strict=True):
            checks = list(kind.checks(entry, self.bases))
            problems.append(self.problem(checks) or kind.documents_less(entry, paired))
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
                if counterparts[index]:
                    kind.adopt_identity(counterparts[index][0], entries[index])
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
        if captured_items is None:
            return
        loose = [item for item in items if id(item) not in settled | replacing]
        kind.keep_apart(items, loose, {name for name in names if name is not None}, self.target)
        self.captured.items[key] = [item for item in items if id(item) not in settled]
