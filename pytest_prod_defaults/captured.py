"""What ``prod-defaults init`` is asked, what it hands each kind, and what it found.

Plain data shared by the generic init pipeline (:mod:`.capture`,
:mod:`.amend`, :mod:`.manifest_writer`) and by the kinds, which capture and
write their own entries. It imports nothing that knows what a kind is, so
both sides may import it. Nothing here knows pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from .manifest import Manifest
    from .model import Entry
    from .target import ProbeResponse, Target

Progress = Callable[[str], None]
DEFAULT_UPLOAD_CAP = 1024**3
KindT = TypeVar("KindT")


class CaptureError(Exception):
    """Something asked for cannot be captured (an upload path with no
    route, a config object that is not a settings object)."""


@dataclass(frozen=True)
class CaptureRequest:
    """``prod-defaults init``'s arguments."""

    app: str
    root: Path
    """Where the app is imported from (the working directory)."""
    host: str | None = None
    paths: tuple[str, ...] = ("/",)
    config: str | None = None
    uploads: tuple[str, ...] = ()
    upload_cap: int = DEFAULT_UPLOAD_CAP
    app_dir: str | None = None
    """Written as ``[target].app_dir`` when the manifest lives elsewhere."""
    timeout: float = 5.0
    extends: tuple[str, ...] = ()
    """``--extends``: the bases, written as ``extends``; only what differs from them is written."""
    env: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    """``[target].env`` and ``headers`` the bases give: the app is captured as it will be checked."""


@dataclass
class LeftOut:
    """A live value that is not written down, and why."""

    name: str
    reason: str


@dataclass
class PathResponses:
    """Two answers to ``GET path``: the first is the one every check of a
    ``pytest --check-defaults`` run shares, the second shows what varies."""

    path: str
    first: ProbeResponse
    second: ProbeResponse


@dataclass(frozen=True)
class ProbedPaths:
    """Paths a kind asks ``init`` to probe besides those given, and why, as
    the ``[target].paths`` comment says it (``found as health endpoints``)."""

    paths: tuple[str, ...]
    why: str


NoteStage = Literal["inherited", "left out", "waived"]


@dataclass(frozen=True)
class SummaryNote:
    """A line of ``init``'s summary about a kind's entries. ``stage`` places
    it: ``inherited`` (how they compare with the bases), ``left out``
    (something live not written down), ``waived`` (an entry written with a
    ``skip``)."""

    text: str
    stage: NoteStage = "left out"


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
    """How the live app compares with the bases of ``--extends``. What is
    particular to one kind (a setting that replaces an inherited one) the
    kind keeps on its own captured items."""

    kept: list[str] = field(default_factory=list)
    """Captured defaults the bases already state and that hold: not written."""
    replaced: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """``(kind, identity)`` of captured entries written over an inherited
    entry that does not hold → that entry's name, and where it is and why it
    does not hold."""
    tables_replaced: dict[str, str] = field(default_factory=dict)
    """Single tables (``[config]``) written over an inherited one that does
    not hold → where it is and why it does not hold."""
    slots: dict[str, list[Any]] = field(default_factory=dict)
    """Per kind, entries written first and in this order (captured items and
    amendments): several inherited entries share one identity, and the merge
    pairs them with entries of that identity in order."""
    amendments: list[Amendment] = field(default_factory=list)


def todo_waiver(problem: str) -> str:
    return f"TODO: does not hold against the app as captured ({problem}); fix the app, or say why it is waived"


def location(entry: Entry) -> str:
    """Where an inherited entry is written: its base's ``file:line``."""
    if entry.inherited:
        return entry.inherited
    return f"{entry.source}:{entry.line}" if entry.line else str(entry.source)


@dataclass
class CaptureContext:
    """What a kind is handed to capture its entries from the live app."""

    request: CaptureRequest
    target: Target
    """Probed in-process; its redactor (``target.redact``) knows every
    credential seen so far: a value carrying one is never written."""
    app: Any
    """The application object."""
    bases: Manifest | None
    """With ``--extends``: the manifest of the bases alone."""
    progress: Progress
    notes: list[str] = field(default_factory=list)
    """Lines for the summary: what a person should know about the capture."""
    responses: list[PathResponses] = field(default_factory=list)
    """Every probed path, in ``[target].paths`` order (empty while kinds are
    asked which paths to probe)."""
    probed: dict[str, ProbedPaths] = field(default_factory=dict)
    """The paths each kind asked to probe, by kind key."""
    items: dict[str, Any] = field(default_factory=dict)
    """What each kind captured so far, by kind key: a kind that reads
    another's captures after it."""
    claimed: dict[str, set[str] | None] = field(default_factory=dict)
    """Response headers the entries captured so far document, by lowercase
    name: on these paths (``None``: every path)."""

    def claim(self, names: Iterable[str], paths: Iterable[str] | None = None) -> None:
        """The entries a kind captured document response headers ``names``
        on ``paths`` (a cache rule's Cache-Control on the paths it covers):
        kinds that capture later (headers) leave them to it."""
        on = None if paths is None else set(paths)
        for name in names:
            key = name.lower()
            known = self.claimed.get(key, set())
            if on is None or known is None:
                self.claimed[key] = None
            else:
                self.claimed[key] = known | on

    def claimed_on(self, name: str, path: str) -> bool:
        """Whether a captured entry already documents header ``name`` on ``path``."""
        key = name.lower()
        if key not in self.claimed:
            return False
        paths = self.claimed[key]
        return paths is None or path in paths


@dataclass
class Captured(Generic[KindT]):
    """Everything ``init`` found, ready to be written as a manifest."""

    request: CaptureRequest
    service_name: str
    kinds: list[KindT]
    """The kinds, in manifest order: each writes its own items."""
    paths: list[str]
    statuses: dict[str, int]
    items: dict[str, Any] = field(default_factory=dict)
    """What each kind captured, by kind key (``None``: nothing could be read)."""
    probed: list[ProbedPaths] = field(default_factory=list)
    """Paths probed besides those given, each under the first reason found for it."""
    notes: list[str] = field(default_factory=list)
    inheritance: Inheritance | None = None
    """With ``--extends``: what the bases already say, compared with the live app."""


def counted(count: int, noun: str, plural: str | None = None) -> str | None:
    """``2 cache rules``: a kind's part of ``init``'s summary; ``None`` for none."""
    if not count:
        return None
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
