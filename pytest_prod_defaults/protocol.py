"""How the manifest's items run: a passing comparison is reported directly.

Most defaults compare a response already fetched for an earlier item (one GET
of a path serves every header documented on it). pytest's protocol around
such an item (setup and teardown of its collectors, output and log capture
for three phases) costs several times the comparison. So when a check holds
judged only from what the target has already answered (no I/O, nothing that
could print or log), its setup, call and teardown reports are made here,
passed, as pytest makes them, and go through the same hooks (terminal,
JUnit XML, ``--lf``, xdist, the defaults report).

Everything else takes pytest's own protocol, which runs the check again the
ordinary way: a drift, a finding, a skip, a marked item, a check that must
send a request, the first and the last item of a manifest (they set its
collectors up and tear them down), and every item when some plugin must see
every phase (see :func:`_plan_for`) or the ini
``defaults_full_protocol`` is true.

While these reports are made, the objects alive at the first of them (the
imported modules, the app, the collected items) are kept out of the garbage
collector's walks (:func:`gc.freeze`): they live to the end of the run, and a
FastAPI app's tens of thousands of objects would otherwise be walked again and
again as reports pile up. They are handed back to the collector when pytest
has finished with the session (the last of its clean-ups).

Imported only under ``--check-defaults``.
"""

from __future__ import annotations

import gc
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import pytest

from .items import DefaultItem

PHASE_HOOKS = ("pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_teardown")
OWN = ("_pytest.", "pytest_prod_defaults.")
"""pytest's own plugins and this one's, by module."""
ONLY_THEIR_OWN_TESTS = ("_hypothesis_pytestplugin",)
"""Plugins read to act on their own test functions only (hypothesis's phase
and report hooks return at once for an item without ``.obj``)."""

Plan = Literal["protocol", "through_hook", "made_here"]
"""How a manifest's passing comparisons are reported: by pytest's own
protocol; directly, every report made by pytest_runtest_makereport; or
directly, the setup and teardown reports made here from the call report."""


class DirectReports:
    """Plugin object making the reports of passing comparisons directly."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.full_protocol = bool(
            config.getini("defaults_full_protocol")
            or config.getoption("setuponly", False)
            or config.getoption("setupplan", False)
        )
        self._handed_to: tuple[pytest.Item, pytest.Item | None] | None = None
        """The last (item, nextitem) pytest ran."""
        self._plans: dict[pytest.Collector | None, Plan] = {}
        """Per manifest (the items' parent): the plugins do not change mid-run."""
        self._froze = False
        # pytest's own clean-ups (its final garbage collections among them)
        # were registered after this one, so they run before it.
        config.add_cleanup(self._thaw)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        previous, self._handed_to = self._handed_to, (item, nextitem)
        if not (
            isinstance(item, DefaultItem)
            and previous is not None
            and previous[1] is item  # pytest ran the previous item knowing this one came next,
            and previous[0].parent is item.parent  # so the manifest's setup stands,
            and nextitem is not None
            and nextitem.parent is item.parent  # and no teardown is due after this one.
            and next(item.iter_markers(), None) is None
        ):
            return None
        plan = self._plan(item)
        if plan == "protocol":
            return None
        setup = _passed("setup") if plan == "through_hook" else None
        call = pytest.CallInfo.from_call(
            item.held_without_io, "call", reraise=(KeyboardInterrupt, pytest.exit.Exception)
        )
        if call.excinfo is not None or not call.result:
            return None
        self._freeze()
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        if setup is not None:
            # Every report through pytest_runtest_makereport, as pytest makes
            # them: plugins keep per-item state there (pytest-rerunfailures
            # sets its up on the setup report) and decorate reports.
            phases = (setup, call, _passed("teardown"))
            reports = [ihook.pytest_runtest_makereport(item=item, call=phase) for phase in phases]
        else:
            reports = _made_like_pytest(item, call)
        for report in reports:
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def _plan(self, item: DefaultItem) -> Plan:
        plan = self._plans.get(item.parent)
        if plan is None:
            plan = self._plans[item.parent] = "protocol" if self.full_protocol else _plan_for(item)
        return plan

    def _freeze(self) -> None:
        if not self._froze and gc.get_freeze_count() == 0:  # never undo a freeze of the user's
            gc.freeze()
            self._froze = True

    def _thaw(self) -> None:
        if self._froze:
            gc.unfreeze()
            self._froze = False


def _nothing() -> None:
    return None


def _passed(when: Literal["setup", "teardown"]) -> pytest.CallInfo[None]:
    """A setup or teardown that had nothing to do."""
    return pytest.CallInfo.from_call(_nothing, when)


def _made_like_pytest(item: pytest.Item, call: pytest.CallInfo[Any]) -> list[pytest.TestReport]:
    """The setup, call and teardown reports pytest's own
    pytest_runtest_makereport makes for a passed item with no marks and no
    fixtures: the call report through the hook (this plugin's result rides on
    it), the other two from it, sparing two hook calls an item."""
    call_report: pytest.TestReport = item.ihook.pytest_runtest_makereport(item=item, call=call)
    # The parsed node id where pytest has one (9+), and the same keywords,
    # rather than parsing the id and walking the node chain again.
    nodeid = getattr(call_report, "id", call_report.nodeid)
    keywords = dict(call_report.keywords)

    def passed(when: Literal["setup", "teardown"], at: float) -> pytest.TestReport:
        return pytest.TestReport(
            nodeid,
            item.location,
            keywords,
            "passed",
            None,
            when,
            start=at,
            stop=at,
            user_properties=item.user_properties,
        )

    return [passed("setup", call.start), call_report, passed("teardown", call.stop)]


def _others(item: pytest.Item, names: tuple[str, ...]) -> dict[int, object]:
    """The plugins other than pytest and this one implementing any of the
    hooks ``names`` for ``item``, by identity (a plugin object need not be
    hashable)."""
    found: dict[int, object] = {}
    for name in names:
        for impl in getattr(item.ihook, name).get_hookimpls():
            plugin = impl.plugin
            module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
            if not module.startswith(OWN):
                found[id(plugin)] = plugin
    return found


def _plan_for(item: pytest.Item) -> Plan:
    """Every item takes pytest's protocol when some plugin must see every
    item's setup, call and teardown:

    - a conftest.py implementing a per-phase hook or
      pytest_runtest_makereport (the project's own hooks, the likeliest to
      apply to every item);
    - any plugin implementing both a per-phase hook and a report hook (what
      its phases prepare, its reports read: allure-pytest names the test in
      its setup hook).

    A plugin with per-phase hooks alone (pytest-randomly reseeding) does
    not, nor one read to touch only its own tests (:data:`ONLY_THEIR_OWN_TESTS`).
    Otherwise the reports go through pytest_runtest_makereport when a plugin
    other than pytest implements it, and are made here when none does.
    """
    phases = _others(item, PHASE_HOOKS)
    makereport = _others(item, ("pytest_runtest_makereport",))
    reports = {**makereport, **_others(item, ("pytest_runtest_logreport",))}
    if any(_is_conftest(plugin) for plugin in {**phases, **makereport}.values()):
        return "protocol"
    coupled = [plugin for key, plugin in phases.items() if key in reports]
    if any(getattr(plugin, "__name__", None) not in ONLY_THEIR_OWN_TESTS for plugin in coupled):
        return "protocol"
    return "through_hook" if makereport else "made_here"


def _is_conftest(plugin: object) -> bool:
    return Path(getattr(plugin, "__file__", None) or "").name == "conftest.py"
