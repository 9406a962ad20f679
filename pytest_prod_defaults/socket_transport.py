"""Modes ``server`` and ``url``: probes over a real connection.

Plain requests go through httpx's transport (no client: no cookie jar, no
redirects followed); streamed bodies through :mod:`.upload_client`, which
sends a body only while the server still wants it. In mode ``server`` the
app runs under uvicorn on 127.0.0.1 (:mod:`.server`), on uvicorn's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import httpx

from .app_import import environment, one_line
from .app_loop import LoopWatch, ProbeLoop, StartupWatch
from .outcomes import TargetUnavailable
from .probes import BODY_LIMIT, ProbeRequest, ProbeResponse, RequestFailed, RequestTimedOut, open_ended
from .redaction import Redactor
from .transport import Content, Headers, Transport

if TYPE_CHECKING:
    from .model import Target as TargetSpec


class SocketTransport(Transport):
    """Each probe an HTTP/1.1 exchange with ``base_url``; in mode
    ``server``, the uvicorn serving the app stopped on close."""

    def __init__(self, base_url: str, redact: Redactor, stop_server: Callable[[float], None] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.redact = redact
        """Hides the credentials sent in a failure's text (some transport
        errors quote a header they refuse)."""
        self._stop_server = stop_server
        self._http = httpx.AsyncHTTPTransport()
        self._ssl_context: ssl.SSLContext | None = None

    @classmethod
    def serve(cls, app: Any, spec: TargetSpec, loop: ProbeLoop, redact: Redactor) -> SocketTransport:
        """Start ``app`` under uvicorn, as ``[target].uvicorn`` says, and
        watch uvicorn's loop for the app blocking it; raise
        :class:`TargetUnavailable` saying why it did not start."""
        from .server import start_server

        watched = StartupWatch(app)
        with environment(spec.env):  # uvicorn runs the lifespan as it starts
            served = start_server(watched, spec)
        if watched.failure is not None and spec.lifespan != "off":
            served.stop(1)
            raise TargetUnavailable(f"app startup failed: {one_line(watched.failure)}")
        watch = loop.app_loop = LoopWatch(served.loop) if served.loop is not None else None
        loop.app_ended = served.ended

        def stop(wait: float) -> None:
            # uvicorn's loop, blocked by the app, sees no exit flag: waiting
            # for it to stop gracefully would only stall the end of the run.
            served.stop(0.5 if watch is not None and watch.still_blocked(0.25) else wait)

        return cls(served.base_url, redact, stop)

    async def send(self, request: ProbeRequest, headers: Headers, content: Content, timeout: float) -> ProbeResponse:
        body = content() if callable(content) else content
        started = time.perf_counter()
        kept = bytearray()
        head: list[tuple[int, tuple[tuple[str, str], ...]]] = []

        async def exchange() -> None:
            outgoing = httpx.Request(request.method, self.base_url + request.path, headers=headers, content=body)
            response = await self._http.handle_async_request(outgoing)
            received = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw)
            head.append((response.status_code, received))
            try:
                if not open_ended(received):
                    async for chunk in response.aiter_raw():
                        if len(kept) < BODY_LIMIT:
                            kept.extend(chunk[: BODY_LIMIT - len(kept)])
            finally:
                await response.aclose()  # hangs up on a stream

        complete = True
        try:
            await asyncio.wait_for(exchange(), timeout)
        except (TimeoutError, asyncio.TimeoutError):
            if not head:
                raise RequestTimedOut(
                    f"{request.method} {request.path} did not answer within [target].timeout = {timeout:g} s"
                ) from None
            complete = False  # a stream still going: kept as far as it came
        except Exception as exc:
            # Exceptions inside the app arrive as 500s (raise_app_exceptions
            # is off), so what is left is the connection: say it in a line.
            raise RequestFailed(self.redact(f"{request.method} {request.path}: {one_line(exc)}")) from None
        status, received = head[0]
        complete = complete and not open_ended(received)
        elapsed = time.perf_counter() - started
        return ProbeResponse(status, received, bytes(kept), elapsed, complete)

    async def send_body(
        self,
        request: ProbeRequest,
        headers: Headers,
        body: Callable[[], AsyncIterator[bytes]],
        on_progress: Callable[[], None],
        timeout: float,
    ) -> ProbeResponse:
        """The body goes only where the server asks for it (see
        :mod:`.upload_client`), so a rejected gigabyte is never sent and a
        rejection that hangs up is still the rejection."""
        from .upload_client import CONTINUE_WAIT, send_upload

        url = self.base_url + request.path
        if url.startswith("https:") and self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()  # the trust the other probes use
        chunks = body()
        try:
            return await send_upload(
                url,
                request.method,
                headers,
                chunks,
                ssl_context=self._ssl_context,
                # Under the per-wait timeout, so a server that ignores
                # Expect gets the body before the wait counts as stuck.
                continue_wait=min(CONTINUE_WAIT, timeout / 2),
                keep_body=BODY_LIMIT,
                on_progress=on_progress,
            )
        except Exception as exc:  # any connection failure is the target being unreachable
            raise TargetUnavailable(self.redact(f"{request.method} {request.path}: {one_line(exc)}")) from None
        finally:
            with contextlib.suppress(AttributeError):
                await chunks.aclose()  # type: ignore[attr-defined]

    def close(self, loop: ProbeLoop | None, wait: float) -> None:
        if loop is not None:
            # The client hangs up first, so the server's port is left with no
            # connection in TIME_WAIT and is free for the next server at once.
            with contextlib.suppress(BaseException):
                loop.run(self._http.aclose(), 5)
        if self._stop_server is not None:
            with contextlib.suppress(Exception):
                self._stop_server(wait)
            self._stop_server = None
