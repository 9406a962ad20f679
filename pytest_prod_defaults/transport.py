"""How a probe reaches the app: one interface, two ways.

- :class:`.in_process.InProcessTransport` (mode ``asgi``) calls the app
  directly, as an ASGI server would (:mod:`.asgi_client`).
- :class:`.socket_transport.SocketTransport` (modes ``server`` and ``url``)
  talks HTTP over a real connection: httpx for plain requests, the upload
  client (:mod:`.upload_client`) for streamed bodies.

The target picks one when it starts; everything after that (caching,
failures remembered, credentials learned, timeouts) is the same for both.
Every coroutine here runs on the target's :class:`.app_loop.ProbeLoop`.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from .app_loop import ProbeLoop
    from .probes import ProbeRequest, ProbeResponse

Content: TypeAlias = "Callable[[], AsyncIterator[bytes]] | bytes | None"
"""A request body: none, bytes, or a callable making a stream of chunks."""
Headers: TypeAlias = Sequence[tuple[str, str]]
DEFAULT_BASE_URL = "http://testserver"
"""The base URL of a target that is not reached over a socket."""


class Transport(abc.ABC):
    """Sends one probe at a time to a started app, and closes it down.

    ``headers`` are the request's as the target merged them
    (:meth:`Target.request_headers`); each transport adds what its way of
    sending needs (Host, chunked framing).
    """

    base_url: str = DEFAULT_BASE_URL

    @abc.abstractmethod
    async def send(self, request: ProbeRequest, headers: Headers, content: Content, timeout: float) -> ProbeResponse:
        """The answer to ``request``, its body kept up to
        :data:`.probes.BODY_LIMIT`; a stream still going at ``timeout`` is cut
        off there (``complete=False``). Raises :class:`.probes.RequestFailed`
        (:class:`.probes.RequestTimedOut`) when there is no answer."""

    @abc.abstractmethod
    async def send_body(
        self,
        request: ProbeRequest,
        headers: Headers,
        body: Callable[[], AsyncIterator[bytes]],
        on_progress: Callable[[], None],
        timeout: float,
    ) -> ProbeResponse:
        """The answer to ``request`` with a body streamed from ``body()``,
        pulled only as fast as the app reads it and no more once it has
        answered; ``on_progress`` is called whenever bytes move either way."""

    @abc.abstractmethod
    def close(self, loop: ProbeLoop | None, wait: float) -> None:
        """Let go of the app: ``loop`` to run the shutdown on (``None`` when
        the app blocks it), ``wait`` seconds for a graceful shutdown."""
