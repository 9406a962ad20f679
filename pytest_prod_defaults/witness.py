"""A witness for a run the app ends: ``os._exit()`` in a route, or a crash of
the interpreter, leaves pytest no chance to say which default was being
checked. A small child process holds a pipe from this one; each check names
itself on the pipe before it runs and clears the name after, and when the
pipe closes with a name on it, the child says which it was.

Nothing here knows pytest.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from typing import IO

WATCHER = r"""
import sys
last = ""
for line in sys.stdin:
    last = line.rstrip("\n")
if last:
    sys.stderr.write(
        "\npytest-prod-defaults: the test process ended abruptly while checking " + last
        + ": the app ended it (os._exit() or a crash in the code it ran), or it was killed\n"
    )
    sys.stderr.flush()
"""


class Witness:
    """The child process and the pipe to it. ``stderr`` is where it speaks:
    the terminal the run started on, not a capture."""

    def __init__(self, stderr: IO[str] | int | None = None) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", WATCHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )

    def checking(self, what: str) -> None:
        self._say(what.replace("\n", " "))

    def done(self) -> None:
        self._say("")

    def _say(self, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # the witness gone: nothing to tell it
            assert self._process.stdin is not None
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()

    def close(self) -> None:
        """The run ended as runs end: the witness leaves without a word."""
        self.done()
        with contextlib.suppress(OSError, ValueError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
