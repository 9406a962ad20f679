"""Goal 4: over a real server, each distinct request the plugin sends costs
at most 1.3x a plain keep-alive ``httpx.Client`` GET to the same server.

The plugin's server (mode server: uvicorn on 127.0.0.1 in a thread) serves
a small FastAPI app. Timed in alternating batches: ``Target.response`` on
paths it has not seen (so each is a real request, as distinct probes are),
and ``httpx.Client.get`` on one kept-alive connection. Also reported: a
pytest session in server mode starts one server, however many items.

Usage: ``.venv/bin/python bench/server_requests.py [--rounds 15] [--batch 50]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from benchlib import interleaved, machine, median, paired_ratio, print_table, spread, verdict

from pytest_prod_defaults.model import Target as TargetSpec
from pytest_prod_defaults.target import ProbeRequest, Target

GOAL = 1.3

APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/page/{number}")
def page(number: int):
    return {"page": number}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="batches of each (default 15)")
    parser.add_argument("--batch", type=int, default=50, help="requests per batch (default 50)")
    options = parser.parse_args()
    batch = options.batch

    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        root = Path(tmp)
        (root / "pages.py").write_text(APP)
        target = Target(TargetSpec(app="pages:app", mode="server", lifespan="off"), root)
        try:
            target.app()
            client = httpx.Client(base_url=target.base_url)
            served = iter(range(10**9))

            def plugin_batch() -> float:
                started = time.perf_counter()
                for _ in range(batch):
                    response = target.response(ProbeRequest(f"/page/{next(served)}"))
                    assert response.status == 200
                return (time.perf_counter() - started) / batch

            def httpx_batch() -> float:
                started = time.perf_counter()
                for _ in range(batch):
                    response = client.get(f"/page/{next(served)}")
                    assert response.status_code == 200
                return (time.perf_counter() - started) / batch

            scenarios: dict[str, Callable[[], float]] = {"plugin": plugin_batch, "httpx": httpx_batch}
            for scenario in scenarios.values():
                scenario()  # warm-up: connections open, code paths hot
            times = interleaved(options.rounds, scenarios)
            client.close()
        finally:
            target.close()

    ratio = median(times["plugin"]) / median(times["httpx"])
    print(f"goal 4: distinct requests over uvicorn on 127.0.0.1; {options.rounds} batches of {batch}; {machine()}")
    print_table(
        [
            ("client", "time per request (median of batch means)"),
            ("plugin: Target.response on a new path", spread(times["plugin"], "ms", 3, 1000)),
            ("httpx.Client.get, keep-alive", spread(times["httpx"], "ms", 3, 1000)),
        ]
    )
    print(f"paired ratios: {paired_ratio(times['plugin'], times['httpx'])}")
    print(
        f"summary: a distinct request over a real server costs {ratio:.2f}x a keep-alive httpx.Client GET"
        f" (goal <= {GOAL}x: {verdict(ratio, GOAL)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
