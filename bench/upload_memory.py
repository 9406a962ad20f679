"""Peak memory of probing a 1 GiB upload limit, in every mode.

Runs ``pytest --check-defaults`` in a subprocess on a generated project whose
app documents ``max_bytes = "1 GiB"``, and compares the peak RSS of that
process with the same run against a tiny limit (the baseline: everything but
the size of the bodies). In mode asgi the app runs in that process; in mode
server uvicorn does too, in a thread; in mode url the app runs under uvicorn
in a process of its own and the pytest process is only the client. Two apps:

- a streaming limit: pure ASGI middleware that counts the bytes of
  ``http.request`` messages and answers 413 as soon as they pass the limit;
- the worst case: a route that reads every byte (counting, not keeping them)
  and only then rejects, so each of the three probes pushes the whole body.

Usage: ``.venv/bin/python bench/upload_memory.py [--runs 3] [--modes asgi,server,url]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

APP = """
import os

from fastapi import FastAPI, Request
from starlette.responses import PlainTextResponse

LIMIT = int(os.environ["UPLOAD_LIMIT"])


class StreamingLimit:
    def __init__(self, app, max_bytes):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and int(declared) > self.max_bytes:
            return await PlainTextResponse("Content Too Large", 413)(scope, receive, send)
        seen = 0
        rejected = False

        async def counted_receive():
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                rejected = True
                await PlainTextResponse("Content Too Large", 413)(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        async def send_unless_rejected(message):
            if not rejected:
                await send(message)

        try:
            await self.app(scope, counted_receive, send_unless_rejected)
        except Exception:
            if not rejected:
                raise


limited = FastAPI()
limited.add_middleware(StreamingLimit, max_bytes=LIMIT)

greedy = FastAPI()


@limited.post("/upload", status_code=201)
@greedy.post("/upload", status_code=201)
async def upload(request: Request):
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
    if received > LIMIT:
        return PlainTextResponse("Content Too Large", 413)
    return {"received": received}
"""

MANIFEST = """
version = 1

[target]
app = "app:{app}"
env = {{ UPLOAD_LIMIT = "{limit}" }}
timeout = 30

[[upload]]
name = "probe"
path = "/upload"
max_bytes = "{max_bytes}"

[undocumented]
headers = "off"
settings = "off"
middleware = "off"
config = "off"
"""

SIZES = {"1 GiB": 1024**3, "1 KiB": 1024}


@dataclass
class Run:
    peak_rss_mib: float
    seconds: float
    summary: str


@contextlib.contextmanager
def served(folder: Path, app: str, limit: int) -> Iterator[str]:
    """``app`` under uvicorn in a process of its own: the deployed service of
    mode url."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", f"app:{app}", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=folder, env={**os.environ, "UPLOAD_LIMIT": str(limit)})
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def run_once(folder: Path, app: str, max_bytes: str, mode: str) -> Run:
    (folder / "defaults.toml").write_text(MANIFEST.format(app=app, limit=SIZES[max_bytes], max_bytes=max_bytes))
    command = [sys.executable, "-m", "pytest", "--check-defaults", "-p", "no:cacheprovider", "-p", "no:randomly", "-q"]
    if mode == "url":
        with served(folder, app, SIZES[max_bytes]) as url:
            return measure([*command, "--defaults-url", url], folder)
    return measure([*command, "--defaults-mode", mode], folder)


def measure(command: list[str], folder: Path) -> Run:
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=folder, stdout=output, stderr=subprocess.STDOUT)
        # wait4 gives this one child's own peak RSS (ru_maxrss, KiB on Linux)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        lines = output.read().decode(errors="replace").strip().splitlines()
    summary = lines[-1] if lines else f"exit {process.returncode}"
    return Run(usage.ru_maxrss / 1024, seconds, summary)


def spread(values: list[float], unit: str, digits: int = 1) -> str:
    return f"{statistics.median(values):.{digits}f} {unit} (min {min(values):.{digits}f}, max {max(values):.{digits}f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each scenario (default 3)")
    parser.add_argument("--modes", default="asgi,server,url", help="comma-separated (default asgi,server,url)")
    options = parser.parse_args()
    runs, modes = options.runs, options.modes.split(",")
    apps = {"limited": "streaming limit (rejects as the count passes)", "greedy": "reads everything, then rejects"}
    results: dict[tuple[str, str, str], list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp:
        folder = Path(tmp)
        (folder / "app.py").write_text(textwrap.dedent(APP))
        for _ in range(runs):  # interleaved, so drift in machine load hits every scenario alike
            for mode in modes:
                for app in apps:
                    for max_bytes in ("1 KiB", "1 GiB"):
                        results.setdefault((mode, app, max_bytes), []).append(run_once(folder, app, max_bytes, mode))

    print(f"pytest --check-defaults, {runs} runs each; medians with min and max")
    print(f"{'mode':<7} {'app':<48} {'max_bytes':<10} {'peak RSS':<34} {'time':<30} outcome")
    for (mode, app, max_bytes), found in results.items():
        rss = spread([r.peak_rss_mib for r in found], "MiB")
        seconds = spread([r.seconds for r in found], "s", 2)
        print(f"{mode:<7} {apps[app]:<48} {max_bytes:<10} {rss:<34} {seconds:<30} {found[-1].summary}")
    print()
    worst = 0.0
    for mode in modes:
        for app, label in apps.items():
            probe = statistics.median(r.peak_rss_mib for r in results[(mode, app, "1 GiB")])
            baseline = statistics.median(r.peak_rss_mib for r in results[(mode, app, "1 KiB")])
            worst = max(worst, probe - baseline)
            print(
                f"mode {mode}: upload probe of 1 GiB: peak RSS {probe:.1f} MiB"
                f" (baseline {baseline:.1f} MiB, growth {probe - baseline:.1f} MiB) [{label}]"
            )
    verdict = "meets the goal" if worst <= 2.0 else "MISSES the goal"
    print(
        f"summary: peak RSS grows at most {worst:.1f} MiB probing 1 GiB, in modes {', '.join(modes)}"
        f" (goal <= 2 MiB: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
