"""``[[rate_limit]]``: the request limit a path announces in ``X-RateLimit-Limit``.

A check kind of its own, registered through the same hook as the built-in
ones, and taking part in everything they do: ``pytest --check-defaults``
checks it, ``prod-defaults init --plugin rate_limit`` captures and writes
it, ``extends`` merges it by its path, ``prod-defaults docs`` shows it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pytest_prod_defaults import (
    BaseKind,
    CaptureContext,
    Check,
    CheckKind,
    DocumentedHeader,
    Drift,
    Entry,
    Manifest,
    ManifestWriter,
    ProbeRequest,
    Reads,
    Target,
)

HEADER = "X-RateLimit-Limit"


class RateLimitEntry(Entry):
    """One ``[[rate_limit]]`` table: the people fields come with ``Entry``."""

    path: str
    limit: int

    def default_name(self) -> str:
        return self.path


@dataclass
class CapturedRateLimit:
    """What ``init`` found on one path."""

    path: str
    limit: int


class RateLimitKind(BaseKind):
    key = "rate_limit"
    model = RateLimitEntry
    identity_key = "path"
    """One limit per path: an extending manifest's entry for a path replaces
    (or, with only people fields, amends) the base's entry for it."""
    title = "Rate limits"
    section_title = "rate limits"
    capture_order = -1
    """Before headers: the header is this kind's, not a ``[[header]]`` entry."""

    def checks(self, entry: RateLimitEntry, manifest: Manifest) -> Iterator[Check]:
        def run(target: Target) -> None:
            response = target.response(ProbeRequest(entry.path))
            live = response.first(HEADER)
            if live is None or live.strip() != str(entry.limit):
                answered = f"GET {entry.path} answered {response.status}"
                raise Drift(f"rate limit on {entry.path}", str(entry.limit), live or "missing", answered)

        yield Check(self.key, entry.display_name(), None, entry, run, reads=Reads(ProbeRequest(entry.path)))

    def probed_paths(self, entry: RateLimitEntry, manifest: Manifest) -> list[str]:
        return [entry.path]

    def documented_headers(self, entry: RateLimitEntry, manifest: Manifest) -> list[DocumentedHeader]:
        return [DocumentedHeader(HEADER.lower(), paths=frozenset({entry.path}))]

    def capture(self, context: CaptureContext) -> list[CapturedRateLimit]:
        found = []
        for item in context.responses:
            first, second = item.first.first(HEADER), item.second.first(HEADER)
            if first is not None and first == second and first.strip().isdigit():
                found.append(CapturedRateLimit(item.path, int(first)))
        context.claim([HEADER], [limit.path for limit in found])
        return found

    def write_entry(self, out: ManifestWriter, item: CapturedRateLimit) -> None:
        out.table(self.key, many=True)
        out.key("path", item.path)
        out.key("limit", item.limit, f"requests, as {HEADER} announced it")
        out.people()

    def summary(self, items: Sequence[CapturedRateLimit] | None) -> str | None:
        count = len(items or ())
        return f"{count} rate limit{'' if count == 1 else 's'}" if count else None


def pytest_prod_defaults_kinds() -> list[CheckKind]:
    return [RateLimitKind()]
