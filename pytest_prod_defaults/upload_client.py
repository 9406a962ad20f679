"""An HTTP/1.1 client for upload probes over real sockets: it sends a request
body only while the server still wants it.

httpx (through httpcore) writes the whole request body before it reads the
answer, so a server that rejects 1 GiB at once still receives it, and a
server that drains what it rejected (uvicorn does) makes the probe take
seconds; a server that answers and hangs up races the client into a read
error. Here:

- With ``Content-Length`` the head goes out with ``Expect: 100-continue``
  and the body only after ``100 Continue``. An early final answer is the
  answer, and none of the body is sent. A server that ignores ``Expect`` gets
  the body after ``continue_wait`` seconds anyway (RFC 9110, 10.1.1).
- Without it the body goes out chunked while the answer is read, and sending
  stops at the answer's status line.
- A write that fails because the server hung up after answering (reset,
  broken pipe) ends the sending, not the exchange: the answer the server
  sent first is still read and is the result.

The socket is driven directly (``loop.sock_*``) rather than through an
asyncio transport, because a transport that fails to write closes itself and
drops an answer already received; TLS runs over it in memory
(``ssl.MemoryBIO``) for the same reason.

Nothing here knows pytest or httpx. Bodies are async iterators of bytes,
sent as they are produced and never held whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Sequence
from urllib.parse import urlsplit

from .probes import ProbeResponse

CONTINUE_WAIT = 1.0
"""Seconds to wait for ``100 Continue`` before sending the body anyway."""
KEEP_BODY = 1024 * 1024
"""Bytes of the answer's body kept; reading stops there."""
HEAD_LIMIT = 256 * 1024
"""Longest answer head (status line and headers) accepted."""
RECEIVE_SIZE = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}
QUICK_ACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class ConnectError(Exception):
    """No connection to the server."""


class RemoteProtocolError(Exception):
    """The server hung up before answering, or answered something that is
    not HTTP/1.x."""


class _Channel:
    """A connected, non-blocking socket; ``send`` and ``recv`` may run at
    the same time (one writer, one reader)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.loop = asyncio.get_running_loop()

    async def send(self, data: bytes) -> None:
        await self.loop.sock_sendall(self.sock, data)

    async def recv(self) -> bytes:
        """The next bytes received; ``b""`` at the end of the stream."""
        data = await self.loop.sock_recv(self.sock, RECEIVE_SIZE)
        self.acknowledge_now()
        return data

    def acknowledge_now(self) -> None:
        # A server that writes an answer's head and body apart (uvicorn
        # does) holds the body back until the head is acknowledged (Nagle);
        # after a 100 Continue exchange Linux delays that ACK by 40 ms.
        if QUICK_ACK is not None:
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.IPPROTO_TCP, QUICK_ACK, 1)

    def close(self) -> None:
        self.sock.close()


class _TlsChannel(_Channel):
    """TLS over the socket, in memory: the socket stays ours, so a failed
    write leaves what was received readable."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, hostname: str) -> None:
        super().__init__(sock)
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=hostname)
        self.sending = asyncio.Lock()

    async def _flush(self) -> None:
        async with self.sending:  # records must reach the socket whole and in order
            data = self.outgoing.read()
            if data:
                await self.loop.sock_sendall(self.sock, data)

    async def _receive_records(self) -> None:
        data = await self.loop.sock_recv(self.sock, RECEIVE_SIZE)
        self.acknowledge_now()
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    async def handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                await self._receive_records()
        await self._flush()

    async def send(self, data: bytes) -> None:
        self.tls.write(data)
        await self._flush()

    async def recv(self) -> bytes:
        while True:
            try:
                data = self.tls.read(RECEIVE_SIZE)
            except ssl.SSLWantReadError:
                await self._flush()
                await self._receive_records()
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""
            await self._flush()  # reading can produce records to send (key updates)
            return data


async def _connect(host: str, port: int, context: ssl.SSLContext | None) -> _Channel:
    loop = asyncio.get_running_loop()
    try:
        addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectError(f"cannot resolve {host}: {exc}") from None
    failure: OSError | None = None
    for family, kind, protocol, _, address in addresses:
        sock = socket.socket(family, kind, protocol)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if context is None:
            return _Channel(sock)
        channel = _TlsChannel(sock, context, host)
        try:
            await channel.handshake()
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise ConnectError(f"TLS with {host}:{port} failed: {exc}") from None
        return channel
    raise ConnectError(f"cannot connect to {host}:{port}: {failure}")


def _encode_head(method: str, target: str, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers:
        if not name or any(c in name for c in ":\r\n\0 ") or any(c in value for c in "\r\n\0"):
            raise ValueError(f"header {name!r} cannot be sent: a line break or invalid character in it")
        lines.append(f"{name}: {value}")
    text = "\r\n".join(lines) + "\r\n\r\n"
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _find(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return None


def _parse_head(head: bytes) -> tuple[int, tuple[tuple[str, str], ...]]:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise RemoteProtocolError(f"the server answered {status_line[:80]!r}, not an HTTP/1.x status line")
    headers = []
    for line in header_lines:
        name, colon, value = line.partition(":")
        if colon:
            headers.append((name.strip().lower(), value.strip()))
    return int(code), tuple(headers)


class _Exchange:
    """One request on a connection of its own: the body is written while the
    answer is read."""

    def __init__(self, channel: _Channel, keep_body: int, on_progress: Callable[[], None]) -> None:
        self.channel = channel
        self.keep_body = keep_body
        self.on_progress = on_progress
        self.buffer = bytearray()
        self.ended = False
        self.continued = asyncio.Event()
        self.answered = False
        self.status = 0
        self.headers: tuple[tuple[str, str], ...] = ()
        self.body = bytearray()
        self.body_sent = 0

    # -- the answer -------------------------------------------------------

    async def _fill(self) -> bool:
        """Receive more into ``buffer``; False at the end of the stream."""
        if self.ended:
            return False
        data = await self.channel.recv()
        if not data:
            self.ended = True
            return False
        self.on_progress()
        self.buffer += data
        return True

    async def _read_head(self) -> bytes:
        searched = 0
        while True:
            end = self.buffer.find(b"\r\n\r\n", max(searched - 3, 0))
            if end >= 0:
                head = bytes(self.buffer[:end])
                del self.buffer[: end + 4]
                return head
            searched = len(self.buffer)
            if searched > HEAD_LIMIT:
                raise RemoteProtocolError(f"the answer's head is longer than {HEAD_LIMIT} bytes")
            if not await self._fill():
                raise RemoteProtocolError("the server closed the connection without answering")

    async def read_answer(self, method: str) -> None:
        try:
            while True:
                status, headers = _parse_head(await self._read_head())
                if 100 <= status < 200 and status != 101:
                    if status == 100:
                        self.continued.set()
                    continue  # interim answers (100, 103) come before the real one
                self.status, self.headers, self.answered = status, headers, True
                break
        except OSError as exc:
            raise RemoteProtocolError(f"the connection failed before an answer: {exc}") from None
        if method == "HEAD" or status in (204, 304):
            return
        # The status is known: a connection lost while reading the body of
        # the answer only shortens the part kept.
        with contextlib.suppress(OSError, ValueError, ssl.SSLError):
            await self._read_body()

    async def _read_body(self) -> None:
        length = _find(self.headers, "content-length")
        if "chunked" in (_find(self.headers, "transfer-encoding") or "").lower():
            while len(self.body) < self.keep_body:
                while b"\r\n" not in self.buffer:
                    if not await self._fill():
                        return
                size_line, _, rest = bytes(self.buffer).partition(b"\r\n")
                self.buffer[:] = rest
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0 or not await self._keep(size) or not await self._discard(2):
                    return
            return
        await self._keep(int(length) if length is not None and length.strip().isdigit() else None)

    async def _keep(self, size: int | None) -> bool:
        """Move ``size`` bytes (or all, to the end) from the stream into
        ``body``, up to ``keep_body``; False if the stream ended first."""
        remaining = size
        while remaining is None or remaining > 0:
            if not self.buffer and not await self._fill():
                return remaining is None
            room = max(self.keep_body - len(self.body), 0)
            taken = len(self.buffer) if remaining is None else min(len(self.buffer), remaining)
            self.body += self.buffer[: min(taken, room)]
            del self.buffer[:taken]
            if remaining is not None:
                remaining -= taken
            if len(self.body) >= self.keep_body:
                return True
        return True

    async def _discard(self, size: int) -> bool:
        while len(self.buffer) < size:
            if not await self._fill():
                return False
        del self.buffer[:size]
        return True

    # -- the body ---------------------------------------------------------

    def _stop_sending(self, reading: asyncio.Task[None]) -> bool:
        return self.answered or reading.done()

    async def send_body(self, chunks: AsyncIterator[bytes], chunked: bool, reading: asyncio.Task[None]) -> None:
        """Write ``chunks`` until the body ends, the server answers, or it
        hangs up."""
        iterator = aiter(chunks)
        try:
            while not self._stop_sending(reading):
                try:
                    chunk = await anext(iterator)
                except StopAsyncIteration:
                    if chunked:
                        await self.channel.send(b"0\r\n\r\n")
                    return
                if chunked and chunk:
                    await self.channel.send(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                elif not chunked:
                    await self.channel.send(chunk)
                self.body_sent += len(chunk)
                self.on_progress()
                # A send that fits the socket's buffer does not wait: let the
                # reader see an answer that has come in before the next one.
                await asyncio.sleep(0)
        except OSError:
            # The server hung up, usually right after answering: what it
            # answered is read by ``reading``.
            return

    async def wait_for_continue(self, reading: asyncio.Task[None], continue_wait: float) -> bool:
        """After a head with ``Expect: 100-continue``: True to send the body
        (``100 Continue``, or no word within ``continue_wait``), False when
        the server has answered or hung up instead."""
        continued = asyncio.ensure_future(self.continued.wait())
        try:
            await asyncio.wait((continued, reading), timeout=continue_wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            continued.cancel()
        return not self._stop_sending(reading)


async def send_upload(
    url: str,
    method: str,
    headers: Sequence[tuple[str, str]],
    chunks: AsyncIterator[bytes],
    *,
    ssl_context: ssl.SSLContext | None = None,
    continue_wait: float = CONTINUE_WAIT,
    keep_body: int = KEEP_BODY,
    on_progress: Callable[[], None] | None = None,
) -> ProbeResponse:
    """Send ``method url`` with the body from ``chunks`` on a connection of
    its own, and return the answer (``body_sent``: how much of the body went
    out before it).

    ``headers`` are sent as given (a ``Host`` among them replaces the URL's).
    With a ``Content-Length`` among them the body must be exactly that long,
    and ``Expect: 100-continue`` is added; without, the body is sent chunked.
    ``on_progress`` is called whenever bytes move either way, so a caller
    can tell a slow service from a stuck one. Raises :class:`ConnectError`
    or :class:`RemoteProtocolError` when there is no answer to return.
    """
    started = time.perf_counter()
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    host = parts.hostname
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    fields = list(headers)
    if _find(fields, "host") is None:
        fields.insert(0, ("Host", parts.netloc.rpartition("@")[2]))
    chunked = _find(fields, "content-length") is None
    if chunked:
        fields.append(("Transfer-Encoding", "chunked"))
    elif _find(fields, "expect") is None:
        fields.append(("Expect", "100-continue"))
    head = _encode_head(method, target, fields)
    if parts.scheme == "https" and ssl_context is None:
        ssl_context = ssl.create_default_context()

    channel = await _connect(host, port, ssl_context if parts.scheme == "https" else None)
    exchange = _Exchange(channel, keep_body, on_progress or (lambda: None))
    reading = asyncio.ensure_future(exchange.read_answer(method))
    try:
        try:
            await channel.send(head)
        except OSError:
            pass  # whatever the server said is read by ``reading``
        else:
            if chunked or await exchange.wait_for_continue(reading, continue_wait):
                await exchange.send_body(chunks, chunked, reading)
        await reading
    finally:
        reading.cancel()  # nothing to do once it has finished
        with contextlib.suppress(BaseException):
            await reading  # and its error, if any, counts as seen
        channel.close()
    elapsed = time.perf_counter() - started
    return ProbeResponse(exchange.status, exchange.headers, bytes(exchange.body), elapsed, body_sent=exchange.body_sent)
