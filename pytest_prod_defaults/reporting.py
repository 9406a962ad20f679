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

from pathlib import Path
from typing import Any

import pytest

from .items import manifest_nodeid
from .report import (
    ReportPathError,
    Subject,
    Summary,
    append_step_summary,
    in_manifest_order,
    report_format,
    step_summary_path,
    write_report,
)
from .results import Result
from .runner import DefaultsRun


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

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = getattr(report, "prod_defaults", None)
        if result is not None:
            self.by_nodeid[report.nodeid] = result

    def results(self) -> list[Result]:
        found = [Result.from_dict(data) for data in self.by_nodeid.values()]
        if len(self.runs) == 1:
            return in_manifest_order(found, [check.id for check in self.runs[0].checks()])
        # Several manifests: results carry their node ids (see items.py).
        order = [f"{manifest_nodeid(self.config, run)}::{check.id}" for run in self.runs for check in run.checks()]
        return in_manifest_order(found, order)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.config.option.collectonly or not self.paths:
            return
        results = self.results()
        subject = Subject.of(*(run.manifest for run in self.runs))
        for path in self.paths:
            try:
                write_report(path, results, subject)
            except OSError as exc:
                self.unwritten.append(f"{path}: {exc.strerror or exc}")
            else:
                self.written.append(path)
        # Only alongside a requested report: a pytester run inside a GitHub
        # job must not add itself to that job's summary.
        summary_path = step_summary_path()
        if summary_path is not None:
            try:
                append_step_summary(summary_path, results, subject)
            except OSError as exc:
                self.unwritten.append(f"$GITHUB_STEP_SUMMARY ({summary_path}): {exc.strerror or exc}")
        if self.unwritten:
            # A gate whose report is missing must not look green.
            session.exitstatus = pytest.ExitCode.USAGE_ERROR

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.config.option.collectonly:
            return
        results = self.results()
        terminalreporter.section("production defaults")
        terminalreporter.line(f"production defaults: {Summary.of(results).line()}")
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
