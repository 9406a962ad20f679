"""What a check kind is: a manifest table whose entries become checks, and
which ``prod-defaults init`` asks to capture, compare and write.

Nothing here knows pytest: the pytest items and the command line both run
:class:`Check` objects and read what they end in (:mod:`.outcomes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast, runtime_checkable

from .outcomes import Drift, Finding, NotApplicable, TargetUnavailable, Undocumented
from .probes import Reads

__all__ = [
    "BaseKind",
    "Check",
    "CheckKind",
    "ComparisonWithBases",
    "DocumentedHeader",
    "Drift",
    "Finding",
    "NotApplicable",
    "Reads",
    "TargetUnavailable",
    "Undocumented",
    "completed",
]

if TYPE_CHECKING:
    from .captured import CaptureContext, Captured, CaptureRequest, Inheritance, ProbedPaths, SummaryNote
    from .manifest import Manifest
    from .manifest_text import ManifestWriter
    from .model import Entry
    from .target import Target


@dataclass(frozen=True)
class Check:
    """One documented default, checked on its own: one pytest item.

    ``run`` raises :class:`Drift`, :class:`TargetUnavailable`,
    :class:`NotApplicable` or :class:`Undocumented`; it returns the findings
    a ``warn`` policy reports (usually none).
    """

    kind: str
    name: str
    detail: str | None
    entry: Entry
    run: Callable[[Target], Iterable[Finding] | None] = field(compare=False)
    line: int | None = None
    """Manifest line of this check when it is not the entry's own
    (one key of ``[settings]``); ``at`` finds it only when it is needed."""
    reads_only_target: bool = False
    """Whether ``run`` only reads the target and sends nothing of its own:
    true whenever ``reads`` is declared. Given alone (the spelling before
    ``reads``) it is accepted, and ``run`` is handed the target itself."""
    at: tuple[str | int, ...] | None = None
    """Key path of this check in the manifest when it is not the entry's own
    (``("settings", "debug")``): its line is looked up when a report asks."""
    reads: Reads | None = field(default=None, compare=False)
    """What ``run`` reads through the target (:class:`Reads`): it is then
    handed a read-only view of exactly that, fetched first, and cannot send
    requests of its own. ``None`` (the default): ``run`` is handed the
    target itself."""

    def __post_init__(self) -> None:
        if self.reads is not None and not self.reads_only_target:
            object.__setattr__(self, "reads_only_target", True)

    def own_line(self) -> int | None:
        """The manifest line of this check when it is not its entry's:
        ``line``, or the line of ``at``."""
        if self.line is not None or self.at is None:
            return self.line
        return self.entry.line_at(self.at)

    @property
    def id(self) -> str:
        """``<kind>:<name>[<detail>]``: the pytest item name."""
        base = f"{self.kind}:{self.name}"
        return f"{base}[{self.detail}]" if self.detail is not None else base


@dataclass(frozen=True)
class DocumentedHeader:
    """A response header a manifest entry accounts for.

    ``paths`` limits it to those request paths (``None``: every path);
    ``cookie`` names one cookie, for ``Set-Cookie``.
    """

    name: str
    paths: frozenset[str] | None = None
    cookie: str | None = None


class ComparisonWithBases(Protocol):
    """What ``prod-defaults init --extends`` hands a kind comparing its
    single table with the bases: the bases, the inheritance being built, and
    how inherited checks fare against the live app."""

    @property
    def bases(self) -> Manifest: ...

    @property
    def inheritance(self) -> Inheritance: ...

    def problem(self, checks: Sequence[Check]) -> str | None:
        """Why the first of ``checks`` fails against the live app, in one
        line; ``None`` when they all hold (or cannot run here)."""
        ...

    def waived(self, checks: Iterable[Check]) -> bool:
        """An unexpired waiver: pytest skips these checks whatever the app does."""
        ...


@runtime_checkable
class CheckKind(Protocol):
    """A kind of documented default, e.g. ``[[header]]``, and everything the
    package asks of it. Inherit :class:`BaseKind`, which answers every
    optional question; give ``key``, ``model`` and ``checks``.

    ``key`` is its manifest table; ``many`` says whether it is an array of
    tables (``[[header]]``) or a single table (``[settings]``); ``model`` is
    the pydantic model of one entry, a subclass of
    :class:`pytest_prod_defaults.Entry`. Read-only properties, so a kind may
    set them as class attributes. :class:`BaseKind` says what every other
    member is for.
    """

    @property
    def key(self) -> str: ...
    @property
    def many(self) -> bool: ...
    @property
    def model(self) -> type[Entry]: ...
    @property
    def default_entry(self) -> bool: ...
    @property
    def identity_key(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def documents_defaults(self) -> bool: ...
    @property
    def one_default_per_key(self) -> bool: ...
    @property
    def capture_order(self) -> int: ...

    def checks(self, entry: Any, manifest: Manifest) -> Iterable[Check]:
        """The checks of one entry, in a fixed order (never from probing)."""
        ...

    # What the undocumented checks ask, and what identifies an entry.
    def probed_paths(self, entry: Any, manifest: Manifest) -> Iterable[str]: ...
    def documented_headers(self, entry: Any, manifest: Manifest) -> Iterable[DocumentedHeader]: ...
    def secrets(self, entry: Any, target: Target) -> Iterable[str]: ...
    def identity(self, entry: Mapping[str, Any]) -> str | None: ...
    def captured_identity(self, item: Any) -> str | None: ...
    # prod-defaults init: capture, compare with the bases, write, summarise.
    def prepare_capture(self, request: CaptureRequest, target: Target) -> None: ...
    def paths_to_capture(self, context: CaptureContext) -> ProbedPaths | None: ...
    def capture(self, context: CaptureContext) -> Any: ...
    def pair_captured(self, entries: Sequence[Any], items: Sequence[Any], target: Target) -> list[list[Any]] | None: ...
    def documents_less(self, entry: Any, items: Sequence[Any]) -> str | None: ...
    def adopt_identity(self, item: Any, entry: Any) -> None: ...
    def keep_apart(self, items: Sequence[Any], loose: Sequence[Any], taken: set[str], target: Target) -> None: ...
    def compare_table(self, entry: Any, items: Any, comparison: ComparisonWithBases) -> Any: ...
    def write(self, out: ManifestWriter, items: Any, captured: Captured[Any]) -> None: ...
    def summary(self, items: Any) -> str | None: ...
    def summary_notes(self, items: Any) -> Iterable[SummaryNote]: ...


class BaseKind:
    """The answers a kind need not give itself: inherit it, set ``key`` and
    ``model`` (and ``many = False`` for a single table), and implement
    ``checks(entry, manifest)``. Each method below is a question the package
    asks every kind; override those your kind has an answer to."""

    key: ClassVar[str]
    many: ClassVar[bool] = True
    model: ClassVar[type[Entry]]
    default_entry: ClassVar[bool] = False
    """A single table whose defaults apply when the manifest leaves it out
    (``[undocumented]``)."""
    identity_key: ClassVar[str] = "name"
    """The key that names an entry: an entry of the same identity in an
    extending manifest replaces (or amends) an inherited one."""
    title: ClassVar[str] = ""
    """The heading ``prod-defaults docs`` gives the kind (default ``[[key]]``)."""
    documents_defaults: ClassVar[bool] = True
    """``False`` for a table that says how the checks run rather than
    documenting a default of the service (``[undocumented]``): no nudge to
    explain it, and ``init`` writes it last."""
    one_default_per_key: ClassVar[bool] = False
    """A single table whose every key (other than the people fields)
    documents one default (``[settings]``): ``docs`` shows a row per key."""
    capture_order: ClassVar[int] = 0
    """``init`` asks kinds to capture in this order (ties in manifest
    order): a kind that reads what another captured comes after it."""
    section_title: ClassVar[str] = ""
    """The heading of the kind's section in what ``init`` writes (default ``[[key]]``)."""

    # -- the undocumented checks ask every kind -------------------------------------

    def probed_paths(self, entry: Any, manifest: Manifest) -> Iterable[str]:
        """Paths this entry requests with a plain GET (undocumented headers
        are looked for on these)."""
        return ()

    def documented_headers(self, entry: Any, manifest: Manifest) -> Iterable[DocumentedHeader]:
        """Response headers this entry accounts for."""
        return ()

    def secrets(self, entry: Any, target: Target) -> Iterable[str]:
        """Secret values this entry's checks may meet (a settings object's
        credentials): hidden in every output, in every process, even one that
        never ran these checks. Asked once, when the first text is shown."""
        return ()

    # -- identity: extends merging and comparing manifests --------------------------

    def identity(self, entry: Mapping[str, Any]) -> str | None:
        """What makes two entries (TOML tables, as written) the same entry;
        ``None``: an entry that cannot be named is never the same as another."""
        value = entry.get(self.identity_key)
        return value if isinstance(value, str) else None

    def captured_identity(self, item: Any) -> str | None:
        """:meth:`identity` of an item :meth:`capture` returned (a mapping of
        manifest keys, or an object with the identity key as an attribute)."""
        if isinstance(item, Mapping):
            return self.identity(item)
        return self.identity({self.identity_key: getattr(item, self.identity_key, None)})

    # -- prod-defaults init: capture -------------------------------------------------

    def prepare_capture(self, request: CaptureRequest, target: Target) -> None:
        """Called before the app is imported (teach ``target.redact`` the
        secrets its startup may log)."""

    def paths_to_capture(self, context: CaptureContext) -> ProbedPaths | None:
        """Paths to probe besides those given (asked in manifest order,
        before any is probed); what each answers is in ``context.responses``."""
        return None

    def capture(self, context: CaptureContext) -> Any:
        """This kind's entries as the live app shows them: a list for an
        array kind (``[]``: none; ``None``: nothing could be read), one item
        or ``None`` for a single table. Items are yours to shape; a mapping
        of manifest keys needs no :meth:`write_entry` of its own."""
        return None

    # -- prod-defaults init --extends: compare with the bases ------------------------

    def pair_captured(self, entries: Sequence[Any], items: Sequence[Any], target: Target) -> list[list[Any]] | None:
        """For each inherited entry, the captured items that are its
        counterpart; ``None``: pair by identity."""
        return None

    def documents_less(self, entry: Any, items: Sequence[Any]) -> str | None:
        """What the captured ``items`` say that the inherited ``entry`` does
        not, where the undocumented checks would miss it (``None``: nothing)."""
        return None

    def adopt_identity(self, item: Any, entry: Any) -> None:
        """A captured item written over the inherited ``entry``: spell its
        identity as the base does, so the merge puts it in that entry's place."""

    def keep_apart(self, items: Sequence[Any], loose: Sequence[Any], taken: set[str], target: Target) -> None:
        """``loose`` items (written as new entries) whose identity an
        inherited entry ``taken`` has: name them so the merge keeps them apart."""

    def compare_table(self, entry: Any, items: Any, comparison: ComparisonWithBases) -> Any:
        """A single table: the inherited ``entry`` against the live app and
        the captured ``items``; returns what is left to write. Kept when it
        holds and documents everything captured; written over it when it
        does not; waived with a TODO when nothing replaces it."""
        from .captured import Amendment, location, todo_waiver

        checks = list(comparison.bases.kinds[self.key].checks(entry, comparison.bases))
        problem = comparison.problem(checks) if checks else None
        inheritance = comparison.inheritance
        if items is not None:
            problem = problem or self.documents_less(entry, [items])
            if problem is None:
                inheritance.kept.append(f"[{self.key}]")
                return None
            inheritance.tables_replaced[self.key] = f"{location(entry)}, which does not hold: {problem}"
            return items
        if problem is not None and not comparison.waived(checks):
            inheritance.amendments.append(Amendment(self.key, None, None, location(entry), todo_waiver(problem)))
        return items

    # -- prod-defaults init: the manifest text and the summary -----------------------

    def write(self, out: ManifestWriter, items: Any, captured: Captured[Any]) -> None:
        """Write the captured ``items`` (after ``--extends`` trimmed them)
        under the kind's section, each by :meth:`write_entry`."""
        inheritance = captured.inheritance
        if self.many:
            title = self.section_title or f"[[{self.key}]]"
            out.entries(self.key, items or [], title, inheritance, self.captured_identity, self.write_entry)
            return
        if items is None:
            return
        out.section(self.section_title or f"[{self.key}]")
        replaced = inheritance.tables_replaced.get(self.key) if inheritance else None
        if replaced:
            out.lead(f"replaces the inherited [{self.key}] of {replaced}")
        self.write_entry(out, items)

    def write_entry(self, out: ManifestWriter, item: Any) -> None:
        """One captured entry as a table: its keys, then the TODO people fields."""
        if not isinstance(item, Mapping):
            raise TypeError(f"{type(self).__name__}.capture gave a {type(item).__name__}: write it in write_entry")
        out.table(self.key, many=self.many)
        for key, value in item.items():
            if value is not None:
                out.key(str(key), value)
        out.people()

    def summary(self, items: Any) -> str | None:
        """The kind's part of ``init``'s one-line summary (``2 cache rules``)."""
        if self.many:
            return f"{len(items)} [[{self.key}]]" if items else None
        return f"[{self.key}]" if items is not None else None

    def summary_notes(self, items: Any) -> Iterable[SummaryNote]:
        """Lines of ``init``'s summary about these items: what was left out, and why."""
        return ()


class _Completed(BaseKind):
    """A contributed kind that does not inherit :class:`BaseKind`: its own
    members, and :class:`BaseKind`'s answers to the questions it has none for."""

    def __init__(self, kind: Any) -> None:
        for name in dir(kind):
            if not name.startswith("_"):
                setattr(self, name, getattr(kind, name))
        self.contributed = kind

    def __repr__(self) -> str:
        return repr(self.contributed)


def completed(kind: Any) -> CheckKind:
    """``kind`` (which has ``key``, ``many``, ``model`` and ``checks``: the
    registry says so) with every member :class:`CheckKind` asks for."""
    return cast("CheckKind", kind if isinstance(kind, BaseKind) else _Completed(kind))
