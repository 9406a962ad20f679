"""Mode ``asgi``: the app called directly on the probes' own loop, its
lifespan run once there (:mod:`.asgi_client` makes each exchange)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from .app_import import environment, one_line
from .app_loop import AppExited, LifespanReturned, ProbeLoop, lifespan_guard
from .asgi_client import call_app
from .outcomes import TargetUnavailable
from .probes import BODY_LIMIT, ProbeRequest, ProbeResponse, RequestTimedOut
from .transport import Content, Headers, Transport

if TYPE_CHECKING:
    from .model import Target as TargetSpec


class InProcessTransport(Transport):
    """Each probe an ASGI call of the app, on the probes' loop."""

    def __init__(self, app: Any, lifespan: Any = None) -> None:
        self.app = app
        """The app as probes call it (wrapped for its lifespan state)."""
        self.lifespan = lifespan
        """The running lifespan, shut down on close; ``None`` without one."""

    @classmethod
    def start(cls, app: Any, spec: TargetSpec, loop: ProbeLoop) -> InProcessTransport:
        """Run ``app``'s startup (its lifespan, unless ``[target].lifespan =
        "off"``) on ``loop``, which the app then runs on; raise
        :class:`TargetUnavailable` saying why it did not start."""
        loop.app_loop = loop
        with environment(spec.env):
            return loop.call(
                cls._start_lifespan(app, spec),
                spec.startup_timeout + 1,
                "app startup",
                f"[target].startup_timeout = {spec.startup_timeout:g} s",
            )

    @classmethod
    async def _start_lifespan(cls, app: Any, spec: TargetSpec) -> InProcessTransport:
        if spec.lifespan == "off":
            return cls(app)
        from asgi_lifespan import LifespanManager, LifespanNotSupported

        manager = LifespanManager(lifespan_guard(app), startup_timeout=spec.startup_timeout)
        try:
            await manager.__aenter__()
        except (LifespanNotSupported, LifespanReturned):
            if spec.lifespan == "on":
                raise TargetUnavailable("lifespan = 'on', but the app does not support the lifespan protocol") from None
            return cls(app)
        except TimeoutError:
            raise TargetUnavailable(
                f"app startup (lifespan) did not complete within [target].startup_timeout = {spec.startup_timeout:g} s"
            ) from None
        except AppExited as exc:
            raise TargetUnavailable(f"app startup failed: {exc}") from None
        except Exception as exc:
            raise TargetUnavailable(f"app startup failed: {one_line(exc)}") from None
        return cls(manager.app, manager)

    async def send(self, request: ProbeRequest, headers: Headers, content: Content, timeout: float) -> ProbeResponse:
        body = content() if callable(content) else content
        if isinstance(body, bytes):
            body = _one_chunk(body)
        try:
            return await call_app(
                self.app,
                request.method,
                request.path,
                _as_a_client_sends(headers, body is not None),
                body,
                keep_body=BODY_LIMIT,
                timeout=timeout,
            )
        except TimeoutError:
            raise RequestTimedOut(
                f"{request.method} {request.path} did not answer within [target].timeout = {timeout:g} s"
            ) from None

    async def send_body(
        self,
        request: ProbeRequest,
        headers: Headers,
        body: Callable[[], AsyncIterator[bytes]],
        on_progress: Callable[[], None],
        timeout: float,
    ) -> ProbeResponse:
        # ``receive`` hands over the next chunk only when the app asks, and
        # says ``http.disconnect`` once the answer has begun, as a client
        # that stops sending once answered would. The caller bounds each
        # wait by ``timeout``, not this exchange.
        return await call_app(
            self.app,
            request.method,
            request.path,
            _as_a_client_sends(headers, True),
            aiter(body()),
            keep_body=BODY_LIMIT,
            on_progress=on_progress,
        )

    def close(self, loop: ProbeLoop | None, wait: float) -> None:
        if loop is not None and self.lifespan is not None:
            with contextlib.suppress(BaseException):
                loop.run(self.lifespan.__aexit__(None, None, None), wait)
        self.lifespan = None


def _as_a_client_sends(headers: Headers, has_body: bool) -> list[tuple[str, str]]:
    """What a client would send: Host always, and a body without
    Content-Length is chunked."""
    sent = list(headers)
    names = {name.lower() for name, _ in sent}
    if "host" not in names:
        sent.insert(0, ("host", "testserver"))
    if has_body and "content-length" not in names and "transfer-encoding" not in names:
        sent.append(("transfer-encoding", "chunked"))
    return sent


async def _one_chunk(body: bytes) -> AsyncIterator[bytes]:
    yield body
