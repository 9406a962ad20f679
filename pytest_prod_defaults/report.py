"""Reports of a run: Markdown for a pull request (and GitHub's step summary),
JSON for tools.

Nothing here knows pytest: the plugin and the ``prod-defaults`` command render
the same documents from the same :class:`~.results.Result` records. Results
hold redacted values only; nothing here adds a body, a header value or a
secret to them. The JSON document is described in ``docs/report-format.md``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .manifest import Manifest
from .redaction import markdown_literal
from .results import OUTCOMES, Outcome, Result

REPORT_FORMAT = "pytest-prod-defaults/report"
REPORT_VERSION = 1
"""Bumped when a field changes meaning or goes away; new fields may be added
within a version."""

REPORT_SUFFIXES = {".md": "markdown", ".json": "json"}
FAILING: tuple[Outcome, ...] = ("drifted", "undocumented", "unavailable", "error")
"""Outcomes that fail the run (and the pytest item)."""

HELD_SHOWN_OPEN = 10
"""Up to this many held defaults are listed openly; more go in a collapsed
``<details>`` block, so the drifts stay at the top of a pull request."""

CELL_LIMIT = 300
"""Characters of one Markdown table cell; the JSON report has every value whole."""

GITHUB_STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


class ReportPathError(ValueError):
    """A report path this module cannot write (an unknown extension)."""


def report_format(path: str | Path) -> str:
    """``"markdown"`` or ``"json"``, from the path's extension."""
    suffix = Path(path).suffix.lower()
    try:
        return REPORT_SUFFIXES[suffix]
    except KeyError:
        known = " or ".join(REPORT_SUFFIXES)
        raise ReportPathError(f"{path}: a report must end in {known} (got {suffix or 'no extension'!r})") from None


@dataclass(frozen=True)
class Subject:
    """What a report is about: shown at its top."""

    manifest: str
    service: str | None = None
    mode: str | None = None
    url: str | None = None
    """The checked address in ``url`` mode, without credentials, query or fragment."""

    @classmethod
    def of(cls, manifest: Manifest, *others: Manifest) -> Subject:
        """The subject of a report on ``manifest`` (and ``others``, when one
        run checks several services)."""
        target = manifest.target
        url = public_url(target.base_url) if target.mode == "url" and target.base_url else None
        if not others:
            return cls(manifest=str(manifest.path), service=manifest.service.name, mode=target.mode, url=url)
        every = (manifest, *others)
        modes = {m.target.mode for m in every}
        return cls(
            manifest=", ".join(str(m.path) for m in every),
            service=", ".join(m.service.name or str(m.path) for m in every),
            mode=modes.pop() if len(modes) == 1 else "mixed",
        )


def public_url(url: str) -> str:
    """``url`` without what may be a secret: user info, query and fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


EXIT_MEANINGS = {
    1: "tests outside the manifest failed",
    2: "the run was interrupted before every default was checked",
    3: "pytest stopped on an internal error",
    4: "pytest was used wrongly",
    5: "no test ran",
}
"""What a non-zero pytest exit status says beyond the results (``pytest.ExitCode``)."""


@dataclass(frozen=True)
class Summary:
    counts: Mapping[Outcome, int]
    exit_status: int | None = None
    """The exit status of the pytest run the results come from (``None``:
    not a pytest run). A report's verdict never contradicts it."""

    @classmethod
    def of(cls, results: Iterable[Result], exit_status: int | None = None) -> Summary:
        found = Counter(result.outcome for result in results)
        return cls({outcome: found.get(outcome, 0) for outcome in OUTCOMES}, exit_status)

    @property
    def checked(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        return sum(self.counts[outcome] for outcome in FAILING)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.exit_status

    def run_failure(self) -> str | None:
        """Why the run failed although no result did: the exit status in words."""
        if self.failed or not self.exit_status:
            return None
        meaning = EXIT_MEANINGS.get(self.exit_status, "the run failed")
        return f"pytest exited {self.exit_status}: {meaning}"

    def line(self) -> str:
        """``12 checked, 1 drifted, 0 undocumented, 1 waived, 0 skipped``;
        warned, unavailable and error counts follow when there are any."""
        shown = [f"{self.checked} checked"]
        shown += [f"{self.counts[outcome]} {outcome}" for outcome in ("drifted", "undocumented", "waived", "skipped")]
        shown += [f"{self.counts[outcome]} {outcome}" for outcome in ("warned", "unavailable") if self.counts[outcome]]
        if self.counts["error"]:
            shown.append(f"{self.counts['error']} error" + ("s" if self.counts["error"] > 1 else ""))
        return ", ".join(shown)


def in_manifest_order(results: Iterable[Result], ids: Sequence[str]) -> list[Result]:
    """``results`` in the order of ``ids`` (the checks' manifest order), so a
    report does not depend on which xdist worker finished first."""
    position: dict[str, int] = {}
    for index, check_id in enumerate(ids):
        position.setdefault(check_id, index)
    return sorted(results, key=lambda result: position.get(result.id, len(position)))


# -- JSON ---------------------------------------------------------------


def report_document(results: Sequence[Result], subject: Subject, exit_status: int | None = None) -> dict[str, Any]:
    """The JSON report as Python data (see ``docs/report-format.md``)."""
    from . import __version__

    summary = Summary.of(results, exit_status)
    return {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "tool": {"name": "pytest-prod-defaults", "version": __version__},
        "service": subject.service,
        "manifest": subject.manifest,
        "target": {"mode": subject.mode, "url": subject.url},
        "ok": summary.ok,
        "exit_status": exit_status,
        "run_failure": summary.run_failure(),
        "summary": {"checked": summary.checked, **summary.counts},
        "results": [result.to_dict() for result in results],
    }


def render_json(results: Sequence[Result], subject: Subject, exit_status: int | None = None) -> str:
    return json.dumps(report_document(results, subject, exit_status), indent=2, ensure_ascii=False) + "\n"


# -- Markdown -----------------------------------------------------------


def cell(text: str | None) -> str:
    """``text`` as one Markdown table cell: shown literally, on one row."""
    if not text:
        return ""
    if len(text) > CELL_LIMIT:
        text = text[: CELL_LIMIT - 1] + "…"
    return "<br>".join(markdown_literal(text).splitlines())


def code(text: str) -> str:
    """``text`` as an inline code span that survives a table cell."""
    text = " ".join(text.splitlines()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    padding = " " if "`" in text else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _default(result: Result) -> str:
    shown = code(result.id)
    if result.waiver_expired and result.waiver:
        shown += f"<br>waiver expired: {cell(result.waiver)}"
    return shown


def _where(result: Result) -> str:
    """The manifest line, and the base it was inherited from (``extends``)."""
    where = code(result.manifest)
    return f"{where}<br>inherited from {code(result.inherited)}" if result.inherited else where


def _live(result: Result) -> str:
    live = cell(result.live)
    return f"{live}<br>({cell(result.note)})" if result.note else live


def _found(result: Result) -> str:
    if not result.findings:
        return cell(result.note)
    return "<br>".join(cell(f"{finding['what']}: {', '.join(finding['items'])}") for finding in result.findings)


def _headline(summary: Summary, subject: Subject) -> str:
    about = f"Production defaults of {subject.service}" if subject.service else "Production defaults"
    if not summary.checked:
        failure = summary.run_failure()
        return f"## ❌ {about}: nothing checked ({failure})" if failure else f"## {about}: nothing checked"
    held = summary.counts["held"] + summary.counts["warned"]
    if summary.ok:
        return f"## ✅ {about}: {held} of {summary.checked} documented defaults hold"
    if (failure := summary.run_failure()) is not None:
        return f"## ❌ {about}: {held} of {summary.checked} documented defaults hold, but {failure}"
    failing = ", ".join(f"{summary.counts[outcome]} {outcome}" for outcome in FAILING if summary.counts[outcome])
    return f"## ❌ {about}: {failing}"


def render_markdown(results: Sequence[Result], subject: Subject, exit_status: int | None = None) -> str:
    """A report for a pull request: drifts first, with why, owner, rollback
    and the manifest line; held defaults last, collapsed when many."""
    summary = Summary.of(results, exit_status)
    by_outcome: dict[Outcome, list[Result]] = {outcome: [] for outcome in OUTCOMES}
    for result in results:
        by_outcome[result.outcome].append(result)

    target = f"`{subject.mode}` target" if subject.mode else "target"
    if subject.url:
        target += f" {code(subject.url)}"
    lines = [_headline(summary, subject), "", f"{summary.line()} — manifest {code(subject.manifest)}, {target}."]

    def section(title: str, outcomes: Sequence[Outcome], header: Sequence[str], row: Any) -> None:
        chosen = [result for outcome in outcomes for result in by_outcome[outcome]]
        if chosen:
            lines.extend(["", f"### {title} ({len(chosen)})", "", *table(header, map(row, chosen))])

    section(
        "Drifted",
        ["drifted"],
        ["default", "documented", "live", "why", "owner", "rollback", "manifest"],
        lambda r: [
            _default(r),
            cell(r.documented),
            _live(r),
            cell(r.why),
            cell(r.owner),
            cell(r.rollback),
            _where(r),
        ],
    )
    section(
        "Undocumented",
        ["undocumented"],
        ["check", "live but not in the manifest", "owner", "manifest"],
        lambda r: [_default(r), _found(r), cell(r.owner), _where(r)],
    )
    section(
        "Could not be checked",
        ["unavailable", "error"],
        ["default", "outcome", "cause", "owner", "manifest"],
        lambda r: [_default(r), r.outcome, cell(r.note), cell(r.owner), _where(r)],
    )
    section(
        "Undocumented, reported under a warn policy",
        ["warned"],
        ["check", "live but not in the manifest", "manifest"],
        lambda r: [_default(r), _found(r), _where(r)],
    )
    section(
        "Waived",
        ["waived"],
        ["default", "waiver", "owner", "manifest"],
        lambda r: [_default(r), cell(r.note), cell(r.owner), _where(r)],
    )
    section(
        "Skipped",
        ["skipped"],
        ["default", "reason", "manifest"],
        lambda r: [_default(r), cell(r.note), _where(r)],
    )
    held = by_outcome["held"]
    if held:
        rows = table(["default", "owner", "manifest"], ([code(r.id), cell(r.owner), _where(r)] for r in held))
        if len(held) > HELD_SHOWN_OPEN:
            # A blank line after <summary> lets GitHub render the table inside.
            lines += ["", "<details>", f"<summary>Held ({len(held)})</summary>", "", *rows, "", "</details>"]
        else:
            lines += ["", f"### Held ({len(held)})", "", *rows]
    return "\n".join(lines) + "\n"


# -- writing ------------------------------------------------------------


def render(path: str | Path, results: Sequence[Result], subject: Subject, exit_status: int | None = None) -> str:
    """The report ``path`` asks for, by its extension."""
    if report_format(path) == "json":
        return render_json(results, subject, exit_status)
    return render_markdown(results, subject, exit_status)


def write_report(path: Path, results: Sequence[Result], subject: Subject, exit_status: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(path, results, subject, exit_status), encoding="utf-8")


def step_summary_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where GitHub Actions collects this step's summary, when running there."""
    value = (os.environ if environ is None else environ).get(GITHUB_STEP_SUMMARY)
    return Path(value) if value else None


def append_step_summary(
    path: Path, results: Sequence[Result], subject: Subject, exit_status: int | None = None
) -> None:
    # Appended, never overwritten: other steps' summaries share the file.
    with path.open("a", encoding="utf-8") as summary:
        summary.write(render_markdown(results, subject, exit_status) + "\n")
