"""``[undocumented]``: what is live but not in the manifest (checks not built yet)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from ..checks import BaseKind, Check
from ..hookspecs import hookimpl
from ..manifest import Manifest
from ..model import Entry, Policy


class UndocumentedPolicy(Entry):
    headers: Policy = "warn"
    settings: Policy = "warn"
    middleware: Policy = "warn"
    config: Policy = "warn"
    ignore_headers: list[str] = Field(default_factory=list)


class UndocumentedKind(BaseKind):
    key = "undocumented"
    many = False
    model = UndocumentedPolicy

    def checks(self, entry: UndocumentedPolicy, manifest: Manifest) -> Iterable[Check]:
        return ()


@hookimpl
def pytest_prod_defaults_kinds() -> list[UndocumentedKind]:
    return [UndocumentedKind()]
