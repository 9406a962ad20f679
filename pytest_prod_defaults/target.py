"""The service under test: loads the app, starts it, and answers probes.

One :class:`Target` per manifest per process. It imports the app lazily, on
the first check that needs it, runs the app's lifespan once on a private
event loop thread, and shares one response per distinct request between all
checks (fifty header entries on ``/`` cost one GET), or one failure: a
request that got no answer is not sent again. Probes are stateless:
requests go straight to the app (in-process) or the transport, so no cookie jar
carries a cookie from one response into another request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import os
import ssl
import sys
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .asgi_client import call_app, open_ended
from .model import Target as TargetSpec
from .outcomes import NotApplicable, TargetUnavailable
from .redaction import MIN_COOKIE_LENGTH, REDACTED, NotYet, Redactor, redacted_output, secret_name

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")
BODY_LIMIT = 1024 * 1024
"""Bytes of a response body kept for checks; the rest is read and dropped."""
DEFAULT_HEADERS = (("accept", "*/*"), ("accept-encoding", "gzip, deflate"), ("user-agent", "pytest-prod-defaults"))
"""Sent with every probe in every mode, so the app sees the same request
in-process as over a socket (content negotiation, compression)."""
LOOP_THREAD_NAME = "prod-defaults-target"
BLOCKED_GRACE = 0.25
"""Seconds the loop thread gets to run one callback before it counts as
blocked by the app (a blocking call inside an ``async def``)."""


class CacheMiss(BaseException):
    """Raised while :attr:`Target.cached_only` is set by anything that would
    import, start or call the target. A ``BaseException``, so a check's own
    ``except Exception`` cannot mistake it for an answer."""


@dataclass(frozen=True)
class ProbeRequest:
    """One distinct request; equal requests share one response."""

    path: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ProbeResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    """(lower-case name, value) pairs, repeated headers kept apart."""
    body: bytes = b""
    elapsed: float = 0.0
    complete: bool = True
    """False: a stream, its body cut off at ``[target].timeout`` (or at once,
    for server-sent events) and ``body`` what had come by then."""

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


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``values`` in ``os.environ``, and put back what was there."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"sys.exit({exc.code!r}) was called"
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _module_root(module: Any) -> list[Path]:
    file = getattr(module, "__file__", None)
    places = [file] if file else list(getattr(module, "__path__", []))
    return [Path(place).resolve() for place in places]


def _lives_in(module: Any, top: str, root: Path) -> bool:
    """Whether the top-level module ``top`` was imported from ``root`` (as
    ``root/top.py`` or the package ``root/top``), not merely from somewhere
    under it."""
    own = root / top
    return any(
        place == own.with_suffix(".py") or place == own or own in place.parents for place in _module_root(module)
    )


class ModuleSpace:
    """The modules a target imported from its own root, kept apart from an
    already imported package of the same name that lives elsewhere (an
    installed release of the service, or a second service called ``app``).

    Every import for one target (its app, its ``[config]`` object) goes
    through one space, so a module the app imported is never imported a
    second time: its import-time state (a metrics registry) is made once,
    and the config object read is the one the app uses.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._kept: dict[str, dict[str, Any]] = {}
        """Per top-level name, this target's modules while set aside."""

    @contextlib.contextmanager
    def active(self, top: str) -> Iterator[None]:
        """While importing ``top`` from this root: this space's modules of
        that name in ``sys.modules``, any other set aside and put back after.
        The first importer of a name keeps it in ``sys.modules`` otherwise."""

        def of_top() -> dict[str, Any]:
            return {name: sys.modules[name] for name in list(sys.modules) if name == top or name.startswith(f"{top}.")}

        existing = sys.modules.get(top)
        if top not in self._kept and (existing is None or _lives_in(existing, top, self.root)):
            yield
            return
        aside = of_top()
        for name in aside:
            del sys.modules[name]
        sys.modules.update(self._kept.get(top, {}))
        try:
            yield
        finally:
            # The other package's modules come back; this space's modules of
            # other names stay too (an app resolves its own at run time).
            self._kept[top] = of_top()
            sys.modules.update(aside)


def import_app(reference: str, root: Path, env: Mapping[str, str], space: ModuleSpace | None = None) -> Any:
    """Import ``module:attribute`` (or call ``module:factory()``) with
    ``root`` on ``sys.path`` and ``env`` set, in ``space`` (a new one for
    ``root`` if not given); raise :class:`TargetUnavailable` with the cause
    in one line."""
    module_name, _, attribute = reference.partition(":")
    call = attribute.endswith("()")
    attribute = attribute.removesuffix("()")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    space = space if space is not None else ModuleSpace(root)
    with environment(env), space.active(module_name.partition(".")[0]):
        try:
            obj: Any = importlib.import_module(module_name)
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            # sys.exit() at import (a settings check that gives up) is the
            # app's failure, not the end of the pytest run.
            raise TargetUnavailable(f"cannot import {module_name!r}: {_one_line(exc)}") from None
        for part in attribute.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise TargetUnavailable(f"{reference}: {module_name!r} has no attribute {attribute!r}") from None
        if call:
            try:
                obj = obj()
            except (Exception, SystemExit, KeyboardInterrupt) as exc:
                raise TargetUnavailable(f"{reference} raised {_one_line(exc)}") from None
    return obj


class _LifespanReturned(Exception):
    """The app returned from the lifespan scope without completing startup."""


def _lifespan_guard(app: Any) -> Any:
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
            raise AppExited(_one_line(exc)) from None
        if not answered:
            raise _LifespanReturned

    return guarded


class AppExited(Exception):
    """The app raised ``SystemExit`` or ``KeyboardInterrupt`` (``sys.exit()``
    in its startup): its failure, not the end of the pytest run."""


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


class _OwnTrafficFilter(logging.Filter):
    """Drops httpcore's debug lines about the plugin's own probes: they quote
    every response header, Set-Cookie values among them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != LOOP_THREAD_NAME


_OWN_TRAFFIC = _OwnTrafficFilter()
_HTTPCORE_LOGGERS = ("httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks")


class RequestFailed(TargetUnavailable):
    """A request was sent and got no answer: no connection, a connection
    broken (the app crashing while answering), or no answer in time. An
    answer, a 500 included, is not a failure."""


class RequestTimedOut(RequestFailed):
    """A request had no answer within ``[target].timeout``."""


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


class _LoopThread(LoopWatch):
    """An asyncio loop on a daemon thread; the synchronous checks submit
    coroutines to it. The transport lives on it, and in-process the app's
    lifespan and requests too (so it watches itself for an app blocking it).
    """

    def __init__(self) -> None:
        for name in _HTTPCORE_LOGGERS:
            logging.getLogger(name).addFilter(_OWN_TRAFFIC)
        super().__init__(asyncio.new_event_loop())
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

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        # A loop the app blocks stops only when the app lets go, if ever:
        # its daemon thread then closes it, or ends with the process.
        self.thread.join(5 if self.blocked_by is None else 0)


@dataclass
class Target:
    """The service a manifest documents, as the checks see it."""

    spec: TargetSpec
    root: Path
    redactor: InitVar[Redactor | None] = None
    """The manifest's (:attr:`Manifest.redact`); else one of the spec's headers."""
    redact: Redactor = field(init=False)
    """Hides the credentials the target is sent in any text shown (some
    transport errors quote a header they refuse; an app may echo one)."""
    _failure: str | None = None
    _started: bool = False
    _app: Any = None
    _loop: _LoopThread | None = None
    _app_loop: LoopWatch | None = None
    """The loop the app runs on, watched for the app blocking it: the probes'
    own in-process, uvicorn's in server mode, none for a URL."""
    _transport: httpx.AsyncBaseTransport | None = None
    _asgi_app: Any = None
    """Mode asgi: the app (wrapped for its lifespan state), called directly."""
    _lifespan: Any = None
    _base_url: str = "http://testserver"
    _responses: dict[ProbeRequest, ProbeResponse] = field(default_factory=dict)
    _failures: dict[tuple[ProbeRequest, bytes | None], str] = field(default_factory=dict)
    """The first failure of each distinct request (and body) that got no
    answer: asked again, it fails at once instead of waiting out another
    ``timeout``."""
    _ssl_context: ssl.SSLContext | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)
    _modules: ModuleSpace | None = None
    _server_ended: Callable[[], str | None] | None = None
    """Mode server: why uvicorn stopped serving on its own, if it has."""
    _hurry: bool = False
    """Set by a Ctrl-C: the app's shutdown is not waited for."""
    _objects: dict[str, Any] = field(default_factory=dict)
    """Objects imported by reference (the ``[config]`` object), failures as
    :class:`TargetUnavailable`: each imported, a factory called, once."""
    importing: int = 0
    """How many imports of the app's modules are under way: a secrets source
    asked meanwhile would find a module half made."""
    cached_only: bool = False
    """While set, only what the target already answered is read: a response
    not yet fetched, an app not yet loaded, any request raise
    :class:`CacheMiss` instead of doing I/O."""

    def __post_init__(self, redactor: Redactor | None) -> None:
        self.redact = redactor if redactor is not None else Redactor.for_target(self.spec.headers)

    def __repr__(self) -> str:
        # Shown by pytest's --showlocals: not the spec's headers (credentials)
        # nor the cached responses (Set-Cookie values).
        return f"<Target mode={self.spec.mode!r} app={self.spec.app!r} base_url={self._base_url!r}>"

    # -- start and stop -------------------------------------------------

    def _start(self) -> None:
        if self.cached_only:  # every request and the app's import pass here
            raise CacheMiss
        if self._started:
            if self._failure:
                raise TargetUnavailable(self._failure)
            return
        self._started = True
        try:
            self._start_transport()
        except TargetUnavailable as exc:
            self._failure = str(exc)
            raise

    def _app_root(self) -> Path:
        return (self.root / self.spec.app_dir).resolve() if self.spec.app_dir else self.root

    def _import(self, reference: str) -> Any:
        if self._modules is None:
            self._modules = ModuleSpace(self._app_root())
        self.importing += 1
        try:
            return import_app(reference, self._app_root(), self.spec.env, self._modules)
        finally:
            self.importing -= 1

    def ready_for_secrets(self) -> None:
        """Raise :class:`NotYet` while the app's modules are being imported:
        a secrets source asked meanwhile would find a module half made."""
        if self.importing:
            raise NotYet

    def load(self, reference: str) -> Any:
        """The object at ``module:attribute`` (or what ``module:factory()``
        returns), imported among the app's own modules: never a second copy
        of a module the app loaded. Loaded once; a failure is remembered."""
        if reference not in self._objects:
            try:
                self._objects[reference] = self._import(reference)
            except TargetUnavailable as exc:
                self._objects[reference] = exc
        found = self._objects[reference]
        if isinstance(found, TargetUnavailable):
            raise TargetUnavailable(str(found))
        return found

    def _start_transport(self) -> None:
        spec = self.spec
        self._loop = _LoopThread()
        if spec.mode == "url":
            import httpx

            assert spec.base_url is not None
            self._base_url = spec.base_url.rstrip("/")
            self._transport = httpx.AsyncHTTPTransport()
            return
        assert spec.app is not None
        self._app = self._import(spec.app)
        # The secrets the kinds know of (the config object's), before the
        # app starts: its startup may log them, on a thread of its own.
        self.redact.ask_sources()
        if not callable(self._app):
            raise TargetUnavailable(f"{spec.app} is a {type(self._app).__name__}, not an ASGI application")
        if spec.mode == "server":
            import httpx

            from .server import start_server

            watched = StartupWatch(self._app)
            with environment(spec.env):  # uvicorn runs the lifespan as it starts
                served = start_server(watched, spec)
            if watched.failure is not None and spec.lifespan != "off":
                served.stop(1)
                raise TargetUnavailable(f"app startup failed: {_one_line(watched.failure)}")
            self._base_url = served.base_url
            watch = self._app_loop = LoopWatch(served.loop) if served.loop is not None else None
            # uvicorn's loop, blocked by the app, sees no exit flag: waiting
            # for it to stop gracefully would only stall the end of the run.
            self._closers.append(
                lambda: served.stop(0.5 if watch is not None and watch.still_blocked(0.25) else self._shutdown_wait())
            )
            self._server_ended = served.ended
            self._transport = httpx.AsyncHTTPTransport()
            return
        self._app_loop = self._loop
        with environment(spec.env):
            self._asgi_app = self._run(
                self._start_lifespan(self._app),
                spec.startup_timeout + 1,
                "app startup",
                f"[target].startup_timeout = {spec.startup_timeout:g} s",
            )

    async def _start_lifespan(self, app: Any) -> Any:
        if self.spec.lifespan == "off":
            return app
        from asgi_lifespan import LifespanManager, LifespanNotSupported

        manager = LifespanManager(_lifespan_guard(app), startup_timeout=self.spec.startup_timeout)
        try:
            await manager.__aenter__()
        except (LifespanNotSupported, _LifespanReturned):
            if self.spec.lifespan == "on":
                raise TargetUnavailable("lifespan = 'on', but the app does not support the lifespan protocol") from None
            return app
        except TimeoutError:
            raise TargetUnavailable(
                f"app startup (lifespan) did not complete within [target].startup_timeout"
                f" = {self.spec.startup_timeout:g} s"
            ) from None
        except AppExited as exc:
            raise TargetUnavailable(f"app startup failed: {exc}") from None
        except Exception as exc:
            raise TargetUnavailable(f"app startup failed: {_one_line(exc)}") from None
        self._lifespan = manager
        return manager.app

    def _shutdown_wait(self) -> float:
        """Seconds the app's shutdown may take: ``[target].timeout`` (and a
        second for uvicorn to let go), or half a second after Ctrl-C."""
        return 0.5 if self._hurry else self.spec.timeout + 1

    def close(self, hurry: bool = False) -> None:
        """Shut the app down (lifespan, server) and stop the loop thread;
        ``hurry`` after the user's Ctrl-C, when a slow shutdown is not waited for.

        What the app prints or logs meanwhile is outside any test's capture
        (pytest has stopped capturing): it is shown redacted."""
        self._hurry = self._hurry or hurry
        if self._loop is None:
            return
        with redacted_output(self.redact):
            self._close()

    def _close(self) -> None:
        # In-process, an app still blocking the loop runs no shutdown: the
        # loop thread is left to end with the process.
        loop = self._loop if self._loop is not None and not self._loop.still_blocked() else None
        if loop is not None and self._transport is not None:
            # The client hangs up first, so the server's port is left with no
            # connection in TIME_WAIT and is free for the next server at once.
            with contextlib.suppress(BaseException):
                loop.run(self._transport.aclose(), 5)
        self._transport = None
        for closer in reversed(self._closers):
            with contextlib.suppress(Exception):
                closer()
        self._closers.clear()
        if loop is not None and self._lifespan is not None:
            with contextlib.suppress(BaseException):
                loop.run(self._lifespan.__aexit__(None, None, None), self._shutdown_wait())
        self._lifespan = None
        if self._loop is not None:
            self._loop.stop()
        self._loop = self._app_loop = None

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float, what: str, limit: str | None = None) -> T:
        assert self._loop is not None
        try:
            self._check_app_loop(what)
        except TargetUnavailable:
            coro.close()  # never scheduled: no "never awaited" warning
            raise
        try:
            return self._loop.run(coro, timeout)
        except (FutureTimeout, TimeoutError, RequestTimedOut) as exc:
            said = str(exc) if isinstance(exc, RequestTimedOut) else ""
            raise self._timed_out(what, said or f"{what} did not answer within {limit or f'{timeout:g} s'}") from None

    def _server_gone(self) -> str | None:
        """Why the server the app ran in stopped serving on its own, if it did."""
        return self._server_ended() if self._server_ended is not None else None

    def _check_app_loop(self, what: str) -> None:
        """Fail ``what`` at once while an earlier request still blocks the
        app's loop, or once the server the app ran in has stopped."""
        if (ended := self._server_gone()) is not None:
            raise TargetUnavailable(f"{what} not sent: {ended}")
        watch = self._app_loop
        if watch is not None and watch.still_blocked():
            raise TargetUnavailable(_blocked_by_earlier(what, str(watch.blocked_by)))

    def _timed_out(self, what: str, said: str) -> RequestTimedOut:
        """The failure of a wait for ``what`` that ran out, saying whether
        the app blocks its loop meanwhile."""
        if (ended := self._server_gone()) is not None:
            return RequestTimedOut(f"{said}: {ended}")  # not blocked: gone
        watch = self._app_loop
        if watch is not None:
            watch.timed_out(what)
        return RequestTimedOut(said + (_BLOCKING if watch is not None and watch.blocked_by else ""))

    # -- what the checks use --------------------------------------------

    def app(self) -> Any:
        """The application object, for settings and middleware checks."""
        if self.spec.app is None:
            raise NotApplicable(f"mode = {self.spec.mode!r} has no application object; give [target].app to inspect it")
        if self._app is None:
            if self.cached_only:
                raise CacheMiss
            if self.spec.mode == "url":
                self._app = self._import(self.spec.app)
            else:
                self._start()
        return self._app

    @property
    def base_url(self) -> str:
        return self._base_url

    def response(self, request: ProbeRequest) -> ProbeResponse:
        """The response to ``request``; one request per distinct request."""
        cached = self._responses.get(request)
        if cached is None:
            cached = self._responses[request] = self.fetch(request)
        return cached

    def fetch(
        self, request: ProbeRequest, content: Callable[[], AsyncIterator[bytes]] | bytes | None = None
    ) -> ProbeResponse:
        """Send ``request`` now, uncached (latency samples, uploads).

        Unless it got no answer before (:class:`RequestFailed`): then it
        fails at once with that first failure, so a hung endpoint read by
        many checks costs one ``timeout``. A body streamed from a callable
        is not known in advance: such a request is always sent.
        """
        self._start()
        distinct = (request, content) if content is None or isinstance(content, bytes) else None
        earlier = self._failures.get(distinct) if distinct is not None else None
        if earlier is not None:
            raise TargetUnavailable(f"{earlier} (failed earlier in this run; not sent again)")
        timeout = self.spec.timeout
        what = f"{request.method} {request.path}"
        limit = f"[target].timeout = {timeout:g} s"
        try:
            return self.learned(self._run(self._send(request, content, timeout), timeout + 2, what, limit))
        except RequestFailed as exc:
            # Not a request left unsent because an earlier one blocks the
            # app's loop (a plain TargetUnavailable): that one may yet go.
            if distinct is not None:
                self._failures[distinct] = str(exc)
            raise

    def learned(self, response: ProbeResponse) -> ProbeResponse:
        """``response``, its credentials now hidden wherever they show: the
        value of each cookie it sets, of each header named as a credential
        (the app may echo them in another header, a body, a log line)."""
        cookies, others = [], []
        for name, value in response.headers:
            if name == "set-cookie":
                cookies.append(value.partition(";")[0].partition("=")[2].strip().strip('"'))
            elif secret_name(name):
                others += [value.strip(), *value.split()[-1:]]
        if cookies:
            self.redact.add(cookies, MIN_COOKIE_LENGTH)
        if others:
            self.redact.add(others)
        return response

    def request_headers(self, request: ProbeRequest) -> list[tuple[str, str]]:
        """The defaults every probe sends, ``[target].headers``, then
        ``[target].host`` as Host, then the request's own; a later one
        replaces an earlier of the same name."""
        merged: dict[str, tuple[str, str]] = {}
        host = [("Host", self.spec.host)] if self.spec.host else []
        for name, value in [*DEFAULT_HEADERS, *self.spec.headers.items(), *host, *request.headers]:
            merged[name.lower()] = (name, value)
        return list(merged.values())

    def build(self, request: ProbeRequest, content: Any = None) -> httpx.Request:
        import httpx

        return httpx.Request(
            request.method, self._base_url + request.path, headers=self.request_headers(request), content=content
        )

    async def _send(self, request: ProbeRequest, content: Any, timeout: float) -> ProbeResponse:
        if self._asgi_app is not None:
            return await self._send_in_process(request, content, timeout)
        assert self._transport is not None
        body = content() if callable(content) else content
        started = time.perf_counter()
        kept = bytearray()
        head: list[tuple[int, tuple[tuple[str, str], ...]]] = []

        async def exchange() -> None:
            outgoing = self.build(request, body)
            response = await self._transport.handle_async_request(outgoing)  # type: ignore[union-attr]
            headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw)
            head.append((response.status_code, headers))
            try:
                if not open_ended(headers):
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
            raise RequestFailed(self.redact(f"{request.method} {request.path}: {_one_line(exc)}")) from None
        status, headers = head[0]
        complete = complete and not open_ended(headers)
        return ProbeResponse(status, headers, bytes(kept), time.perf_counter() - started, complete)

    async def _send_in_process(self, request: ProbeRequest, content: Any, timeout: float) -> ProbeResponse:
        body = content() if callable(content) else content
        if isinstance(body, bytes):
            body = _one_chunk(body)
        headers = self._in_process_headers(request, body is not None)
        try:
            answer = await call_app(
                self._asgi_app, request.method, request.path, headers, body, keep_body=BODY_LIMIT, timeout=timeout
            )
        except TimeoutError:
            raise RequestTimedOut(
                f"{request.method} {request.path} did not answer within [target].timeout = {timeout:g} s"
            ) from None
        return ProbeResponse(answer.status, answer.headers, answer.body, answer.elapsed, answer.complete)

    def _in_process_headers(self, request: ProbeRequest, has_body: bool) -> list[tuple[str, str]]:
        """What a client would send: Host always, and a body without
        Content-Length is chunked."""
        headers = self.request_headers(request)
        names = {name.lower() for name, _ in headers}
        if "host" not in names:
            headers.insert(0, ("host", "testserver"))
        if has_body and "content-length" not in names and "transfer-encoding" not in names:
            headers.append(("transfer-encoding", "chunked"))
        return headers

    # -- streamed request bodies (uploads) --------------------------------

    def send_body(self, request: ProbeRequest, body: Callable[[], AsyncIterator[bytes]]) -> ProbeResponse:
        """Send ``request`` with a body streamed from ``body()``, uncached.

        The body is pulled only as fast as the service reads it, and no more
        of it once the service has begun its answer: an app that rejects early
        does not make the client push the rest. With a ``Content-Length``
        header in ``request`` the body is sent with it; without, chunked.
        ``[target].timeout`` bounds each wait rather than the whole exchange:
        the service must read more of the body, or answer, within it.

        A failure is not remembered as :meth:`fetch` remembers one: the
        upload probes differ in their bodies, and one route may answer one
        at once (a 413 read from Content-Length) and hang on another, so
        each is sent. A refused connection is refused again at once.
        """
        self._start()
        assert self._loop is not None
        what = f"{request.method} {request.path}"
        self._check_app_loop(what)
        progress = _BodyProgress()
        exchange = self._send_body(request, body, progress)
        future = asyncio.run_coroutine_threadsafe(exchange, self._loop.loop)
        timeout = self.spec.timeout
        while True:
            idle = time.monotonic() - progress.last
            try:
                return self.learned(future.result(max(timeout - idle, 0.0) + 0.01))
            except FutureTimeout:
                if time.monotonic() - progress.last >= timeout:
                    future.cancel()
                    said = f"{what} neither read more of the body nor answered within [target].timeout = {timeout:g} s"
                    raise self._timed_out(what, said) from None

    async def _send_body(
        self, request: ProbeRequest, body: Callable[[], AsyncIterator[bytes]], progress: _BodyProgress
    ) -> ProbeResponse:
        if self._asgi_app is None:
            return await self._send_body_over_socket(request, body, progress)
        # In-process: ``receive`` hands over the next chunk only when the app
        # asks, and says ``http.disconnect`` once the answer has begun, as a
        # client that stops sending once answered would.
        answer = await call_app(
            self._asgi_app,
            request.method,
            request.path,
            self._in_process_headers(request, True),
            aiter(body()),
            keep_body=BODY_LIMIT,
            on_progress=progress.moved,
        )
        return ProbeResponse(answer.status, answer.headers, answer.body, answer.elapsed)

    async def _send_body_over_socket(
        self, request: ProbeRequest, body: Callable[[], AsyncIterator[bytes]], progress: _BodyProgress
    ) -> ProbeResponse:
        """Over a real connection (server and url modes): the body goes only
        where the server asks for it (see :mod:`.upload_client`), so a
        rejected gigabyte is never sent and a rejection that hangs up is
        still the rejection."""
        from .upload_client import CONTINUE_WAIT, send_upload

        url = self._base_url + request.path
        if url.startswith("https:") and self._ssl_context is None:
            import httpx

            self._ssl_context = httpx.create_ssl_context()  # the trust the other probes use
        chunks = body()
        started = time.perf_counter()
        try:
            answer = await send_upload(
                url,
                request.method,
                self.request_headers(request),
                chunks,
                ssl_context=self._ssl_context,
                # Under the per-wait timeout, so a server that ignores
                # Expect gets the body before the wait counts as stuck.
                continue_wait=min(CONTINUE_WAIT, self.spec.timeout / 2),
                keep_body=BODY_LIMIT,
                on_progress=progress.moved,
            )
        except Exception as exc:  # any connection failure is the target being unreachable
            raise TargetUnavailable(self.redact(f"{request.method} {request.path}: {_one_line(exc)}")) from None
        finally:
            with contextlib.suppress(AttributeError):
                await chunks.aclose()  # type: ignore[attr-defined]
        return ProbeResponse(answer.status, answer.headers, answer.body, time.perf_counter() - started)


_BLOCKING = ", and blocks the app's event loop meanwhile (a blocking call such as time.sleep inside an async def?)"


def _blocked_by_earlier(what: str, blocker: str) -> str:
    return f"{what} not sent: the app's event loop is still blocked by {blocker}, which did not answer"


async def _one_chunk(body: bytes) -> AsyncIterator[bytes]:
    yield body


class _BodyProgress:
    """When a streamed exchange last moved; written on the loop thread, read
    by the thread waiting for the answer."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def moved(self) -> None:
        self.last = time.monotonic()
