"""The outcome of one check, as reports and summaries read it.

A :class:`Result` is plain data (JSON-ready), so it crosses from pytest-xdist
workers to the controller on the test report and the ``prod-defaults``
command can build the same records without pytest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .checks import Check
from .explain import manifest_location, waiver_expired
from .manifest import Manifest
from .outcomes import Drift, Finding, TargetUnavailable, Undocumented

Outcome = Literal["held", "drifted", "undocumented", "warned", "waived", "skipped", "unavailable", "error"]
OUTCOMES: tuple[Outcome, ...] = (
    "held",
    "drifted",
    "undocumented",
    "warned",
    "waived",
    "skipped",
    "unavailable",
    "error",
)


@dataclass
class Result:
    id: str
    kind: str
    name: str
    detail: str | None
    outcome: Outcome
    manifest: str
    documented: str | None = None
    live: str | None = None
    note: str | None = None
    why: str | None = None
    owner: str | None = None
    rollback: str | None = None
    docs: str | None = None
    waiver: str | None = None
    waiver_expired: bool = False
    inherited: str | None = None
    """``file:line`` of the base manifest the entry was inherited from."""
    findings: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "findings": [dict(finding) for finding in self.findings]}  # asdict, without deep copies

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def result_of(
    manifest: Manifest,
    check: Check,
    *,
    error: BaseException | None = None,
    findings: list[Finding] | None = None,
    skipped: str | None = None,
    waived: bool = False,
) -> Result:
    """Classify how ``check`` ended: held, drifted, and so on."""
    entry = check.entry
    result = Result(
        id=check.id,
        kind=check.kind,
        name=check.name,
        detail=check.detail,
        outcome="held",
        manifest=manifest_location(manifest, check),
        why=entry.why,
        owner=manifest.owner_of(entry),
        rollback=entry.rollback,
        docs=entry.docs,
        waiver=entry.skip,
        waiver_expired=waiver_expired(check),
        inherited=entry.inherited,
    )
    if waived:
        result.outcome = "waived"
        result.note = skipped
    elif skipped is not None:
        result.outcome = "skipped"
        result.note = skipped
    elif isinstance(error, Drift):
        result.outcome = "drifted"
        result.documented, result.live, result.note = error.documented, error.live, error.detail
    elif isinstance(error, Undocumented):
        result.outcome = "undocumented"
        result.note = error.finding.what
        result.findings = [asdict(error.finding)]
    elif isinstance(error, TargetUnavailable):
        result.outcome = "unavailable"
        result.note = str(error)
    elif error is not None:
        result.outcome = "error"
        result.note = f"{type(error).__name__}: {error}"
    elif findings:
        result.outcome = "warned"
        result.note = "; ".join(f.what for f in findings)
        result.findings = [asdict(f) for f in findings]
    # A live value or an error may quote a credential: one the app was sent,
    # one of its own it publishes; the documented value, one written down.
    for name in ("documented", "live", "note"):
        if value := getattr(result, name):
            setattr(result, name, manifest.redact(value))
    return result
