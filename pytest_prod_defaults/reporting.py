"""The pytest side of reports: results gathered as test reports arrive, one
summary section, and the ``--defaults-report`` files written once at the end.

Registered on the controller only. Under pytest-xdist the workers attach each
result to its test report (see ``DefaultsSession.pytest_runtest_makereport``)
and the controller sees every worker's reports here, so the files are written
once, with every result. Per item this costs one dictionary entry: no file
is touched before the session ends.

Imported only under ``--check-defaults``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from .checks import Check
from .items import manifest_nodeid
from .report import (
    FAILING,
    ReportPathError,
    Subject,
    Summary,
    append_step_summary,
    in_manifest_order,
    report_format,
    step_summary_path,
    write_report,
)
from .results import Result, result_of
from .runner import DefaultsRun

MANY_FAILURES = 1000
"""Failures past which this plugin writes them rather than pytest (see
:meth:`DefaultsReporter._write_failures_itself_when_many`)."""


def report_paths(config: pytest.Config) -> list[Path]:
    """The ``--defaults-report`` paths, checked before anything runs."""
    paths = []
    for given in config.getoption("defaults_reports") or ():
        path = Path(config.invocation_params.dir, given)
        try:
            report_format(given)
        except ReportPathError as exc:
            raise pytest.UsageError(f"--defaults-report {exc}") from None
        if path.is_dir():
            raise pytest.UsageError(f"--defaults-report {given}: is a directory")
        paths.append(path)
    return paths


class DefaultsReporter:
    """Plugin object gathering the results of one run, on the controller."""

    def __init__(self, config: pytest.Config, runs: list[DefaultsRun], paths: list[Path]) -> None:
        self.config = config
        self.runs = runs
        self.paths = paths
        self.by_nodeid: dict[str, dict[str, Any]] = {}
        self.written: list[Path] = []
        self.unwritten: list[str] = []
        self._checks_by_nodeid: dict[str, tuple[DefaultsRun, Check]] | None = None
        self.shortened = 0
        """Failures written by this plugin, when there were that many."""
        self.failed_reports: list[pytest.TestReport] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failed_reports.append(report)
        result = getattr(report, "prod_defaults", None)
        if result is not None:
            self.by_nodeid[report.nodeid] = result
        elif report.failed and report.nodeid in self.checks_by_nodeid():
            # A default whose item failed with no failing result of its own
            # (a conftest's setup hook raised, a teardown failed, an xdist
            # worker crashed under it): the reports must not call it held.
            known = self.by_nodeid.get(report.nodeid)
            if known is None or known["outcome"] not in FAILING:
                self.by_nodeid[report.nodeid] = self.failed_without_result(report)

    def checks_by_nodeid(self) -> dict[str, tuple[DefaultsRun, Check]]:
        if self._checks_by_nodeid is None:
            self._checks_by_nodeid = {
                f"{manifest_nodeid(self.config, run)}::{check.id}": (run, check)
                for run in self.runs
                for check in run.checks()
            }
        return self._checks_by_nodeid

    def failed_without_result(self, report: pytest.TestReport) -> dict[str, Any]:
        run, check = self.checks_by_nodeid()[report.nodeid]
        lines = [line for line in report.longreprtext.splitlines() if line.strip()]
        errors = [line[1:].strip() for line in lines if line.startswith("E ")]
        cause = (errors or lines or ["no cause given"])[-1]
        result = result_of(run.manifest, check)
        result.outcome = "error"
        result.note = run.manifest.redact(f"failed in {report.when}: {cause}")
        data = result.to_dict()
        if len(self.runs) > 1:
            data["id"] = report.nodeid  # several manifests: say which (as items.py does)
        return data

    def results(self) -> list[Result]:
        found = [Result.from_dict(data) for data in self.by_nodeid.values()]
        if len(self.runs) == 1:
            return in_manifest_order(found, [check.id for check in self.runs[0].checks()])
        # Several manifests: results carry their node ids (see items.py).
        return in_manifest_order(found, list(self.checks_by_nodeid()))

    @pytest.hookimpl(trylast=True)  # after other plugins have had their say on the exit status
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._write_failures_itself_when_many(session)
        if self.config.option.collectonly or not self.paths:
            return
        results = self.results()
        subject = Subject.of(*(run.manifest for run in self.runs))
        for path in self.paths:
            try:
                write_report(path, results, subject, int(session.exitstatus))
            except OSError as exc:
                self.unwritten.append(f"{path}: {exc.strerror or exc}")
            else:
                self.written.append(path)
        if self.unwritten:
            self._fail_for_unwritten(session, results, subject)
        # Only alongside a requested report: a pytester run inside a GitHub
        # job must not add itself to that job's summary.
        summary_path = step_summary_path()
        if summary_path is not None:
            try:
                append_step_summary(summary_path, results, subject, int(session.exitstatus))
            except OSError as exc:
                self.unwritten.append(f"$GITHUB_STEP_SUMMARY ({summary_path}): {exc.strerror or exc}")
                self._fail_for_unwritten(session, results, subject)

    def _fail_for_unwritten(self, session: pytest.Session, results: list[Result], subject: Subject) -> None:
        """A gate whose report is missing must not look green: a usage error,
        and the reports that were written say so too."""
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        for path in self.written:
            with contextlib.suppress(OSError):
                write_report(path, results, subject, int(session.exitstatus))

    def _write_failures_itself_when_many(self, session: pytest.Session) -> None:
        """Past :data:`MANY_FAILURES`, pytest's failure summary (each
        failure's teardown sections looked up among every report) grows with
        failures times items: 16,000 failing defaults took four minutes.
        Unless a traceback style was asked for, the failures are then written
        here instead (:meth:`_write_failures`), in one pass."""
        if session.testsfailed > MANY_FAILURES and self.config.option.tbstyle == "auto":
            self.config.option.tbstyle = "no"
            self.shortened = session.testsfailed

    def _write_failures(self, terminalreporter: Any) -> None:
        terminalreporter.write_sep("=", "FAILURES")
        for report in self.failed_reports:
            heading = report.head_line or report.nodeid
            if report.when != "call":
                heading = f"ERROR at {report.when} of {heading}"
            terminalreporter.write_sep("_", heading, red=True, bold=True)
            for line in report.longreprtext.splitlines():
                terminalreporter.write_line(line)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.config.option.collectonly:
            return
        results = self.results()
        terminalreporter.section("production defaults")
        terminalreporter.line(f"production defaults: {Summary.of(results).line()}")
        if self.shortened:
            self._write_failures(terminalreporter)
            terminalreporter.line(
                f"{self.shortened} failures, written above in one pass: pytest's own summary of so many takes"
                " time that grows with failures times items (pass --tb=long for it)"
            )
        warned = [result for result in results if result.outcome == "warned"]
        if warned:
            terminalreporter.line("undocumented production defaults (warn):")
            for result in warned:
                for finding in result.findings:
                    terminalreporter.line(f"{result.id}: {finding['what']}: {', '.join(finding['items'])}")
        for path in self.written:
            terminalreporter.line(f"report written: {_shown(self.config, path)}")
        for problem in self.unwritten:
            terminalreporter.line(f"report NOT written: {problem}", red=True)


def _shown(config: pytest.Config, path: Path) -> str:
    try:
        return str(path.relative_to(config.invocation_params.dir))
    except ValueError:
        return str(path)
