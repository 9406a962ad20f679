"""What a probe is: a request, its response, and what a check reads.

The words every part of the target shares (the transports, the clients
they send through, the checks and their read-only view), kept free of
pytest, httpx and pydantic: the upload client and the command line import
them.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .outcomes import TargetUnavailable
from .redaction import REDACTED, secret_name

BODY_LIMIT = 1024 * 1024
"""Bytes of a response body kept for checks; the rest is read and dropped."""
OPEN_ENDED = ("text/event-stream",)
"""Media types whose body never ends by design (server-sent events): once
their head has come, there is no end to wait for."""


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    """One distinct request; equal requests share one response."""

    path: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ProbeResponse:
    """An answer as the checks read it, whichever way it came: in-process,
    over a socket, streamed or not."""

    status: int
    headers: tuple[tuple[str, str], ...]
    """(lower-case name, value) pairs, repeated headers kept apart."""
    body: bytes = b""
    elapsed: float = 0.0
    complete: bool = True
    """False: a stream, its body cut off at ``[target].timeout`` (or at once,
    for server-sent events) and ``body`` what had come by then."""
    body_sent: int = 0
    """Bytes of a streamed request body handed to the connection before the
    answer, as the upload client counts them (:mod:`.upload_client`); not
    counted in-process, where the app pulls each chunk itself."""

    def values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive)."""
        return list(self._by_name.get(name.lower(), ()))

    @functools.cached_property
    def _by_name(self) -> dict[str, list[str]]:
        # Built once per response: a thousand checks on one response each
        # look up their header instead of scanning all of them.
        index: dict[str, list[str]] = {}
        for key, value in self.headers:
            index.setdefault(key, []).append(value)
        return index

    def first(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None

    @functools.cached_property
    def content(self) -> bytes:
        """The body as the app wrote it: a gzip or deflate Content-Encoding
        undone (every probe accepts them, as browsers do), at most
        :data:`BODY_LIMIT` bytes. ``body`` stays as it came over the wire."""
        encoding = (self.first("content-encoding") or "").strip().lower()
        if encoding not in ("gzip", "x-gzip", "deflate"):
            return self.body
        # zlib reads gzip with 16 + MAX_WBITS; deflate is zlib-wrapped, or raw from some servers
        for wbits in (16 + zlib.MAX_WBITS,) if encoding != "deflate" else (zlib.MAX_WBITS, -zlib.MAX_WBITS):
            try:
                return zlib.decompressobj(wbits).decompress(self.body, BODY_LIMIT)
            except zlib.error:
                continue
        return self.body

    def names(self) -> list[str]:
        return list(dict.fromkeys(key for key, _ in self.headers))

    def __repr__(self) -> str:
        # Shown by pytest's --showlocals when a check fails unexpectedly.
        headers = tuple((key, REDACTED if secret_name(key) else value) for key, value in self.headers)
        return f"ProbeResponse(status={self.status}, headers={headers!r}, body=<{len(self.body)} bytes>)"


def open_ended(headers: Sequence[tuple[str, str]]) -> bool:
    """Whether a response with these (lower-case) headers is a stream with no end."""
    return any(name == "content-type" and value.split(";")[0].strip().lower() in OPEN_ENDED for name, value in headers)


class RequestFailed(TargetUnavailable):
    """A request was sent and got no answer: no connection, a connection
    broken (the app crashing while answering), or no answer in time. An
    answer, a 500 included, is not a failure."""


class RequestTimedOut(RequestFailed):
    """A request had no answer within ``[target].timeout``."""


@dataclass(frozen=True, init=False, slots=True)
class Reads:
    """What a check reads through the target, declared on :class:`Check`
    (``Check(..., reads=Reads(ProbeRequest("/")))``): the responses to
    ``requests`` (:meth:`Target.response`), the application object
    (``app=True``, :meth:`Target.app`), objects loaded by reference
    (``objects``, :meth:`Target.load`).

    A check that declares its reads is run against a read-only view holding
    exactly those (:class:`.view.TargetView`), fetched first (each distinct
    request once per run, as ever); a read that failed raises its failure
    where the check reads it. It must send nothing of its own
    (:meth:`Target.fetch`, :meth:`Target.send_body`): such a check declares
    no reads and is handed the target itself.
    """

    requests: tuple[ProbeRequest, ...]
    app: bool
    objects: tuple[str, ...]

    def __init__(self, *requests: ProbeRequest, app: bool = False, objects: Iterable[str] = ()) -> None:
        object.__setattr__(self, "requests", requests)
        object.__setattr__(self, "app", app)
        object.__setattr__(self, "objects", tuple(objects))
