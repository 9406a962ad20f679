"""Upload probes over real sockets (server and url modes): the body goes only
where the server asks for it, and a rejection is the rejection however the
server hangs up."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import fastapi
import pytest
from conftest import EARLY_ANSWER_APP, QUIET, Project
from fastapi import FastAPI

from pytest_prod_defaults.bodies import GeneratedBody
from pytest_prod_defaults.upload_client import ConnectError, RemoteProtocolError, send_upload

# Pure ASGI limit in front of a FastAPI app; [target].env picks its behaviour:
#   UPLOAD_LIMIT   bytes allowed
#   LIMIT_STYLE    streaming (Content-Length, then counts what it reads) |
#                  content-length-only | streaming-only | none
#   REJECT_STATUS  what a rejection answers
#   HANG_UP        "1": a rejection says Connection: close (uvicorn then
#                  closes with the rest of the body unread: a reset)
# Every upload is logged to requests.log as "<Content-Length or none>
# <Expect or -> <bytes read>".
LIMITED_APP = """
    import os
    from pathlib import Path

    from fastapi import FastAPI, Request, UploadFile
    from starlette.responses import PlainTextResponse

    LIMIT = int(os.environ["UPLOAD_LIMIT"])
    STYLE = os.environ.get("LIMIT_STYLE", "streaming")
    REJECT_STATUS = int(os.environ.get("REJECT_STATUS", "413"))
    HANG_UP = os.environ.get("HANG_UP") == "1"


    class UploadLimit:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http":
                return await self.app(scope, receive, send)
            headers = dict(scope["headers"])
            declared = headers.get(b"content-length")
            seen = 0
            rejected = False

            async def reject():
                nonlocal rejected
                rejected = True
                extra = {"Connection": "close"} if HANG_UP else None
                await PlainTextResponse("Content Too Large", REJECT_STATUS, headers=extra)(scope, receive, send)

            async def counted_receive():
                nonlocal seen
                if rejected:
                    return {"type": "http.disconnect"}
                message = await receive()
                seen += len(message.get("body", b""))
                if STYLE in ("streaming", "streaming-only") and seen > LIMIT:
                    await reject()
                    return {"type": "http.disconnect"}
                return message

            async def send_unless_rejected(message):
                if not rejected:
                    await send(message)

            try:
                checks_header = STYLE in ("streaming", "content-length-only")
                if declared is not None and checks_header and int(declared) > LIMIT:
                    await reject()
                else:
                    await self.app(scope, counted_receive, send_unless_rejected)
            except Exception:
                if not rejected:
                    raise
            finally:
                if scope["method"] != "GET":
                    expect = headers.get(b"expect", b"-").decode()
                    length = declared.decode() if declared is not None else "none"
                    with Path("requests.log").open("a") as log:
                        log.write(f"{length} {expect} {seen}\\n")


    app = FastAPI()
    app.add_middleware(UploadLimit)


    @app.post("/upload", status_code=201)
    async def upload(request: Request):
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
        return {"received": received}
"""


AVATAR = """
[[upload]]
name = "avatar"
path = "/upload"
max_bytes = "64 KiB"
"""

ITEMS = ("upload:avatar[at-limit]", "upload:avatar[over-limit]", "upload:avatar[over-limit-streamed]")
KIB64 = 64 * 1024


def manifest(entries: str, limit: int = KIB64, style: str = "streaming", reject: int = 413, **target: str) -> str:
    env = f'UPLOAD_LIMIT = "{limit}", LIMIT_STYLE = "{style}", REJECT_STATUS = "{reject}"'
    if target.pop("hang_up", None):
        env += ', HANG_UP = "1"'
    extra = "\n".join(f"{key} = {value}" for key, value in target.items())
    return f'version = 1\n\n[target]\napp = "app:app"\nenv = {{ {env} }}\n{extra}\n{entries}\n{QUIET}'


def logged(project: Project, name: str = "requests.log") -> list[str]:
    return (project.path / name).read_text().splitlines()


def expect(project: Project) -> str:
    """How a probe with Content-Length asks to send its body in this mode."""
    return "-" if project.mode == "asgi" else "100-continue"


@pytest.mark.all_modes
def test_a_streaming_limit_passes_all_three_probes(project: Project) -> None:
    project.app(LIMITED_APP)
    project.manifest(manifest(AVATAR))
    result = project.run()
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([f"PASSED defaults.toml::{item}" for item in ITEMS])
    # Over the limit by Content-Length, nothing is read; streamed, the limit
    # counts past it and answers.
    assert logged(project) == [
        f"65536 {expect(project)} 65536",
        f"65537 {expect(project)} 0",
        "none - 65537",
    ]


@pytest.mark.all_modes
def test_a_limit_that_checks_only_content_length_is_bypassed_by_streaming(project: Project) -> None:
    project.app(LIMITED_APP)
    project.manifest(manifest(AVATAR, style="content-length-only"))
    result = project.run()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "upload avatar over-limit-streamed: documented 413 for 64 KiB + 1 byte, live 201 Created (64 KiB + 1"
            " byte streamed without Content-Length was accepted; documented limit 64 KiB → 413; the service read all"
            " of the body before answering; a limit that checks only the Content-Length header misses chunked"
            " uploads)",
        ]
    )


@pytest.mark.all_modes
def test_answering_400_instead_of_413_fails_both_over_limit_probes(project: Project) -> None:
    project.app(LIMITED_APP)
    project.manifest(manifest(AVATAR, reject=400))
    result = project.run()
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "upload avatar over-limit: documented 413 for 64 KiB + 1 byte, live 400 Bad Request (64 KiB + 1 byte"
            " with Content-Length was answered 400 instead of 413; documented limit 64 KiB → 413; the service read"
            " none of the body before answering)",
            "upload avatar over-limit-streamed: documented 413 for 64 KiB + 1 byte, live 400 Bad Request (64 KiB"
            " + 1 byte streamed without Content-Length was answered 400 instead of 413; *)",
        ]
    )


@pytest.mark.all_modes
def test_fastapi_max_body_size(project: Project) -> None:
    if not hasattr(FastAPI(), "max_body_size"):
        pytest.skip(f"FastAPI {fastapi.__version__} has no FastAPI(max_body_size=...)")
    project.app(
        """
        from fastapi import FastAPI, Request, UploadFile

        app = FastAPI(max_body_size=64 * 1024)

        @app.post("/upload", status_code=201)
        async def upload(request: Request):
            return {"received": len(await request.body())}

        @app.post("/files", status_code=201)
        async def files(avatar: UploadFile):
            return {"size": len(await avatar.read())}
        """
    )
    project.manifest(
        manifest(
            AVATAR + '[[upload]]\nname = "form"\npath = "/files"\nmax_bytes = 65536\n'
            'encoding = "multipart"\nfield = "avatar"\n'
        )
    )
    result = project.run()
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["PASSED defaults.toml::upload:form[over-limit-streamed]"])


def test_a_1_gib_limit_answered_early_sends_almost_nothing_in_server_mode(pytester: pytest.Pytester) -> None:
    # The app answers before reading (201 for exactly 1 GiB, else 413) and
    # then reads whatever still comes, as uvicorn itself would: with
    # Content-Length no body byte is sent at all, streamed the sending stops
    # at the answer. A client that pushed the body first would send 3 GiB.
    project = Project(pytester, "server")
    project.app(EARLY_ANSWER_APP)
    project.manifest(manifest(AVATAR.replace('"64 KiB"', '"1 GiB"'), lifespan='"off"'))
    result = project.run()
    result.assert_outcomes(passed=3)
    at_limit, over_limit, streamed = logged(project, "drained.log")
    assert at_limit == over_limit == "http.disconnect 0"
    kind, drained = streamed.split()
    assert kind == "http.disconnect"
    assert int(drained) < 32 * 1024**2  # what socket buffers held when the answer came


def test_a_rejection_that_hangs_up_mid_body_is_the_rejection(pytester: pytest.Pytester) -> None:
    # 413 with Connection: close once 64 KiB of 8 MiB have come: uvicorn
    # closes with the rest unread, the kernel resets, the client's writes
    # fail. The 413 came first, and it is the answer.
    project = Project(pytester, "server")
    project.app(LIMITED_APP)
    project.manifest(manifest(AVATAR.replace('"64 KiB"', '"8 MiB"'), style="streaming-only", hang_up="true"))
    result = project.run("-k", "over-limit")
    result.assert_outcomes(passed=2, deselected=1)
    assert "unavailable" not in result.stdout.str()


# -- a bare HTTP/1.1 server that counts what reaches its socket ------------


@dataclass
class Exchange:
    head: dict[str, str]
    answered: int
    received: int = 0
    """Body bytes that reached the server, including after its answer."""


@dataclass
class CountingServer:
    """Answers uploads by the rules below and counts every body byte that
    arrives, until the client hangs up:

    - Content-Length over ``limit``: 413 at once, without 100 Continue;
    - otherwise with Content-Length: 100 Continue (unless ``ignores_expect``),
      then 201 after the body;
    - chunked: 413 once more than ``limit`` bytes have come.
    """

    limit: int
    ignores_expect: bool = False
    tls: ssl.SSLContext | None = None
    exchanges: list[Exchange] = field(default_factory=list)

    def serve(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(connection,), daemon=True).start()

    def handle(self, connection: socket.socket) -> None:
        if self.tls is not None:
            try:
                connection = self.tls.wrap_socket(connection, server_side=True)
            except OSError:
                connection.close()
                return
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                data += connection.recv(65536)
            head_text, _, rest = data.partition(b"\r\n\r\n")
            lines = head_text.decode("latin-1").split("\r\n")
            head = {"request": lines[0]} | {
                name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
            }
            exchange = Exchange(head, answered=0)
            self.exchanges.append(exchange)
            length = int(head.get("content-length", -1))
            if length > self.limit:
                self.answer(connection, exchange, 413)
            elif length >= 0:
                if head.get("expect") == "100-continue" and not self.ignores_expect:
                    connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                exchange.received = len(rest)
                while exchange.received < length:
                    exchange.received += len(connection.recv(65536))
                self.answer(connection, exchange, 201)
            else:
                exchange.received = len(rest)  # chunk framing counted too: close enough
                while exchange.received <= self.limit:
                    exchange.received += len(connection.recv(65536))
                self.answer(connection, exchange, 413)
            with contextlib.suppress(OSError):
                while chunk := connection.recv(65536):
                    exchange.received += len(chunk)

    @staticmethod
    def answer(connection: socket.socket, exchange: Exchange, status: int) -> None:
        reason = {201: "Created", 413: "Content Too Large"}[status]
        connection.sendall(f"HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\n\r\n".encode())
        exchange.answered = status


@contextlib.contextmanager
def counting_server(
    limit: int, ignores_expect: bool = False, tls: ssl.SSLContext | None = None
) -> Iterator[tuple[str, CountingServer]]:
    listener = socket.create_server(("127.0.0.1", 0))
    server = CountingServer(limit, ignores_expect, tls)
    threading.Thread(target=server.serve, args=(listener,), daemon=True).start()
    try:
        port = listener.getsockname()[1]
        yield (f"https://localhost:{port}" if tls else f"http://127.0.0.1:{port}"), server
    finally:
        listener.close()


def url_manifest(url: str, max_bytes: str, **target: str) -> str:
    extra = "\n".join(f"{key} = {value}" for key, value in target.items())
    return f'version = 1\n\n[target]\nmode = "url"\nbase_url = "{url}"\n{extra}\n{AVATAR}\n{QUIET}'.replace(
        '"64 KiB"', max_bytes
    )


def wait_for_hang_ups(server: CountingServer, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(server.exchanges) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # the last recv() returns once the client has closed


def test_over_a_socket_a_rejected_body_is_not_sent_and_streaming_stops_at_the_answer(project: Project) -> None:
    with counting_server(limit=KIB64) as (url, server):
        project.manifest(url_manifest(url, '"64 KiB"'))
        result = project.run()
        wait_for_hang_ups(server, 3)
    result.assert_outcomes(passed=3)
    at_limit, over_limit, streamed = server.exchanges
    assert (at_limit.answered, at_limit.head["expect"], at_limit.received) == (201, "100-continue", KIB64)
    assert (over_limit.answered, over_limit.head["expect"], over_limit.received) == (413, "100-continue", 0)
    assert streamed.head["transfer-encoding"] == "chunked"
    assert "content-length" not in streamed.head
    assert streamed.answered == 413
    assert KIB64 < streamed.received < KIB64 + 8 * 1024**2  # socket buffers, not the 64 KiB + 1 byte body's worth


def test_a_1_gib_body_rejected_by_content_length_is_never_sent(project: Project) -> None:
    with counting_server(limit=1024**3) as (url, server):
        project.manifest(url_manifest(url, '"1 GiB"'))
        # (streamed, this server would read past 1 GiB before answering)
        result = project.run("-k", "over-limit and not streamed")
        wait_for_hang_ups(server, 1)
    result.assert_outcomes(passed=1, deselected=2)
    (over_limit,) = server.exchanges
    assert (over_limit.answered, over_limit.head["content-length"], over_limit.received) == (413, str(1024**3 + 1), 0)


def test_a_server_that_ignores_expect_gets_the_body_after_a_short_wait(project: Project) -> None:
    with counting_server(limit=KIB64, ignores_expect=True) as (url, server):
        project.manifest(url_manifest(url, '"64 KiB"', timeout="0.4"))
        result = project.run("-k", "at-limit")
        wait_for_hang_ups(server, 1)
    result.assert_outcomes(passed=1, deselected=2)
    (at_limit,) = server.exchanges
    assert (at_limit.answered, at_limit.received) == (201, KIB64)


def test_host_and_target_headers_go_with_every_upload(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOAD_TOKEN", "s3cret")
    with counting_server(limit=KIB64) as (url, server):
        project.manifest(
            url_manifest(
                url,
                '"64 KiB"',
                host='"api.shop.example"',
                headers='{ Authorization = "Bearer ${UPLOAD_TOKEN}", X-Probe = "upload" }',
            )
        )
        result = project.run()
        wait_for_hang_ups(server, 3)
    result.assert_outcomes(passed=3)
    for exchange in server.exchanges:
        assert exchange.head["request"] == "POST /upload HTTP/1.1"
        assert exchange.head["host"] == "api.shop.example"
        assert exchange.head["authorization"] == "Bearer s3cret"
        assert exchange.head["x-probe"] == "upload"
        assert exchange.head["content-type"] == "application/octet-stream"
    assert "s3cret" not in result.stdout.str()


def test_nothing_listening_is_the_target_unavailable_in_one_line(project: Project) -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    project.manifest(url_manifest(f"http://127.0.0.1:{port}", '"64 KiB"'))
    result = project.run("-k", "over-limit-streamed")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "upload:avatar[[]over-limit-streamed[]]: target unavailable: POST /upload: ConnectError: cannot connect"
            f" to 127.0.0.1:{port}: *",
        ]
    )


def test_a_service_that_stops_reading_is_unavailable_not_a_hang(pytester: pytest.Pytester) -> None:
    project = Project(pytester, "server")
    project.app(
        """
        import asyncio

        async def app(scope, receive, send):
            if scope["type"] == "http":
                await receive()
                await asyncio.sleep(3)
        """
    )
    project.manifest(manifest(AVATAR.replace('"64 KiB"', '"1 GiB"'), timeout="0.3", lifespan='"off"'))
    result = project.run("-k", "over-limit-streamed")
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(
        [
            "upload:avatar[[]over-limit-streamed[]]: target unavailable: POST /upload neither read more of the body"
            " nor answered within [[]target[]].timeout = 0.3 s",
        ]
    )


# -- the client on its own ----------------------------------------------------


def test_a_server_that_closes_without_answering_is_a_protocol_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def hang_up() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/upload"
    with listener, pytest.raises(RemoteProtocolError, match="closed the connection without answering"):
        asyncio.run(send_upload(url, "POST", [("Content-Length", "10")], GeneratedBody.raw(10).chunks()))


def test_interim_answers_are_skipped_and_a_chunked_answer_is_read() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n"
                b"HTTP/1.1 413 Content Too Large\r\ntransfer-encoding: chunked\r\nX-Reason: size\r\n\r\n"
                b"4\r\ntoo \r\n5\r\nlarge\r\n0\r\n\r\n"
            )
            time.sleep(0.2)

    threading.Thread(target=answer, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/upload"
    body = GeneratedBody.raw(10)
    with listener:
        got = asyncio.run(send_upload(url, "POST", [("Content-Length", "10")], body.chunks()))
    assert (got.status, got.body, got.body_sent, body.read) == (413, b"too large", 0, 0)
    assert ("x-reason", "size") in got.headers


def test_no_server_is_a_connect_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    with pytest.raises(ConnectError, match=f"cannot connect to 127.0.0.1:{port}"):
        asyncio.run(send_upload(f"http://127.0.0.1:{port}/", "POST", [], GeneratedBody.raw(1).chunks()))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("openssl cannot make a test certificate here")
    return key, cert


def test_https_uploads_verify_the_server_and_stop_at_the_answer(certificate: tuple[Path, Path]) -> None:
    key, cert = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[int] = []

    def answer() -> None:
        raw, _ = listener.accept()
        with server_side.wrap_socket(raw, server_side=True) as connection:
            data = connection.recv(65536)
            while b"\r\n\r\n" not in data:
                data += connection.recv(65536)
            connection.sendall(b"HTTP/1.1 413 Content Too Large\r\ncontent-length: 2\r\n\r\nno")
            total = len(data.partition(b"\r\n\r\n")[2])
            with contextlib.suppress(OSError):
                while chunk := connection.recv(65536):
                    total += len(chunk)
            received.append(total)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    client_side = ssl.create_default_context(cafile=str(cert))
    url = f"https://localhost:{listener.getsockname()[1]}/upload"
    with listener:
        got = asyncio.run(send_upload(url, "POST", [], GeneratedBody.raw(1024**3).chunks(), ssl_context=client_side))
        thread.join(5)
    assert (got.status, got.body) == (413, b"no")
    assert received and received[0] < 32 * 1024**2


def test_https_with_an_untrusted_certificate_is_a_connect_error(certificate: tuple[Path, Path]) -> None:
    key, cert = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        raw, _ = listener.accept()
        with contextlib.suppress(OSError), server_side.wrap_socket(raw, server_side=True):
            pass

    threading.Thread(target=accept, daemon=True).start()
    url = f"https://localhost:{listener.getsockname()[1]}/upload"
    with listener, pytest.raises(ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(
            send_upload(url, "POST", [], GeneratedBody.raw(1).chunks(), ssl_context=ssl.create_default_context())
        )


def test_url_mode_over_https_trusts_what_the_other_probes_trust(
    project: Project, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    key, cert = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # as httpx reads it for the GET probes
    with counting_server(limit=KIB64, tls=server_side) as (url, server):
        project.manifest(url_manifest(url, '"64 KiB"'))
        result = project.run()
        wait_for_hang_ups(server, 3)
    result.assert_outcomes(passed=3)
    assert [(e.answered, e.received) for e in server.exchanges[:2]] == [(201, KIB64), (413, 0)]
    assert server.exchanges[0].head["host"] == url.removeprefix("https://")
