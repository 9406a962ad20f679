"""What a check kind is: a manifest table whose entries become checks.

Nothing here knows pytest: the pytest items and the command line both run
:class:`Check` objects and read what they end in (:mod:`.outcomes`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from .outcomes import Drift, Finding, NotApplicable, TargetUnavailable, Undocumented

__all__ = [
    "BaseKind",
    "Check",
    "CheckKind",
    "DocumentedHeader",
    "Drift",
    "Finding",
    "NotApplicable",
    "TargetUnavailable",
    "Undocumented",
]

if TYPE_CHECKING:
    from .manifest import Manifest
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
    """``run`` only reads the target (its responses, its app object) and does
    no I/O of its own, so once those are fetched it can be decided again
    without talking to the service. A pytest run then reports a pass without
    pytest's per-item setup and teardown; leave it ``False`` if unsure."""
    at: tuple[str | int, ...] | None = None
    """Key path of this check in the manifest when it is not the entry's own
    (``("settings", "debug")``): its line is looked up when a report asks."""

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


@runtime_checkable
class CheckKind(Protocol):
    """A kind of documented default, e.g. ``[[header]]``.

    ``key`` is its manifest table; ``many`` says whether it is an array of
    tables (``[[header]]``) or a single table (``[settings]``); ``model`` is
    the pydantic model of one entry, a subclass of
    :class:`pytest_prod_defaults.Entry`.
    """

    key: str
    many: bool
    model: type[Entry]

    def checks(self, entry: Any, manifest: Manifest) -> Iterable[Check]:
        """The checks of one entry, in a fixed order (never from probing)."""
        ...


class BaseKind:
    """Optional helpers a kind may inherit: default no-op answers to the
    questions the undocumented-headers check asks every kind."""

    key: ClassVar[str]
    many: ClassVar[bool] = True
    model: ClassVar[type[Entry]]

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
