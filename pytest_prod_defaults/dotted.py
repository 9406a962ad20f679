"""How a manifest names code: a class or a function by ``module.qualname``.

Shared by the checks that compare live values (a middleware's ``dispatch``,
a config field holding a class) and by ``prod-defaults init``, which writes
them; imports nothing of the package.
"""

from __future__ import annotations

import inspect
from typing import Any


def dotted_path(obj: Any) -> str:
    """``module.qualname`` of a function or class: how a manifest names it."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__
    return f"{module}.{qualname}" if module else str(qualname)


def is_code(value: object) -> bool:
    """A class or function: compared and shown as its dotted path."""
    return isinstance(value, type) or inspect.isroutine(value)
