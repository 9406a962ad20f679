"""Failure text for a person reading a CI log: the drift on the first line,
then why the default exists, who owns it, how to roll it back, and where in
the manifest it is written."""

from __future__ import annotations

import datetime

from .checks import Check
from .manifest import Manifest
from .outcomes import Drift, TargetUnavailable, Undocumented


def waiver_expired(check: Check, today: datetime.date | None = None) -> bool:
    until = check.entry.until
    return bool(check.entry.skip and until is not None and (today or datetime.date.today()) > until)


def manifest_location(manifest: Manifest, check: Check) -> str:
    line = check.own_line() or check.entry.line
    source = check.entry.source or str(manifest.path)
    return f"{source}:{line}" if line else source


def explain(manifest: Manifest, check: Check, error: BaseException) -> str:
    """The failure text of ``check`` failing with ``error``."""
    if isinstance(error, Drift):
        headline = error.headline()
    elif isinstance(error, Undocumented):
        headline = f"{error.finding.what}: " + ", ".join(error.finding.items)
    elif isinstance(error, TargetUnavailable):
        headline = f"{check.id}: target unavailable: {error}"
    else:
        headline = f"{check.id}: {type(error).__name__}: {error}"
    entry = check.entry
    lines = [headline]
    if waiver_expired(check):
        lines.append(f"  waiver expired on {entry.until}: {entry.skip}")
    for label, value in (
        ("why", entry.why),
        ("owner", manifest.owner_of(entry)),
        ("rollback", entry.rollback),
        ("docs", entry.docs),
    ):
        if value:
            lines.append(f"  {label + ':':<9} {value}")
    location = manifest_location(manifest, check)
    lines.append(f"  {'manifest:':<9} {location}")
    if entry.inherited and entry.inherited != location:
        # amended here (a waiver, a new owner), defined in a base
        lines.append(f"  inherited from: {entry.inherited}")
    return "\n".join(lines)
