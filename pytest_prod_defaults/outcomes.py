"""What running a check can end in, besides holding.

Imports nothing of the package, so every module (the target, the server,
the manifest, the kinds) can raise these without importing what a kind is.
"""

from __future__ import annotations

from dataclasses import dataclass


class Drift(Exception):
    """A documented default does not hold. The first line of the report is
    ``<what>: documented <documented>, live <live>``."""

    def __init__(self, what: str, documented: str, live: str, detail: str | None = None):
        super().__init__(what, documented, live, detail)
        self.what = what
        self.documented = documented
        self.live = live
        self.detail = detail

    def headline(self) -> str:
        line = f"{self.what}: documented {self.documented}, live {self.live}"
        return f"{line} ({self.detail})" if self.detail else line


class TargetUnavailable(Exception):
    """The check could not reach what it inspects: the app did not import,
    start, or answer in time. The message is the cause in a line or two."""


class NotApplicable(Exception):
    """The check cannot run against this target (a plain ASGI app has no
    middleware list, a URL has no app object): reported as skipped."""


@dataclass(frozen=True)
class Finding:
    """Something live that the manifest does not mention (a ``warn`` policy
    reports these instead of failing)."""

    what: str
    items: tuple[str, ...]


class Undocumented(Exception):
    """Something live is not in the manifest; raised under the ``fail`` policy."""

    def __init__(self, finding: Finding):
        super().__init__(finding)
        self.finding = finding
