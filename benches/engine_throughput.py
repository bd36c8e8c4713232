"""Engine throughput: the whole shipped bank × 4 demo personas × the demo judge, zero delays.

The demo server runs in its own process so only the client's CPU is counted (engine + providers + store +
judge parsing). Prints conversations/s, requests/s, CPU ms per request and peak RSS, for both transports.

    python benches/engine_throughput.py [--repeat N] [--transport aiohttp|httpx|both]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from scsafety_tui.demo_profile import demo_config
from scsafety_tui.engine.session import create_session, prepare
from scsafety_tui.paths import SAMPLE_BANK
from scsafety_tui.questions import load_banks
from scsafety_tui.store.db import Store
from scsafety_tui.taxonomy import load_taxonomy


async def one_run(url: str, transport: str, db: Path) -> dict[str, float]:
    taxonomy = load_taxonomy()
    items = load_banks([SAMPLE_BANK], taxonomy)
    config = demo_config(url, concurrency=8)
    config = replace(config, run=replace(config.run, http_transport=transport))
    store = await Store.open(db)
    events = 0

    def count(_event: object) -> None:
        nonlocal events
        events += 1

    sid = await create_session(store, config, taxonomy, items, name=f"bench {transport}")
    srun = await prepare(store, sid, count, config=config)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await srun.run()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    rows = await store.fetchall("SELECT (SELECT count(*) FROM turn WHERE role = 'assistant'),"
                                " (SELECT count(*) FROM verdict), (SELECT count(*) FROM conversation)")
    await store.close()
    answers, verdicts, convs = rows[0]
    requests = answers + verdicts
    return {"conversations": convs, "requests": requests, "wall_s": wall, "cpu_s": cpu,
            "conv_per_s": convs / wall, "req_per_s": requests / wall, "cpu_ms_per_req": 1000 * cpu / requests,
            "events": events}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--transport", choices=("aiohttp", "httpx", "both"), default="both")
    args = ap.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "scsafety_tui", "demo-server", "--speed", "instant"],
                              stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        transports = ("aiohttp", "httpx") if args.transport == "both" else (args.transport,)
        with tempfile.TemporaryDirectory() as tmp:
            for transport in transports:
                best = None
                for n in range(args.repeat):
                    r = asyncio.run(one_run(url, transport, Path(tmp) / f"{transport}{n}.db"))
                    best = r if best is None or r["cpu_ms_per_req"] < best["cpu_ms_per_req"] else best
                assert best is not None
                print(f"{transport:8s} {best['conversations']} conversations, {best['requests']} requests "
                      f"in {best['wall_s']:.2f} s: {best['conv_per_s']:.1f} conv/s, "
                      f"{best['req_per_s']:.1f} req/s, client CPU {best['cpu_ms_per_req']:.2f} ms/request "
                      f"(best of {args.repeat})")
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of the client process: {rss_mb:.1f} MiB")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
