"""Gather check kinds from the hook, in a fixed order."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from types import ModuleType

import pluggy

from . import hookspecs
from .checks import CheckKind, completed
from .kinds import BUILTIN_KIND_MODULES


class KindError(Exception):
    """A contributed kind is malformed or claims a key another kind has."""


def builtin_kind_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in BUILTIN_KIND_MODULES]


def ordered_kinds(contributions: Iterable[Sequence[CheckKind] | None]) -> list[CheckKind]:
    """Flatten hook results: built-in kinds in their documented order, then
    the others by key, so every process (and xdist worker) agrees."""
    kinds: dict[str, CheckKind] = {}
    for contribution in contributions:
        for kind in contribution or ():
            for attribute in ("key", "many", "model", "checks"):
                if not hasattr(kind, attribute):
                    raise KindError(f"check kind {kind!r} has no {attribute!r}")
            if kind.key in kinds and kinds[kind.key] is not kind:
                raise KindError(
                    f"two check kinds claim the manifest key {kind.key!r}: {kinds[kind.key]!r} and {kind!r}"
                )
            kinds[kind.key] = kind
    completed_kinds = [completed(kind) for kind in kinds.values()]
    builtin_keys = [name.rsplit(".", 1)[1] for name in BUILTIN_KIND_MODULES]
    rank = {key: index for index, key in enumerate(builtin_keys)}
    return sorted(completed_kinds, key=lambda k: (rank.get(k.key, len(rank)), k.key))


def standalone_plugin_manager() -> pluggy.PluginManager:
    """A plugin manager with our hooks and the built-in kinds, for use
    outside pytest (the ``prod-defaults`` command)."""
    manager = pluggy.PluginManager("pytest")
    manager.add_hookspecs(hookspecs)
    for module in builtin_kind_modules():
        manager.register(module)
    manager.load_setuptools_entrypoints("prod_defaults")
    return manager
