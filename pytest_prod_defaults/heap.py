"""The objects alive once the app has answered are kept out of the garbage
collector's walks while the defaults run.

Every default takes pytest's own setup/call/teardown protocol, so every
plugin and ``conftest.py`` sees every phase of every item. (Reporting a
passing comparison without those phases was faster, but which plugins may be
passed over cannot be told apart with pytest's public API: see
``bench/RESULTS.md``, section 2.)

What this plugin still does for speed: the imported modules, the app and the
collected items live to the end of the run, and a FastAPI app is tens of
thousands of objects that every full collection would walk again as reports
pile up. So once a default has been checked (the app imported, started and
asked), the objects then alive are frozen (:func:`gc.freeze`), at the start
of the next item's protocol; they are handed back to the collector when
pytest has finished with the session (the last of its clean-ups). The ini
``defaults_full_protocol = true`` leaves the collector alone.

Imported only under ``--check-defaults``.
"""

from __future__ import annotations

import gc

import pytest


class LongLivedHeap:
    """Plugin object freezing the long-lived objects, in the process that
    runs the items (an xdist controller runs none: it never freezes)."""

    def __init__(self, config: pytest.Config) -> None:
        self.enabled = not config.getini("defaults_full_protocol")
        self._checked = False
        """A default's check has run in this session: the app has answered."""
        self._froze = False
        # pytest's own clean-ups (its final garbage collections among them)
        # were registered after this one, so they run before it.
        config.add_cleanup(self._thaw)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Only a default's call report carries a result (items.py).
        if report.when == "call" and hasattr(report, "prod_defaults"):
            self._checked = True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self) -> None:
        if self._checked and self.enabled and not self._froze and gc.get_freeze_count() == 0:
            gc.freeze()  # never one of the user's undone: only when nothing was frozen
            self._froze = True

    def _thaw(self) -> None:
        if self._froze:
            gc.unfreeze()
            self._froze = False
