"""One HTTP exchange with an ASGI app, in-process, as a client sees it.

Mode ``asgi`` calls the app directly rather than through httpx's
ASGITransport: it costs a fraction per request, keeps httpx out of the
import path of in-process runs, and lets a streamed upload stop the moment
the app answers (``receive`` then says ``http.disconnect``) instead of
feeding an app that answers and then drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from .probes import ProbeResponse, open_ended

HANG_UP_WAIT = 1.0
"""Seconds an app gets to stop streaming once the client has hung up."""


def _noop() -> None:
    return None


async def call_app(
    app: Any,
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    body: AsyncIterator[bytes] | None = None,
    *,
    keep_body: int,
    on_progress: Callable[[], None] = _noop,
    timeout: float | None = None,
) -> ProbeResponse:
    """Send ``method target`` with ``headers`` (and ``body``, streamed as the
    app reads it) to ``app``; keep at most ``keep_body`` bytes of the answer.

    An exception inside the app is the 500 a client would get. ``headers``
    must hold Host; ``target`` is the path with its query string.

    With a ``timeout``, an app that has not begun its answer by then raises
    :class:`TimeoutError`; one still streaming its body then (or at once,
    for an open-ended stream) is hung up on, as a client would, and its
    answer is kept, ``complete=False``.
    """
    split = urlsplit(target)
    host = next((value for name, value in headers if name.lower() == "host"), "testserver")
    hostname, _, port = host.partition(":")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        "scheme": "http",
        "path": split.path,
        "raw_path": split.path.encode("latin-1"),
        "query_string": split.query.encode("latin-1"),
        "server": (hostname, int(port) if port.isdigit() else 80),
        "client": ("127.0.0.1", 123),
        "root_path": "",
    }
    status: int | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    kept = bytearray()
    body_ended = body is None
    sent_empty = False
    answered = asyncio.Event()
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal body_ended, sent_empty
        if body_ended:
            if not sent_empty:
                sent_empty = True
                return {"type": "http.request", "body": b"", "more_body": False}
            # All sent: a client reads the answer to its end (or hangs up).
            await finished.wait()
            return {"type": "http.disconnect"}
        if answered.is_set():  # a client stops sending once answered
            return {"type": "http.disconnect"}
        assert body is not None
        try:
            chunk = await anext(body)
        except StopAsyncIteration:
            body_ended = sent_empty = True
            return {"type": "http.request", "body": b"", "more_body": False}
        on_progress()
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, response_headers
        on_progress()
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers = tuple(
                (bytes(k).decode("latin-1").lower(), bytes(v).decode("latin-1")) for k, v in message.get("headers", ())
            )
            answered.set()
        elif message["type"] == "http.response.body":
            kept.extend(message.get("body", b"")[: max(keep_body - len(kept), 0)])
            if not message.get("more_body", False):
                finished.set()

    async def exchange() -> None:
        nonlocal status, response_headers
        try:
            await app(scope, receive, send)
        except asyncio.CancelledError:
            raise  # our own timeout, or the loop stopping
        except BaseException:
            if status is None:
                status = 500
                response_headers = ()
        finally:
            finished.set()
            if body is not None:
                with contextlib.suppress(AttributeError):
                    await body.aclose()  # type: ignore[attr-defined]

    started = time.perf_counter()
    complete = True
    if timeout is None:
        await exchange()
    else:
        running = asyncio.ensure_future(exchange())
        head = asyncio.ensure_future(answered.wait())
        try:
            await asyncio.wait({running, head}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if not running.done() and not answered.is_set():
                raise TimeoutError
            if not running.done() and not open_ended(response_headers):
                await asyncio.wait({running}, timeout=max(timeout - (time.perf_counter() - started), 0))
            if not running.done():
                complete = False
                finished.set()  # hang up: the app's next receive() says http.disconnect
                await asyncio.wait({running}, timeout=HANG_UP_WAIT)
        finally:
            head.cancel()
            if not running.done():
                running.cancel()
    elapsed = time.perf_counter() - started
    return ProbeResponse(status if status is not None else 500, response_headers, bytes(kept), elapsed, complete)
