"""Importing the app: ``module:attribute`` (or ``module:factory()``) among
the target's own modules, with ``[target].env`` set while it imports.

Nothing here starts or calls the app (:mod:`.app_loop`, the transports).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .outcomes import TargetUnavailable


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ``, and put back what was there."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def one_line(exc: BaseException) -> str:
    """An exception as a failure text shows it: its type and first line."""
    if isinstance(exc, SystemExit):
        return f"sys.exit({exc.code!r}) was called"
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _module_root(module: Any) -> list[Path]:
    file = getattr(module, "__file__", None)
    places = [file] if file else list(getattr(module, "__path__", []))
    return [Path(place).resolve() for place in places]


def _lives_in(module: Any, top: str, root: Path) -> bool:
    """Whether the top-level module ``top`` was imported from ``root`` (as
    ``root/top.py`` or the package ``root/top``), not merely from somewhere
    under it."""
    own = root / top
    return any(
        place == own.with_suffix(".py") or place == own or own in place.parents for place in _module_root(module)
    )


class ModuleSpace:
    """The modules a target imported from its own root, kept apart from an
    already imported package of the same name that lives elsewhere (an
    installed release of the service, or a second service called ``app``).

    Every import for one target (its app, its ``[config]`` object) goes
    through one space, so a module the app imported is never imported a
    second time: its import-time state (a metrics registry) is made once,
    and the config object read is the one the app uses.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._kept: dict[str, dict[str, Any]] = {}
        """Per top-level name, this target's modules while set aside."""

    @contextlib.contextmanager
    def active(self, top: str) -> Iterator[None]:
        """While importing ``top`` from this root: this space's modules of
        that name in ``sys.modules``, any other set aside and put back after.
        The first importer of a name keeps it in ``sys.modules`` otherwise."""

        def of_top() -> dict[str, Any]:
            return {name: sys.modules[name] for name in list(sys.modules) if name == top or name.startswith(f"{top}.")}

        existing = sys.modules.get(top)
        if top not in self._kept and (existing is None or _lives_in(existing, top, self.root)):
            yield
            return
        aside = of_top()
        for name in aside:
            del sys.modules[name]
        sys.modules.update(self._kept.get(top, {}))
        try:
            yield
        finally:
            # The other package's modules come back; this space's modules of
            # other names stay too (an app resolves its own at run time).
            self._kept[top] = of_top()
            sys.modules.update(aside)


def import_app(reference: str, root: Path, env: Mapping[str, str], space: ModuleSpace | None = None) -> Any:
    """Import ``module:attribute`` (or call ``module:factory()``) with
    ``root`` on ``sys.path`` and ``env`` set, in ``space`` (a new one for
    ``root`` if not given); raise :class:`TargetUnavailable` with the cause
    in one line."""
    module_name, _, attribute = reference.partition(":")
    call = attribute.endswith("()")
    attribute = attribute.removesuffix("()")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    space = space if space is not None else ModuleSpace(root)
    with environment(env), space.active(module_name.partition(".")[0]):
        try:
            obj: Any = importlib.import_module(module_name)
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            # sys.exit() at import (a settings check that gives up) is the
            # app's failure, not the end of the pytest run.
            raise TargetUnavailable(f"cannot import {module_name!r}: {one_line(exc)}") from None
        for part in attribute.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise TargetUnavailable(f"{reference}: {module_name!r} has no attribute {attribute!r}") from None
        if call:
            try:
                obj = obj()
            except (Exception, SystemExit, KeyboardInterrupt) as exc:
                raise TargetUnavailable(f"{reference} raised {one_line(exc)}") from None
    return obj
