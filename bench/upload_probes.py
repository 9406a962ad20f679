"""Goal 3 (time): upload probes, in-process (mode asgi) and over a real
uvicorn (mode server), at limits from 1 KiB to 1 GiB.

- With Content-Length, over the limit: the app rejects on the header, so a
  probe's time must not depend on the limit (goal <= 2 ms). Over a server
  the probe asks with ``Expect: 100-continue`` and takes the early 413.
- Without Content-Length, over the limit: the app counts what it reads and
  answers 413 once past the limit, so max_bytes + 1 bytes must be streamed.
  Compared with streaming the same bytes raw (goal <= 1.5x): in-process, the
  app called directly with those chunks; over the server, a plain blocking
  socket writing the same chunked body and reading the answer.

Each probe is the plugin's own check (``check_upload``) on a ``Target``,
as a pytest item runs it, minus pytest. Memory: bench/upload_memory.py.

Usage: ``.venv/bin/python bench/upload_probes.py [--runs 15] [--streamed-runs 5] [--gib]``
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchlib import interleaved, machine, median, paired_ratio, print_table, spread, verdict

from pytest_prod_defaults.bodies import GeneratedBody
from pytest_prod_defaults.kinds.upload import PROBES, UploadEntry, check_upload
from pytest_prod_defaults.model import Target as TargetSpec
from pytest_prod_defaults.target import Target

CONTENT_LENGTH_GOAL_MS = 2.0
STREAMED_GOAL = 1.5

# The limit is in the path (/upload/<bytes>), so one app serves every size.
APP = """
from starlette.responses import PlainTextResponse


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    limit = int(scope["path"].rsplit("/", 1)[1])
    declared = dict(scope["headers"]).get(b"content-length")
    if declared is not None and int(declared) > limit:
        return await PlainTextResponse("Content Too Large", 413)(scope, receive, send)
    seen = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if seen > limit:
            return await PlainTextResponse("Content Too Large", 413)(scope, receive, send)
        if not message.get("more_body"):
            break
    await PlainTextResponse("stored", 201)(scope, receive, send)
"""

KIB, MIB, GIB = 1024, 1024**2, 1024**3
SIZES = {"1 KiB": KIB, "1 MiB": MIB, "64 MiB": 64 * MIB, "1 GiB": GIB}
OVER_LIMIT = next(p for p in PROBES if p.detail == "over-limit")
STREAMED = next(p for p in PROBES if p.detail == "over-limit-streamed")


def probe(target: Target, size: int, content_length: bool) -> Callable[[], float]:
    entry = UploadEntry(name="bench", path=f"/upload/{size}", max_bytes=size)
    chosen = OVER_LIMIT if content_length else STREAMED

    def timed() -> float:
        started = time.perf_counter()
        check_upload(entry, chosen, target)  # raises Drift if the answer is not 413
        return time.perf_counter() - started

    return timed


def raw_asgi(app: Any, size: int) -> Callable[[], float]:
    """The app called directly with the body's chunks: no client at all."""

    async def exchange() -> int:
        chunks = GeneratedBody.raw(size + 1).chunks().__aiter__()
        status = 0
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": f"/upload/{size}",
            "raw_path": f"/upload/{size}".encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/octet-stream")],
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
        }

        async def receive() -> dict[str, Any]:
            try:
                return {"type": "http.request", "body": await chunks.__anext__(), "more_body": True}
            except StopAsyncIteration:
                return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        try:
            await app(scope, receive, send)
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
        return status

    loop = asyncio.new_event_loop()  # one loop for every run, as the Target keeps one

    def timed() -> float:
        started = time.perf_counter()
        status = loop.run_until_complete(exchange())
        elapsed = time.perf_counter() - started
        assert status == 413, status
        return elapsed

    return timed


def same_chunks(body: GeneratedBody) -> Iterator[bytes]:
    """The chunks ``body.chunks()`` yields, without an event loop."""
    filler = b"x" * body.chunk_size
    for start in range(0, body.size, body.chunk_size):
        yield filler[: min(body.chunk_size, body.size - start)]


def raw_socket(base_url: str, size: int) -> Callable[[], float]:
    """A blocking socket writing the same chunked body, then reading the
    answer: what streaming the bytes costs with no client logic at all."""
    host, port = base_url.removeprefix("http://").split(":")

    def timed() -> float:
        body = GeneratedBody.raw(size + 1)
        started = time.perf_counter()
        with socket.create_connection((host, int(port))) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(
                f"POST /upload/{size} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            )

            try:
                for chunk in same_chunks(body):
                    sock.sendall(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # answered and closed before the end
            answer = sock.recv(65536)
        elapsed = time.perf_counter() - started
        assert answer.startswith(b"HTTP/1.1 413"), answer[:40]
        return elapsed

    return timed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="runs of each Content-Length probe (default 15)")
    parser.add_argument("--streamed-runs", type=int, default=5, help="runs of each streamed probe (default 5)")
    parser.add_argument("--gib", action="store_true", help="also stream 1 GiB (slow: seconds per run)")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        root = Path(tmp)
        (root / "limits.py").write_text(APP)
        targets = {
            mode: Target(TargetSpec(app="limits:app", mode=mode, lifespan="off", timeout=30), root)
            for mode in ("asgi", "server")
        }
        try:
            for target in targets.values():
                target.app()  # import, and start the server, before timing
            app = targets["asgi"].app()
            length_rows, streamed_rows, worst_length, worst_ratio = [], [], 0.0, 0.0
            worst_large_ratio = fixed_ms = 0.0
            for mode, target in targets.items():
                probe(target, KIB, True)()  # warm-up
                times = interleaved(options.runs, {label: probe(target, size, True) for label, size in SIZES.items()})
                for label, values in times.items():
                    length_rows.append((mode, label, spread(values, "ms", 2, 1000)))
                    worst_length = max(worst_length, median(values) * 1000)
            streamed_sizes = {"1 MiB": MIB, "64 MiB": 64 * MIB} | ({"1 GiB": GIB} if options.gib else {})
            for mode, target in targets.items():
                for label, size in streamed_sizes.items():
                    raw = raw_asgi(app, size) if mode == "asgi" else raw_socket(target.base_url, size)
                    times = interleaved(options.streamed_runs, {"probe": probe(target, size, False), "raw": raw})
                    ratio = median(times["probe"]) / median(times["raw"])
                    worst_ratio = max(worst_ratio, ratio)
                    if size >= 64 * MIB:
                        worst_large_ratio = max(worst_large_ratio, ratio)
                    else:
                        fixed_ms = max(fixed_ms, (median(times["probe"]) - median(times["raw"])) * 1000)
                    streamed_rows.append(
                        (
                            mode,
                            label,
                            spread(times["probe"], "ms", 1, 1000),
                            spread(times["raw"], "ms", 1, 1000),
                            f"{ratio:.2f}x",
                            paired_ratio(times["probe"], times["raw"]),
                        )
                    )
        finally:
            for target in targets.values():
                target.close()

    print(f"goal 3: upload probes; {machine()}")
    print(f"over the limit with Content-Length (the app rejects on the header); {options.runs} runs each")
    print_table([("mode", "max_bytes", "probe time"), *length_rows])
    print()
    print(f"over the limit streamed, no Content-Length (the app counts); {options.streamed_runs} runs each")
    print_table([("mode", "max_bytes", "probe", "raw streaming", "ratio", "paired ratios"), *streamed_rows])
    print()
    print(
        f"summary: Content-Length probes take at most {worst_length:.2f} ms (median) at any limit up to 1 GiB"
        f" (goal <= {CONTENT_LENGTH_GOAL_MS:g} ms: {verdict(worst_length, CONTENT_LENGTH_GOAL_MS)}); streamed"
        f" probes of 64 MiB and more at most {worst_large_ratio:.2f}x raw streaming (goal <= {STREAMED_GOAL}x:"
        f" {verdict(worst_large_ratio, STREAMED_GOAL)}), of 1 MiB at most {worst_ratio:.2f}x"
        f" ({verdict(worst_ratio, STREAMED_GOAL)}: the probe's fixed cost, up to {fixed_ms:.2f} ms, weighs on a"
        " transfer this short)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
