"""`config`: not built yet."""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
def pytest_prod_defaults_kinds() -> list[object]:
    return []
