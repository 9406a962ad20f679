"""The target as a check that declared its reads sees it: read-only.

A check built with ``Check(..., reads=Reads(...))`` is handed a
:class:`TargetView` holding exactly what it declared (responses, the app
object, loaded objects), fetched before it runs; a read that failed is held
as its failure, raised when the check reads it, as the target would. The
check cannot send anything, nor read what it did not declare: it is judged
from what it declared alone, with no I/O of its own, and no flag on the
shared target decides what it may do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from .probes import ProbeRequest, ProbeResponse

if TYPE_CHECKING:
    from .model import Target as TargetSpec
    from .redaction import Redactor


class UndeclaredRead(Exception):
    """A check read through its view what its ``Check.reads`` does not
    declare, or tried to send a request: the kind's mistake, not the
    service's."""


class Failed:
    """A declared read that failed (:class:`TargetUnavailable`,
    :class:`NotApplicable`), held to be raised when the check reads it."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error

    def raise_it(self) -> NoReturn:
        raise self.error.with_traceback(None)


NOT_DECLARED: Any = object()
"""The app of a view whose check did not declare it."""


class TargetView:
    """What one check declared it reads, already fetched; nothing else."""

    __slots__ = ("_app", "_objects", "_responses", "base_url", "redact", "spec")

    def __init__(
        self,
        spec: TargetSpec,
        base_url: str,
        redact: Redactor,
        responses: Sequence[tuple[ProbeRequest, ProbeResponse | Failed]],
        app: Any = NOT_DECLARED,
        objects: Mapping[str, Any] | None = None,
    ) -> None:
        self.spec = spec
        self.base_url = base_url
        self.redact = redact
        # Pairs, not a dict: a check declares a request or two, and every
        # item that declares its reads builds one view.
        self._responses = responses
        self._app = app
        self._objects: Mapping[str, Any] = objects or {}

    def __repr__(self) -> str:
        # Shown by pytest's --showlocals: no headers, no responses (Set-Cookie values).
        return f"<TargetView mode={self.spec.mode!r} of {len(self._responses)} response(s)>"

    def response(self, request: ProbeRequest) -> ProbeResponse:
        """The response to ``request``, one of those declared."""
        for declared, found in self._responses:
            if declared == request:
                if type(found) is Failed:
                    found.raise_it()
                return found  # type: ignore[return-value]
        raise UndeclaredRead(_undeclared(f"the response to {request.method} {request.path}"))

    def app(self) -> Any:
        """The application object, when declared (``Reads(app=True)``)."""
        if self._app is NOT_DECLARED:
            raise UndeclaredRead(_undeclared("the application object (Reads(app=True))"))
        if type(self._app) is Failed:
            self._app.raise_it()
        return self._app

    def load(self, reference: str) -> Any:
        """The object at ``reference``, when declared (``Reads(objects=[...])``)."""
        if reference not in self._objects:
            raise UndeclaredRead(_undeclared(f"the object {reference!r}"))
        found = self._objects[reference]
        if type(found) is Failed:
            found.raise_it()
        return found

    def fetch(self, request: ProbeRequest, content: Any = None) -> NoReturn:
        raise UndeclaredRead(_sends(request))

    def send_body(self, request: ProbeRequest, body: Callable[[], AsyncIterator[bytes]]) -> NoReturn:
        raise UndeclaredRead(_sends(request))


def _undeclared(what: str) -> str:
    return f"the check read {what}, which its Check.reads does not declare"


def _sends(request: ProbeRequest) -> str:
    return (
        f"the check sends {request.method} {request.path} of its own, but declares Check.reads: a check that"
        " sends requests declares no reads, and is handed the target itself"
    )
