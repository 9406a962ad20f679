"""The pytest side: one item per check, failures rendered for a CI log.

Imported only under ``--check-defaults``."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .checks import Check
from .explain import explain, waiver_expired
from .manifest import ManifestError
from .outcomes import Drift, NotApplicable, TargetUnavailable, Undocumented
from .registry import KindError, builtin_kind_modules, ordered_kinds
from .results import Result, result_of
from .runner import DefaultsRun

if TYPE_CHECKING:
    from .witness import Witness


class UndocumentedDefaultWarning(pytest.PytestWarning):
    """Something live is not in the manifest, under a ``warn`` policy."""


class RedactingFilter(logging.Filter):
    """Hides the credentials a manifest sends in log records written as
    they come: the app may log the requests it was sent."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redacted = redact

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the handler reports it as logging does
            return True
        if (hidden := self._redacted(message)) != message:
            record.msg, record.args = hidden, None
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redacted(record.exc_text)
        return True


class DefaultsSession:
    """Plugin object holding the run of each manifest: registered under
    ``--check-defaults``."""

    def __init__(self, config: pytest.Config, runs: list[DefaultsRun]) -> None:
        self.config = config
        self.runs = runs
        self.interrupted = False
        self._terminal_fd: int | None = None
        self._witness: Witness | None = None

    @classmethod
    def start(cls, config: pytest.Config, paths: list[Path]) -> DefaultsSession:
        manager = config.pluginmanager
        for module in builtin_kind_modules():
            if not manager.is_registered(module):
                manager.register(module, f"prod_defaults.{module.__name__.rsplit('.', 1)[1]}")
        try:
            kinds = ordered_kinds(config.hook.pytest_prod_defaults_kinds())
        except KindError as exc:
            raise pytest.UsageError(f"pytest-prod-defaults: {exc}") from None
        overrides: dict[str, Any] = {}
        if config.getoption("defaults_url"):
            overrides = {"mode": "url", "base_url": config.getoption("defaults_url")}
        if config.getoption("defaults_mode"):
            overrides["mode"] = config.getoption("defaults_mode")
        runs: list[DefaultsRun] = []
        problems: list[str] = []
        for path in paths:
            try:
                runs.append(DefaultsRun.open(_display_path(config, path), kinds, overrides))
            except ManifestError as exc:
                problems.append(str(exc))
        if problems:
            for run in runs:
                run.close()
            raise pytest.UsageError("unusable defaults manifest:\n" + "\n".join(problems))
        return cls(config, runs)

    def close(self) -> None:
        for run in self.runs:
            run.close(hurry=self.interrupted)
        if self._witness is not None:
            self._witness.close()
        if self._terminal_fd is not None:
            os.close(self._terminal_fd)
            self._terminal_fd = None

    def redact(self, text: str) -> str:
        """``text`` with the credentials of every manifest of the run hidden."""
        for run in self.runs:
            text = run.manifest.redact(text)
        return text

    def pytest_keyboard_interrupt(self) -> None:
        # The user wants out: the app's shutdown gets half a second, not its timeout.
        self.interrupted = True

    def witness(self) -> Witness | None:
        """The witness of this process's checks (:mod:`.witness`), started
        with the first check that runs. None on an xdist worker, whose
        controller names the item a crashed worker was running."""
        if self._witness is None and self._terminal_fd is not None:
            from .witness import Witness

            self._witness = Witness(stderr=self._terminal_fd)
        return self._witness

    @pytest.hookimpl(tryfirst=True)
    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage) -> None:
        # Before the terminal keeps it for its summary: a warning the app
        # raised (or pytest's about an exception in the app's threads) may
        # quote a credential.
        text = str(warning_message.message)
        if (hidden := self.redact(text)) != text:
            category = type(warning_message.message)
            try:
                warning_message.message = category(hidden)
            except Exception:  # a warning class that takes other arguments
                warning_message.message = UserWarning(hidden)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not hasattr(self.config, "workerinput"):
            # Outside the tests' capture here: where the witness must speak.
            with contextlib.suppress(OSError):
                self._terminal_fd = os.dup(2)
        # Live logs (log_cli) and the log file are written as records come,
        # not kept with a report: redact them as they are handled.
        logging_plugin = self.config.pluginmanager.get_plugin("logging-plugin")
        if logging_plugin is not None:
            for name in ("log_cli_handler", "log_file_handler"):
                handler = getattr(logging_plugin, name, None)
                if isinstance(handler, logging.Handler):
                    handler.addFilter(RedactingFilter(self.redact))

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        # Prepended before -k, -m and --lf filter the list, so they apply to
        # these items as to any other.
        collected: list[pytest.Item] = []
        for run in self.runs:
            manifest_file = DefaultsFile.from_parent(
                session, path=run.manifest.path.resolve(), nodeid=manifest_nodeid(self.config, run), run=run
            )
            found = manifest_file.collect()
            # The file is not under the collected paths, so report it as
            # pytest does for the files it walks: the terminal counts from it.
            report = pytest.CollectReport(
                manifest_file.nodeid, "passed", None, list[pytest.Item | pytest.Collector](found)
            )
            session.ihook.pytest_collectreport(report=report)
            collected.extend(found)
        items[:0] = collected

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if not isinstance(item, DefaultItem) or item.result is None:
            return report
        if call.when == "call" and item.result.outcome == "skipped" and isinstance(report.longrepr, tuple):
            # The check does not apply to this target (runtest's skip): at
            # the manifest line (reportinfo), as pytest places a skip mark's,
            # rather than at the line of this module that raised it.
            path, line, _ = item.reportinfo()
            report.longrepr = (os.fspath(path), line + 1, report.longrepr[2])
        # The result moves to the report (xdist sends it to the controller);
        # the item keeps nothing it no longer needs, as it lives to the end.
        ran = call.when == "call" or (call.when == "setup" and report.skipped)
        if ran:
            result = item.result.to_dict()
            item.result = None
            if len(self.runs) > 1:
                result["id"] = item.nodeid  # several manifests: say which
            report.prod_defaults = result
        return report


SESSION_KEY: pytest.StashKey[DefaultsSession] = pytest.StashKey()
"""Where ``config.stash`` keeps the session's plugin object under
``--check-defaults``: beside the class it holds, so the entry module imports
this one and never the reverse."""


def manifest_nodeid(config: pytest.Config, run: DefaultsRun) -> str:
    """The node id of a manifest: its path from the rootdir, as pytest names
    files; reports order results by it."""
    path = run.manifest.path.resolve()
    try:
        return path.relative_to(config.rootpath.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _display_path(config: pytest.Config, path: Path) -> Path:
    """The manifest path relative to the invocation folder when under it, so
    failures read ``defaults.toml:12``."""
    try:
        return path.resolve().relative_to(Path(config.invocation_params.dir).resolve())
    except ValueError:
        return path


class DefaultsFile(pytest.File):
    def __init__(self, *, run: DefaultsRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run = run

    def collect(self) -> list[DefaultItem]:
        return [
            # A string node id lets pytest parse the ``[detail]`` as it parses
            # a parametrized test's, so --lf and xdist see the same ids.
            DefaultItem.from_parent(self, name=check.id, nodeid=f"{self.nodeid}::{check.id}", check=check, run=self.run)
            for check in self.run.checks()
        ]


class DefaultItem(pytest.Item):
    def __init__(self, *, check: Check, run: DefaultsRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.run = run
        self.user_properties.append(("kind", check.kind))
        self.result: Result | None = None
        entry = check.entry
        if entry.skip and not waiver_expired(check):
            # A waiver is known from the manifest alone: a skip mark, so
            # pytest reports it at the manifest line like any marked test.
            reason = entry.skip if entry.until is None else f"{entry.skip} (waived until {entry.until})"
            self._finish(skipped=reason, waived=True)
            self.add_marker(pytest.mark.skip(reason=reason))

    def _finish(self, **how: Any) -> Result:
        self.result = result_of(self.run.manifest, self.check, **how)
        return self.result

    def runtest(self) -> None:
        # Only a check that may run the app's code can end the process; one
        # judged from what is here already need not be named to the witness.
        witness = self.config.stash[SESSION_KEY].witness() if self.run.reaches_the_app(self.check) else None
        if witness is not None:
            witness.checking(self.nodeid)
        try:
            findings = self.run.run_check(self.check)
        except NotApplicable as exc:
            self._finish(skipped=str(exc))
            raise pytest.skip.Exception(str(exc)) from None  # placed by pytest_runtest_makereport
        except Exception as exc:
            result = self._finish(error=exc)
            if isinstance(exc, Drift):
                # JUnit XML carries these as <property> elements (the live
                # value as the result shows it: redacted).
                self.user_properties += [("documented", result.documented), ("live", result.live)]
            raise
        finally:
            if witness is not None:
                witness.done()
        self._finish(findings=findings)
        # The summary lists them from the result, which reaches an xdist controller.
        for finding in findings:
            # Attributed to the manifest line, not to this module: that is
            # where a person goes to document what was found.
            line = self.check.own_line() or self.check.entry.line or 1
            warnings.warn_explicit(
                UndocumentedDefaultWarning(f"{finding.what}: {', '.join(finding.items)}"),
                UndocumentedDefaultWarning,
                str(self.run.manifest.path),
                line,
                module="pytest_prod_defaults.manifest",
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        redact = self.run.manifest.redact
        if isinstance(excinfo.value, (Drift, TargetUnavailable, Undocumented)):
            return redact(explain(self.run.manifest, self.check, excinfo.value))
        shown = super().repr_failure(excinfo, style=style)
        # a traceback, its locals with -l, may quote a credential sent
        text = str(shown)
        return hidden if (hidden := redact(text)) != text else shown

    def add_report_section(self, when: str, key: str, content: str) -> None:
        # What the app printed or logged while probed (its captured output,
        # shown with a failure and in JUnit XML) may quote the credentials it
        # was sent: an app logging its request headers.
        super().add_report_section(when, key, self.run.manifest.redact(content))

    def reportinfo(self) -> tuple[Path, int, str]:
        # A default the manifest does not write (``[undocumented]`` left out)
        # is placed at the top of the file: a skip reported at the item's
        # location needs a line.
        line = self.check.own_line() or self.check.entry.line
        return self.path, (line - 1 if line else 0), self.name
