"""Hooks of pytest-prod-defaults.

A check kind, built in or not, reaches the plugin through
:func:`pytest_prod_defaults_kinds`. Implement it in a ``conftest.py`` at the
rootdir, or in an installed plugin, and return your kinds::

    def pytest_prod_defaults_kinds():
        return [RateLimitKind()]

This module imports pluggy only, so adding the specs costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .checks import CheckKind

hookspec = pluggy.HookspecMarker("pytest")
hookimpl = pluggy.HookimplMarker("pytest")


@hookspec
def pytest_prod_defaults_kinds() -> Sequence[CheckKind]:  # type: ignore[empty-body]
    """Return the check kinds this plugin contributes.

    Each kind names its manifest table (``key``), says whether the table is
    an array (``many``), gives the pydantic model of one entry (``model``, a
    subclass of :class:`pytest_prod_defaults.Entry`) and turns each entry into
    :class:`pytest_prod_defaults.Check` objects (``checks(entry, manifest)``).
    Two kinds may not share a ``key``.

    Called once per run, only under ``--check-defaults`` (and by the
    ``prod-defaults`` command), after the rootdir's ``conftest.py`` files are
    loaded.
    """
