"""``mode = "server"``: the app under uvicorn on 127.0.0.1, as production
serves it, on a background thread of this process.

A thread rather than a child process: when the process ends, however it
ends, the server and its port go with it, so no run leaves one behind. The
socket is bound here, on port 0, so the port is known before uvicorn starts
and no other process can take it in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Target as TargetSpec
from .outcomes import TargetUnavailable

WAITING_FOR_STARTUP = "Waiting for application startup"


class _Capture(logging.Handler):
    """Keeps uvicorn's log lines, to show them when it fails to start."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            self.lines.append(f"{type(error).__name__}: {error}")
            return
        message = record.getMessage().strip()
        if message.startswith("Traceback (most recent call last)"):
            message = message.splitlines()[-1]  # the exception, not the stack
        self.lines.append(message)


def uvicorn_options(spec: TargetSpec) -> dict[str, Any]:
    """``[target].uvicorn`` as the manifest's load checked it (against the
    installed uvicorn, paths made absolute); the address, workers and
    logging setup are ours to choose."""
    options = dict(spec.uvicorn)
    options.setdefault("lifespan", spec.lifespan)
    options.setdefault("access_log", False)
    # A request still running at the end is one a probe gave up on at its
    # timeout; without a bound, uvicorn waits for it and the run stalls.
    options.setdefault("timeout_graceful_shutdown", spec.timeout)
    return options


@dataclass(frozen=True)
class ServedApp:
    base_url: str
    loop: asyncio.AbstractEventLoop | None
    """uvicorn's event loop, where the app runs (None if uvicorn keeps it
    where it cannot be found)."""
    stop: Callable[[float], None]
    """Stops the server, waiting up to the given seconds for a graceful
    shutdown (and a few more for a forced one)."""
    ended: Callable[[], str | None] = lambda: None
    """Why uvicorn stopped serving before it was told to (the app raised
    ``SystemExit`` in a route: it ends uvicorn too), else ``None``."""


def start_server(app: Any, spec: TargetSpec) -> ServedApp:
    """Serve ``app`` on 127.0.0.1. Raise :class:`TargetUnavailable` with
    uvicorn's own words if it does not start."""
    try:
        import uvicorn
    except ImportError:
        raise TargetUnavailable("mode = 'server' needs uvicorn: pip install 'pytest-prod-defaults[server]'") from None
    options = uvicorn_options(spec)
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle off (TCP_NODELAY) only
    # on sockets that say they are TCP, and with Nagle on every answer
    # written as head then body waits 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, **options)
    server = uvicorn.Server(config)
    capture = _Capture()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(capture)
    # uvicorn's own lines (a startup traceback among them) reach the report
    # through the failure text, condensed, not through pytest's log capture.
    previous_propagate, logger.propagate = logger.propagate, False
    previous_level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)

    exited: list[str] = []

    def serve() -> None:
        # uvicorn exits when startup fails; what it logged says why.
        try:
            server.run(sockets=[sock])
        except (SystemExit, KeyboardInterrupt) as exc:
            code = f"({exc.code!r})" if isinstance(exc, SystemExit) else ""
            exited.append(f"the app raised {type(exc).__name__}{code}, which ends uvicorn")
        finally:
            # Older uvicorn (0.29) returns without closing it when told to
            # exit before its startup has ended: a server given up on at
            # startup_timeout whose app lets go later would leak it.
            sock.close()

    def ended() -> str | None:
        if server.should_exit:
            return None
        if thread.is_alive():
            loop = getattr((getattr(server, "servers", None) or [None])[0], "get_loop", lambda: None)()
            if loop is None or loop.is_running():
                return None
            thread.join(2)  # its loop has stopped: uvicorn is winding down, and says why when done
        return "uvicorn stopped serving: " + (exited[0] if exited else "its event loop stopped")

    thread = threading.Thread(target=serve, name="prod-defaults-uvicorn", daemon=True)

    def stop(grace: float = 10) -> None:
        server.should_exit = True
        thread.join(grace)
        if thread.is_alive():
            server.force_exit = True
            thread.join(min(grace, 5))
        logger.removeHandler(capture)
        logger.setLevel(previous_level)
        logger.propagate = previous_propagate
        # Held by the app, uvicorn still owns the socket and closes it itself
        # once let go, if ever: closed under it, it would crash then.
        if not thread.is_alive():
            with contextlib.suppress(OSError):
                sock.close()

    thread.start()
    deadline = time.monotonic() + spec.startup_timeout
    while not server.started:
        if thread.is_alive() and time.monotonic() <= deadline:
            time.sleep(0.01)
            continue
        if thread.is_alive():
            # Still starting: the app's startup holds uvicorn, and neither
            # should_exit nor force_exit reaches it there. Its daemon thread
            # ends with the process; waiting for it would only stall the run.
            stop(grace=0.5)
            waiting = bool(capture.lines) and WAITING_FOR_STARTUP in capture.lines[-1]
            what = "the app's startup (lifespan) did not complete" if waiting else "uvicorn did not start"
            raise TargetUnavailable(f"{what} within [target].startup_timeout = {spec.startup_timeout:g} s")
        stop()
        said = [line for line in capture.lines if line and WAITING_FOR_STARTUP not in line]
        raise TargetUnavailable("uvicorn exited during startup: " + " | ".join(said[-3:] or ["(uvicorn said nothing)"]))
    servers = getattr(server, "servers", None) or [None]
    loop = getattr(servers[0], "get_loop", lambda: None)()
    return ServedApp(f"http://127.0.0.1:{port}", loop, stop, ended)
