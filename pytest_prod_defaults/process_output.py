"""What this process writes to standard output and error while no test
captures it (the app's startup and shutdown, ``prod-defaults init``), shown
line by line through a redactor (:mod:`.redaction`).

Nothing here knows pytest.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TextIO


class _RedactingStream:
    """A text stream standing in for ``sys.stdout`` or ``sys.stderr``:
    whole lines are redacted and written to the stream it replaced."""

    def __init__(self, wrapped: TextIO, redact: Callable[[str], str]) -> None:
        self.wrapped = wrapped
        self.redact = redact
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            complete, newline, self._pending = self._pending.rpartition("\n")
            if newline:
                self.wrapped.write(self.redact(complete + newline))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.wrapped.write(self.redact(self._pending))
                self._pending = ""
        with contextlib.suppress(Exception):
            self.wrapped.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def _forward(source: int, destination: int, redact: Callable[[str], str]) -> None:
    """Copy what is written to the pipe ``source`` to ``destination``, each
    line redacted, until the pipe is closed."""
    with os.fdopen(source, "rb") as lines:
        for line in lines:
            shown = redact(line.decode("utf-8", "replace")).encode("utf-8")
            with contextlib.suppress(OSError):
                os.write(destination, shown)


@contextlib.contextmanager
def redacted_output(redact: Callable[[str], str]) -> Iterator[None]:
    """While inside: what anything in this process writes to standard
    output and error (``print``, a logging handler, a C extension writing
    to the file descriptor) is shown line by line, redacted. For the app's
    own output outside any test's capture: its startup and shutdown."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    redirected: list[tuple[int, int, threading.Thread]] = []
    for fd in (1, 2):
        try:
            saved = os.dup(fd)
        except OSError:
            continue  # closed: nothing is shown there anyway
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        forwarder = threading.Thread(target=_forward, args=(read_end, saved, redact), daemon=True)
        forwarder.start()
        redirected.append((fd, saved, forwarder))
    streams = sys.stdout, sys.stderr
    # pytest's own capture, or a caller's, may have replaced them with
    # objects that never reach a file descriptor.
    if streams[0] is not None:
        sys.stdout = _RedactingStream(streams[0], redact)
    if streams[1] is not None:
        sys.stderr = _RedactingStream(streams[1], redact)
    try:
        yield
    finally:
        for replaced in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                replaced.flush()
        sys.stdout, sys.stderr = streams
        for stream in streams:
            with contextlib.suppress(Exception):
                stream.flush()
        for fd, saved, forwarder in redirected:
            os.dup2(saved, fd)  # the pipe's last writer goes: the forwarder reads to its end
            forwarder.join(5)
            os.close(saved)
