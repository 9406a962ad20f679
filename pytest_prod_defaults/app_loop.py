"""The app's loop: the event loop thread the probes run on, the watch for an
app that blocks the loop it runs on, and the app's startup as a server or
the lifespan protocol sees it.

The synchronous checks submit coroutines to one :class:`ProbeLoop` per
target; every wait for the app goes through :meth:`ProbeLoop.call`, which
fails at once while the app still blocks its loop or its server has gone.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from .app_import import one_line
from .outcomes import TargetUnavailable
from .probes import RequestTimedOut

T = TypeVar("T")
LOOP_THREAD_NAME = "prod-defaults-target"
BLOCKED_GRACE = 0.25
"""Seconds the loop thread gets to run one callback before it counts as
blocked by the app (a blocking call inside an ``async def``)."""
_BLOCKING = ", and blocks the app's event loop meanwhile (a blocking call such as time.sleep inside an async def?)"


class _OwnTrafficFilter(logging.Filter):
    """Drops httpcore's debug lines about the plugin's own probes: they quote
    every response header, Set-Cookie values among them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != LOOP_THREAD_NAME


_OWN_TRAFFIC = _OwnTrafficFilter()
_HTTPCORE_LOGGERS = ("httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks")


class LoopWatch:
    """Notices when the app blocks the event loop it runs on (``time.sleep``
    inside an ``async def``): in-process it is the probes' own loop, in
    server mode uvicorn's. A blocked loop runs nothing, timeouts and other
    requests included.

    After a wait for an answer runs out, the loop gets :data:`BLOCKED_GRACE`
    to run a callback; if it does not, it counts as blocked by that request,
    and :meth:`still_blocked` says so until the callback has run, so later
    requests fail at once instead of each waiting out its timeout.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.blocked_by: str | None = None
        self._ran = threading.Event()

    def still_blocked(self, wait: float = 0.01) -> bool:
        if self.blocked_by is None:
            return False
        # The callback queued when the loop stuck runs first once it is free.
        if self._ran.wait(wait):
            self.blocked_by = None
            return False
        return True

    def timed_out(self, what: str) -> None:
        """A wait for ``what`` ran out: find out whether the loop is stuck."""
        ran = threading.Event()
        try:
            self.loop.call_soon_threadsafe(ran.set)
        except RuntimeError:  # closed: it runs nothing, and blocks nothing either
            return
        if not ran.wait(BLOCKED_GRACE):
            self.blocked_by, self._ran = what, ran


_ABANDONED: list[tuple[asyncio.AbstractEventLoop, set[asyncio.Task[Any]]]] = []
"""Loops whose tasks would not end when cancelled, kept for the process's life."""


def _not_ended() -> str | None:
    return None


class BodyProgress:
    """When a streamed exchange last moved; written on the loop thread, read
    by the thread waiting for the answer."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def moved(self) -> None:
        self.last = time.monotonic()


class ProbeLoop(LoopWatch):
    """An asyncio loop on a daemon thread; the synchronous checks submit
    coroutines to it. The transport lives on it, and in-process the app's
    lifespan and requests too (so it watches itself for an app blocking it).
    """

    def __init__(self) -> None:
        for name in _HTTPCORE_LOGGERS:
            logging.getLogger(name).addFilter(_OWN_TRAFFIC)
        super().__init__(asyncio.new_event_loop())
        self.app_loop: LoopWatch | None = None
        """The loop the app runs on, watched for the app blocking it: this
        one in-process, uvicorn's in server mode, none for a URL."""
        self.app_ended: Callable[[], str | None] = _not_ended
        """Mode server: why uvicorn stopped serving on its own, if it has."""
        self.thread = threading.Thread(target=self._serve, name=LOOP_THREAD_NAME, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                self.loop.run_forever()
                break
            except (SystemExit, KeyboardInterrupt):
                # Raised by the app in a task of its own (sys.exit() in a route
                # behind a middleware): asyncio lets these out of the loop. Only
                # the main thread gets the user's Ctrl-C, so this one is the
                # app's; its awaiters see it as their failure, and the loop
                # goes on serving the probes.
                continue
        # Stopped. What is left (a request or lifespan an app blocked, and
        # only now let go) is cancelled here, so no task is destroyed pending.
        # Cancelling can start new tasks (a lifespan's shutdown), so until
        # none is left; bounded, as a task may swallow its cancellation.
        deadline = time.monotonic() + 5.0
        while left := asyncio.all_tasks(self.loop):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # Still running (an app that blocks, or ignores cancellation):
                # kept, never destroyed pending, so the garbage collector has
                # nothing to report in some later test.
                _ABANDONED.append((self.loop, left))
                return
            for task in left:
                task.cancel()
            self.loop.run_until_complete(asyncio.wait(left, timeout=remaining))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise

    def call(self, coro: Coroutine[Any, Any, T], timeout: float, what: str, limit: str | None = None) -> T:
        """Run ``coro`` (``what``, for the app) and wait up to ``timeout``;
        ``limit`` names that bound in a failure (``[target].timeout = 5 s``)."""
        try:
            self.check_app(what)
        except TargetUnavailable:
            coro.close()  # never scheduled: no "never awaited" warning
            raise
        try:
            return self.run(coro, timeout)
        except (FutureTimeout, TimeoutError, RequestTimedOut) as exc:
            said = str(exc) if isinstance(exc, RequestTimedOut) else ""
            raise self.timed_out_on(what, said or f"{what} did not answer within {limit or f'{timeout:g} s'}") from None

    def call_while_moving(self, coro: Coroutine[Any, Any, T], progress: BodyProgress, timeout: float, what: str) -> T:
        """Run ``coro``, sending a body for ``what``, for as long as it keeps
        moving: ``timeout`` bounds each wait between two moves of
        ``progress``, not the whole exchange."""
        try:
            self.check_app(what)
        except TargetUnavailable:
            coro.close()
            raise
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        while True:
            idle = time.monotonic() - progress.last
            try:
                return future.result(max(timeout - idle, 0.0) + 0.01)
            except FutureTimeout:
                if time.monotonic() - progress.last >= timeout:
                    future.cancel()
                    said = f"{what} neither read more of the body nor answered within [target].timeout = {timeout:g} s"
                    raise self.timed_out_on(what, said) from None

    def check_app(self, what: str) -> None:
        """Fail ``what`` at once while an earlier request still blocks the
        app's loop, or once the server the app ran in has stopped."""
        if (ended := self.app_ended()) is not None:
            raise TargetUnavailable(f"{what} not sent: {ended}")
        watch = self.app_loop
        if watch is not None and watch.still_blocked():
            raise TargetUnavailable(
                f"{what} not sent: the app's event loop is still blocked by {watch.blocked_by}, which did not answer"
            )

    def timed_out_on(self, what: str, said: str) -> RequestTimedOut:
        """The failure of a wait for ``what`` that ran out, saying whether
        the app blocks its loop meanwhile."""
        if (ended := self.app_ended()) is not None:
            return RequestTimedOut(f"{said}: {ended}")  # not blocked: gone
        watch = self.app_loop
        if watch is not None:
            watch.timed_out(what)
        return RequestTimedOut(said + (_BLOCKING if watch is not None and watch.blocked_by else ""))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        # A loop the app blocks stops only when the app lets go, if ever:
        # its daemon thread then closes it, or ends with the process.
        self.thread.join(5 if self.blocked_by is None else 0)


class AppExited(Exception):
    """The app raised ``SystemExit`` or ``KeyboardInterrupt`` (``sys.exit()``
    in its startup): its failure, not the end of the pytest run."""


class LifespanReturned(Exception):
    """The app returned from the lifespan scope without completing startup."""


def lifespan_guard(app: Any) -> Any:
    """``app``, but returning from the lifespan scope without a startup
    answer raises, as uvicorn reads it: lifespan unsupported. Plain ASGI apps
    often just ``return`` on scopes they do not serve; without this the
    startup would wait for its timeout."""

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        answered = False

        async def watched_send(message: Any) -> None:
            nonlocal answered
            answered = answered or message["type"].startswith("lifespan.startup.")
            await send(message)

        try:
            await app(scope, receive, watched_send)
        except (SystemExit, KeyboardInterrupt) as exc:
            # Raised in a task, these stop the event loop itself: the app's
            # failure must stay the app's.
            raise AppExited(one_line(exc)) from None
        if not answered:
            raise LifespanReturned

    return guarded


class StartupWatch:
    """The app as uvicorn is given it, remembering an exception its lifespan
    raised once told to start. uvicorn's ``lifespan = "auto"`` takes that for
    "lifespan unsupported" and serves on; in-process it is a failed startup,
    and both modes must say the same."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.failure: BaseException | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        told = answered = False

        async def watched_receive() -> Any:
            nonlocal told
            message = await receive()
            told = told or message.get("type") == "lifespan.startup"
            return message

        async def watched_send(message: Any) -> None:
            nonlocal answered
            answered = answered or str(message.get("type", "")).startswith("lifespan.startup.")
            await send(message)

        try:
            await self.app(scope, watched_receive, watched_send)
        except BaseException as exc:
            if told and not answered:
                self.failure = exc
            raise
