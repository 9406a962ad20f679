"""What a live app does, captured as a manifest: ``prod-defaults init``.

The app is probed in-process through :class:`~pytest_prod_defaults.target.Target`,
as ``pytest --check-defaults`` probes it; each kind then captures its own
entries from what was probed (:meth:`~pytest_prod_defaults.checks.CheckKind.capture`),
writing only values its own comparison accepts against what was seen, so
the captured manifest passes against the same app unchanged. Secrets are
never written. This module runs the kinds it is given, built-in or not, in
their capture order and never names one; the comparison with the bases of
``--extends`` is :mod:`~pytest_prod_defaults.amend`'s, the TOML text
:mod:`~pytest_prod_defaults.manifest_writer`'s. Nothing here knows pytest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .amend import BaseComparison
from .captured import (
    DEFAULT_UPLOAD_CAP,
    Amendment,
    CaptureContext,
    Captured,
    CaptureError,
    CaptureRequest,
    PathResponses,
    ProbedPaths,
    Progress,
)
from .model import Target as TargetSpec
from .process_output import redacted_output
from .target import ProbeRequest, Target

if TYPE_CHECKING:
    from .checks import CheckKind
    from .manifest import Manifest

__all__ = ["DEFAULT_UPLOAD_CAP", "Capture", "CaptureError", "CaptureRequest", "Captured", "capture", "init_summary"]


class Capture:
    """One capture run against one live app, by ``kinds``."""

    def __init__(
        self,
        request: CaptureRequest,
        kinds: Sequence[CheckKind],
        progress: Progress | None = None,
        bases: Manifest | None = None,
    ) -> None:
        self.request = request
        self.kinds = list(kinds)
        self.progress = progress or (lambda message: None)
        self.bases = bases
        spec = TargetSpec(
            app=request.app,
            host=request.host,
            paths=list(request.paths),
            timeout=request.timeout,
            lifespan="auto",
            env=dict(request.env),
            headers=dict(request.headers),
        )
        self.target = Target(spec, request.root)
        for kind in self.kinds:
            kind.prepare_capture(request, self.target)

    def close(self) -> None:
        self.target.close()

    def run(self) -> Captured[CheckKind]:
        request = self.request
        self.progress(f"importing {request.app}")
        app = self.target.app()
        for path in request.paths:  # first, so a broken app is reported on a path the user gave
            self.progress(f"GET {path}")
            self.target.response(ProbeRequest(path))
        context = CaptureContext(request, self.target, app, self.bases, self.progress)
        paths = list(request.paths)
        probed: list[ProbedPaths] = []
        for kind in self.kinds:
            asked = kind.paths_to_capture(context)
            if asked is None:
                continue
            context.probed[kind.key] = asked
            added = tuple(path for path in dict.fromkeys(asked.paths) if path not in paths)
            paths.extend(added)
            if added:
                probed.append(ProbedPaths(added, asked.why))
        for path in paths:
            self.progress(f"GET {path}")
            first = self.target.response(ProbeRequest(path))
            context.responses.append(PathResponses(path, first, self.target.fetch(ProbeRequest(path))))
        for kind in sorted(self.kinds, key=lambda kind: kind.capture_order):  # stable: ties in manifest order
            context.items[kind.key] = kind.capture(context)
        captured = Captured(
            request=request,
            service_name=service_name(app, request.app),
            kinds=self.kinds,
            paths=paths,
            statuses={item.path: item.first.status for item in context.responses},
            items={kind.key: context.items[kind.key] for kind in self.kinds},
            probed=probed,
            notes=context.notes,
        )
        if request.host is None and any(status == 400 for status in captured.statuses.values()):
            captured.notes.append(
                "some paths answered 400: if the app checks the Host header (TrustedHostMiddleware), give --host"
            )
        return captured


def service_name(app: Any, reference: str) -> str:
    title = getattr(app, "title", None)
    if isinstance(title, str) and title and title != "FastAPI":
        return title
    return reference.split(":", 1)[0].split(".", 1)[0]


def capture(
    request: CaptureRequest,
    progress: Progress | None = None,
    bases: Manifest | None = None,
    kinds: Sequence[CheckKind] | None = None,
) -> Captured[CheckKind]:
    """Probe the app ``request`` names and return what ``kinds`` (the
    built-in ones if not given) find it does; with ``bases`` (the manifest of
    ``request.extends`` alone), also run the inherited entries against the
    same app to find what need not be written."""
    if kinds is None:
        from .registry import ordered_kinds, standalone_plugin_manager

        kinds = ordered_kinds(standalone_plugin_manager().hook.pytest_prod_defaults_kinds())
    run = Capture(request, kinds, progress, bases)
    # No test captures what the app prints while it starts, answers and
    # stops here: shown as it comes, redacted.
    with redacted_output(run.target.redact):
        try:
            captured = run.run()
            if bases is not None:
                captured.inheritance = BaseComparison(captured, bases, run.target, run.progress).compare()
            return captured
        finally:
            run.close()


def init_summary(captured: Captured[CheckKind], output: Path | None) -> str:
    """What ``init`` tells the person who ran it, on stderr: what was
    written (each kind's phrase), how it compares with the bases, and what
    was left out and why."""
    items = captured.items
    found = ", ".join(phrase for kind in captured.kinds if (phrase := kind.summary(items.get(kind.key))) is not None)
    notes = {kind.key: list(kind.summary_notes(items.get(kind.key))) for kind in captured.kinds}

    def staged(stage: str) -> list[str]:
        return [f"  note: {note.text}" for kind in captured.kinds for note in notes[kind.key] if note.stage == stage]

    where = str(output) if output is not None else "stdout"
    lines = [f"prod-defaults: wrote {where}: {found or 'nothing to document'}"]
    inheritance = captured.inheritance
    if inheritance is not None:
        kept = len(inheritance.kept)
        lines[0] += f"; {kept} inherited default{'' if kept == 1 else 's'} hold{'s' if kept == 1 else ''}, not repeated"
        lines.extend(
            f"  note: [[{kind}]] {name} replaces the inherited entry of {why}"
            for (kind, _), (name, why) in inheritance.replaced.items()
        )
        lines.extend(staged("inherited"))
        lines.extend(
            f"  note: [{kind}] replaces the inherited one of {where}"
            for kind, where in inheritance.tables_replaced.items()
        )
        waived = [*inheritance.amendments, *(item for slots in inheritance.slots.values() for item in slots)]
        lines.extend(
            f"  note: waived with a TODO: the inherited"
            f" {f'[[{item.kind}]] {item.value}' if item.key else f'[{item.kind}]'} of {item.where} does not hold"
            for item in waived
            if isinstance(item, Amendment) and item.skip
        )
    lines.extend(f"  note: {note}" for note in captured.notes)
    lines.extend(staged("left out"))
    lines.extend(staged("waived"))
    lines.append("  next: fill in why, owner and rollback (the TODOs), then run `pytest --check-defaults`")
    return "\n".join(lines) + "\n"
