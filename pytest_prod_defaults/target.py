"""The service under test: loads the app, starts it, and answers probes.

One :class:`Target` per manifest per process. It imports the app lazily, on
the first check that needs it (:mod:`.app_import`), starts it once on a
private event loop thread (:mod:`.app_loop`) and picks, once, the transport
its probes go through (:mod:`.transport`: in-process or over a socket). It
shares one response per distinct request between all checks (fifty header
entries on ``/`` cost one GET), or one failure: a request that got no answer
is not sent again. Probes are stateless: no cookie jar carries a cookie from
one response into another request.

A check that declares what it reads (:class:`.probes.Reads`) is handed a
read-only :class:`.view.TargetView` of those instead of the target.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .app_import import ModuleSpace, import_app
from .app_loop import BodyProgress, ProbeLoop
from .model import Target as TargetSpec
from .outcomes import NotApplicable, TargetUnavailable
from .probes import BODY_LIMIT, ProbeRequest, ProbeResponse, Reads, RequestFailed
from .process_output import redacted_output
from .redaction import MIN_COOKIE_LENGTH, NotYet, Redactor, secret_name
from .transport import DEFAULT_BASE_URL, Content, Transport
from .view import NOT_DECLARED, Failed, TargetView

__all__ = ["BODY_LIMIT", "DEFAULT_HEADERS", "ProbeRequest", "ProbeResponse", "Target"]

T = TypeVar("T")

DEFAULT_HEADERS = (("accept", "*/*"), ("accept-encoding", "gzip, deflate"), ("user-agent", "pytest-prod-defaults"))
"""Sent with every probe in every mode, so the app sees the same request
in-process as over a socket (content negotiation, compression)."""


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
    _loop: ProbeLoop | None = None
    _transport: Transport | None = None
    """Chosen once, at start: every probe goes through it."""
    _responses: dict[ProbeRequest, ProbeResponse] = field(default_factory=dict)
    _failures: dict[tuple[ProbeRequest, bytes | None], str] = field(default_factory=dict)
    """The first failure of each distinct request (and body) that got no
    answer: asked again, it fails at once instead of waiting out another
    ``timeout``."""
    _modules: ModuleSpace | None = None
    _hurry: bool = False
    """Set by a Ctrl-C: the app's shutdown is not waited for."""
    _objects: dict[str, Any] = field(default_factory=dict)
    """Objects imported by reference (the ``[config]`` object), failures as
    :class:`TargetUnavailable`: each imported, a factory called, once."""
    importing: int = 0
    """How many imports of the app's modules are under way: a secrets source
    asked meanwhile would find a module half made."""

    def __post_init__(self, redactor: Redactor | None) -> None:
        self.redact = redactor if redactor is not None else Redactor.for_target(self.spec.headers)

    def __repr__(self) -> str:
        # Shown by pytest's --showlocals: not the spec's headers (credentials)
        # nor the cached responses (Set-Cookie values).
        return f"<Target mode={self.spec.mode!r} app={self.spec.app!r} base_url={self.base_url!r}>"

    # -- start and stop -------------------------------------------------

    def _start(self) -> ProbeLoop:
        """The loop the transport runs on, once the app has started."""
        if not self._started:
            self._started = True
            try:
                self._start_transport()
            except TargetUnavailable as exc:
                self._failure = str(exc)
                raise
        if self._failure:
            raise TargetUnavailable(self._failure)
        assert self._loop is not None
        return self._loop

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
        """The one place that knows the modes: which transport, started how."""
        spec = self.spec
        loop = self._loop = ProbeLoop()
        if spec.mode == "url":
            from .socket_transport import SocketTransport

            assert spec.base_url is not None
            self._transport = SocketTransport(spec.base_url, self.redact)
            return
        assert spec.app is not None
        self._app = self._import(spec.app)
        # The secrets the kinds know of (the config object's), before the
        # app starts: its startup may log them, on a thread of its own.
        self.redact.ask_sources()
        if not callable(self._app):
            raise TargetUnavailable(f"{spec.app} is a {type(self._app).__name__}, not an ASGI application")
        if spec.mode == "server":
            from .socket_transport import SocketTransport

            self._transport = SocketTransport.serve(self._app, spec, loop, self.redact)
            return
        from .in_process import InProcessTransport

        self._transport = InProcessTransport.start(self._app, spec, loop)

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
            # In-process, an app still blocking the loop runs no shutdown:
            # the loop thread is left to end with the process.
            loop = self._loop if not self._loop.still_blocked() else None
            if self._transport is not None:
                self._transport.close(loop, self._shutdown_wait())
            self._transport = None
            self._loop.stop()
            self._loop = None

    # -- what the checks use --------------------------------------------

    def app(self) -> Any:
        """The application object, for settings and middleware checks."""
        if self.spec.app is None:
            raise NotApplicable(f"mode = {self.spec.mode!r} has no application object; give [target].app to inspect it")
        if self._app is None:
            if self.spec.mode == "url":
                self._app = self._import(self.spec.app)
            else:
                self._start()
        return self._app

    @property
    def base_url(self) -> str:
        return self._transport.base_url if self._transport is not None else DEFAULT_BASE_URL

    def response(self, request: ProbeRequest) -> ProbeResponse:
        """The response to ``request``; one request per distinct request."""
        cached = self._responses.get(request)
        if cached is None:
            cached = self._responses[request] = self.fetch(request)
        return cached

    def fetch(self, request: ProbeRequest, content: Content = None) -> ProbeResponse:
        """Send ``request`` now, uncached (latency samples, uploads).

        Unless it got no answer before (:class:`RequestFailed`): then it
        fails at once with that first failure, so a hung endpoint read by
        many checks costs one ``timeout``. A body streamed from a callable
        is not known in advance: such a request is always sent.
        """
        loop = self._start()
        distinct = (request, content) if content is None or isinstance(content, bytes) else None
        earlier = self._failures.get(distinct) if distinct is not None else None
        if earlier is not None:
            raise TargetUnavailable(f"{earlier} (failed earlier in this run; not sent again)")
        assert self._transport is not None
        timeout = self.spec.timeout
        sending = self._transport.send(request, self.request_headers(request), content, timeout)
        try:
            what = f"{request.method} {request.path}"
            return self.learned(loop.call(sending, timeout + 2, what, f"[target].timeout = {timeout:g} s"))
        except RequestFailed as exc:
            # Not a request left unsent because an earlier one blocks the
            # app's loop (a plain TargetUnavailable): that one may yet go.
            if distinct is not None:
                self._failures[distinct] = str(exc)
            raise

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
        loop = self._start()
        assert self._transport is not None
        what = f"{request.method} {request.path}"
        timeout = self.spec.timeout
        progress = BodyProgress()
        sending = self._transport.send_body(request, self.request_headers(request), body, progress.moved, timeout)
        return self.learned(loop.call_while_moving(sending, progress, timeout, what))

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

    # -- a read-only view for a check that declares its reads -------------

    def holds(self, reads: Reads) -> bool:
        """Whether everything ``reads`` names is here already (a response or
        a remembered failure, the app, each object): a view of it then runs
        none of the app's code and sends nothing."""
        return (
            all(request in self._responses or (request, None) in self._failures for request in reads.requests)
            and (not reads.app or self._app is not None or self.spec.app is None)
            and all(reference in self._objects for reference in reads.objects)
        )

    def view(self, reads: Reads) -> TargetView:
        """A view of ``reads``, fetching (importing, starting, requesting)
        what is not here yet, in the order declared; a read that fails is
        held as its failure, for the check to meet where it reads it."""
        # Once per item that declares its reads: no more than it needs.
        responses: list[tuple[ProbeRequest, ProbeResponse | Failed]] = []
        for request in reads.requests:
            try:
                responses.append((request, self.response(request)))
            except (TargetUnavailable, NotApplicable) as exc:
                responses.append((request, Failed(exc)))
        app = _read(self.app) if reads.app else NOT_DECLARED
        objects = {reference: _read(self.load, reference) for reference in reads.objects} if reads.objects else None
        return TargetView(self.spec, self.base_url, self.redact, responses, app, objects)


def _read(get: Callable[..., T], *args: Any) -> T | Failed:
    try:
        return get(*args)
    except (TargetUnavailable, NotApplicable) as exc:
        return Failed(exc)
